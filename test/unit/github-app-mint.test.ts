/**
 * Minting against the fake GitHub over real HTTP: the request body (bare names, permissions without
 * administration: write), the Token handed back, GHES path prefixes, GitHub's clock ahead or behind
 * (auth-app signs again from the Date header; the expiry is moved onto our clock), and the trace.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { REPO, ORG_WIDE, fakeGitHubs, mint, KEYS } from "./github-app-fixtures";

const github = fakeGitHubs();

describe("the token request", () => {
  it("asks for the bare repository and the profile's permissions, and hands back the Token", async () => {
    const gh = await github();
    const before = Date.now();
    const { token } = await mint(gh.url, { ...REPO, permissions: { contents: "read", metadata: "read" }, profile: "clone" }, { installationId: "1" });
    expect(token.token).toMatch(/^ghs_/);
    expect(token.permissions).toEqual({ contents: "read", metadata: "read" });
    expect(token.repositories).toEqual(["widgets"]);
    expect(token.expiresAt! - before).toBeGreaterThan(3590_000);
    expect(token.expiresAt! - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(gh.registry.lookup(token.token)).toMatchObject({ repositories: ["widgets"], permissions: { contents: "read", metadata: "read" } });
    expect(gh.requests).toEqual([{ method: "POST", path: "/app/installations/1/access_tokens", status: 201 }]);
  });

  it("never asks for administration: write", async () => {
    const gh = await github();
    const { token } = await mint(gh.url, { ...REPO, permissions: { administration: "write", contents: "read" } }, { installationId: "1" });
    expect(gh.registry.lookup(token.token)!.permissions).toEqual({ administration: "read", contents: "read" });
  });

  it("an org-wide scope sends neither repositories nor permissions: the installation's own", async () => {
    const gh = await github();
    const { token } = await mint(gh.url, ORG_WIDE);
    const minted = gh.registry.lookup(token.token)!;
    expect(minted.repositories).toBeNull();
    expect(minted.permissions.contents).toBe("write");
    expect(token.repositories).toBeUndefined();
  });

  it("GitHub Enterprise Server: every request goes under the /api/v3 prefix", async () => {
    const gh = await github({ pathPrefix: "/api/v3" });
    expect(gh.url).toMatch(/\/api\/v3$/);
    await mint(gh.url, REPO);
    expect(gh.requests).toEqual([
      { method: "GET", path: "/repos/acme/widgets/installation", status: 200 },
      { method: "POST", path: "/app/installations/1/access_tokens", status: 201 },
    ]);
  });

  it("traces each request as METHOD url → HTTP status in N ms, never a token, JWT or key", async () => {
    const gh = await github();
    const { token, trace } = await mint(gh.url, REPO);
    const text = trace.join("\n");
    expect(text).toMatch(new RegExp(`GET ${gh.url}/repos/acme/widgets/installation → HTTP 200 in \\d+ ms`));
    expect(text).toMatch(new RegExp(`POST ${gh.url}/app/installations/1/access_tokens → HTTP 201 in \\d+ ms`));
    expect(text).not.toContain(token.token);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(text).not.toContain(KEYS.pkcs1.split("\n")[1]!);
  });
});

describe("clock skew: taken from GitHub's Date header", () => {
  // auth-app takes the difference between two clocks rounded down to whole seconds (GitHub's Date
  // header, and ours): on a running clock a second may turn between the two and 600 comes out as 599.
  // Both clocks stand still here, at a whole second, so the difference is exactly the offset.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"], now: 1_800_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ["10 minutes ahead", 600, "'Expiration time' claim"],
    ["10 minutes behind", -600, "'Issued at' claim"],
  ])("GitHub's clock %s: one 401, signed again with the difference, then the token", async (_name, offset, claim) => {
    const gh = await github({ clockOffsetSeconds: offset });
    const { token, trace } = await mint(gh.url, ORG_WIDE, { installationId: "1" });
    expect(gh.requests.map((r) => r.status)).toEqual([401, 201]);
    expect(trace.join("\n")).toContain(claim);
    expect(trace.join("\n")).toContain(`different by ${offset} seconds`);
    // expires_at is on GitHub's clock; the Token's expiry is on ours (to the millisecond: no clock moved).
    expect(token.expiresAt).toBe(Date.now() + 3600_000);
    expect(gh.registry.lookup(token.token)!.expiresAt).toBe(token.expiresAt);
  });
});
