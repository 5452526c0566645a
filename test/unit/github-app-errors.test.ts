/**
 * How GitHub's answers are classified (withRetries, label "GitHub"): refusals are final and name the
 * HTTP status; rate limits wait as told within the deadline; 5xx and hangs back off and retry; a
 * refused connection is unreachable; invalid answers are tried once more. Request counts, not clocks:
 * how long each wait lasts is withRetries' part (retry.test.ts, on a fake clock).
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { rateLimitWait } from "../../src/sources/github-app/errors";
import { generateAppKeys } from "../servers/fake-github";
import { APP_ID, fakeGitHubs, mint, mintError, ORG_WIDE, REPO } from "./github-app-fixtures";

const github = fakeGitHubs();
const GIVEN = { installationId: "1" };

describe("refusals: final, one request, one message naming the status", () => {
  it("401: the JWT, with the three checks in the hint", async () => {
    const gh = await github();
    gh.setMode("401");
    const err = await mintError(gh.url, REPO, GIVEN);
    expect(err.code).toBe("unauthorized");
    expect(err.status).toBe(401);
    expect(err.what).toBe("GitHub rejected the GitHub App's JWT (HTTP 401: A JSON web token could not be decoded)");
    expect(err.hint).toBe(`check that GITHUB_APP_ID ${APP_ID} matches the key, that the key is the app's current private key, and the machine clock`);
    expect(gh.requests).toHaveLength(1);
  });

  it("401 signed with another key: the same message", async () => {
    const gh = await github();
    const err = await mintError(gh.url, REPO, { ...GIVEN, env: { GITHUB_APP_PRIVATE_KEY: generateAppKeys().pkcs8 } });
    expect(err.what).toBe("GitHub rejected the GitHub App's JWT (HTTP 401: A JSON web token could not be decoded)");
  });

  it("401 while GitHub's clock is far off: the hint says by how much", async () => {
    const gh = await github({ clockOffsetSeconds: 900 });
    gh.setMode("401");
    const err = await mintError(gh.url, REPO, GIVEN);
    expect(err.hint).toMatch(/and the machine clock \(GitHub's clock is (89\d|90\d) s ahead of this machine's\)$/);
  });

  it("403: forbidden, naming what was refused", async () => {
    const gh = await github();
    gh.setMode("403");
    const err = await mintError(gh.url, { ...REPO, profile: "clone", permissions: { contents: "read" } }, GIVEN);
    expect(err.code).toBe("forbidden");
    expect(err.what).toBe("GitHub refused a token for acme/widgets with profile clone (HTTP 403: Resource not accessible by integration)");
    expect(gh.requests).toHaveLength(1);
  });

  it("404 on a given installation: says to check GITHUB_INSTALLATION_ID", async () => {
    const gh = await github();
    const err = await mintError(gh.url, REPO, { installationId: "99" });
    expect(err.code).toBe("not-found");
    expect(err.what).toBe("GitHub App installation 99 was not found (HTTP 404)");
    expect(err.hint).toMatch(/GITHUB_INSTALLATION_ID/);
  });

  it("404 while looking up: not installed on owner/repo", async () => {
    const gh = await github();
    gh.setMode("404");
    const err = await mintError(gh.url, REPO);
    expect(err.code).toBe("not-found");
    expect(err.what).toBe("the GitHub App is not installed on acme/widgets (HTTP 404)");
    expect(err.hint).toMatch(/^install the GitHub App on acme\/widgets/);
  });

  it("422 over permissions: names them and says they exceed what the app was granted", async () => {
    const gh = await github({ installations: [{ id: 1, account: "acme", permissions: { contents: "read", metadata: "read" } }] });
    const err = await mintError(gh.url, { ...REPO, permissions: { contents: "write", metadata: "read" }, profile: "develop" }, GIVEN);
    expect(err.code).toBe("invalid-request");
    expect(err.what).toBe(
      "GitHub refused the permissions requested for acme/widgets (contents:write, metadata:read): they exceed what the GitHub App was granted (HTTP 422: The permissions requested are not granted to this installation.)",
    );
    expect(err.hint).toMatch(/smaller --profile.*App's settings/);
    expect(gh.requests).toHaveLength(1);
  });

  it("422 over a repository outside the installation: names the repository", async () => {
    const gh = await github({ installations: [{ id: 1, account: "acme", repositories: ["other"] }] });
    const err = await mintError(gh.url, REPO, GIVEN);
    expect(err.code).toBe("invalid-request");
    expect(err.what).toMatch(/^GitHub refused a token for acme\/widgets \(HTTP 422: There is at least one repository/);
  });
});

describe("rate limits wait as told, within the deadline", () => {
  // How long Retry-After makes it wait is withRetries' part, tested once on a fake clock in retry.test.ts.
  it("429 with Retry-After: 0, then ok: two requests", async () => {
    const gh = await github();
    gh.failNext("429", 1, { retryAfter: 0 });
    const { trace } = await mint(gh.url, REPO, GIVEN);
    expect(gh.requests.map((r) => r.status)).toEqual([429, 201]);
    expect(trace).toContain("GitHub: HTTP 429 on try 1; trying again in 0 ms");
  });

  it.each([
    ["429", 429, "429"],
    ["secondary-rate-limit", 403, "secondary-rate-limit"],
  ] as const)("%s with Retry-After beyond the deadline: rate-limited at once, naming HTTP %d", async (_n, status, mode) => {
    const gh = await github();
    gh.setMode(mode, { retryAfter: 60 });
    const err = await mintError(gh.url, REPO, { ...GIVEN, timeoutMs: 3000 });
    expect(err.code).toBe("rate-limited");
    expect(err.what).toBe(`GitHub is rate limiting requests (HTTP ${status}, retry after 60 s)`);
    expect(gh.requests).toHaveLength(1);
  });

  it("reads Retry-After, x-ratelimit-remaining/-reset against the Date header, and a bare 'rate limit' message", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    const date = new Date(now + 10_000).toUTCString();
    expect(rateLimitWait({ status: 403, headers: { "retry-after": "7" }, message: "" }, now)).toBe(7000);
    expect(rateLimitWait({ status: 403, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 40), date }, message: "" }, now)).toBe(30_000);
    expect(rateLimitWait({ status: 403, headers: {}, message: "You have exceeded a secondary rate limit" }, now)).toBe(60_000);
    expect(rateLimitWait({ status: 429, headers: {}, message: "" }, now)).toBe(60_000);
    expect(rateLimitWait({ status: 403, headers: { "x-ratelimit-remaining": "12" }, message: "Resource not accessible by integration" }, now)).toBeUndefined();
    expect(rateLimitWait({ status: 401, headers: { "retry-after": "1" }, message: "" }, now)).toBeUndefined();
  });
});

describe("outages retry within the deadline", () => {
  it("500 twice, then ok: three requests", async () => {
    const gh = await github();
    gh.failNext("500", 2);
    await mint(gh.url, REPO, GIVEN);
    expect(gh.requests.map((r) => r.status)).toEqual([500, 500, 201]);
  });

  // How the deadline cuts retries short is withRetries' part, tested on a fake clock in retry.test.ts;
  // here a fixed number of tries keeps the outcome the same on a slow machine.
  it("500 on every try: three requests, then unavailable naming HTTP 500 and the tries", async () => {
    const gh = await github();
    gh.setMode("500");
    const err = await mintError(gh.url, REPO, { ...GIVEN, maxAttempts: 3 });
    expect(gh.requests.map((r) => r.status)).toEqual([500, 500, 500]);
    expect(err.code).toBe("unavailable");
    expect(err.status).toBe(500);
    expect(err.what).toBe("GitHub is unavailable (HTTP 500 after 3 tries)");
    expect(err.hint).toBe(`try again later; ${gh.url} may be down`);
  });

  it("a token already in hand (maxAttempts 1): one request only", async () => {
    const gh = await github();
    gh.setMode("500");
    const err = await mintError(gh.url, REPO, { ...GIVEN, maxAttempts: 1 });
    expect(err.what).toBe("GitHub is unavailable (HTTP 500 after 1 try)");
    expect(gh.requests).toHaveLength(1);
  });

  it("no answer: the deadline ends the one try, and no other starts", async () => {
    const gh = await github();
    gh.setMode("hang");
    const err = await mintError(gh.url, REPO, { ...GIVEN, timeoutMs: 1000 });
    expect(err.what, err.traced).toBe("GitHub did not answer in time (1 try)");
    expect(err.code).toBe("timeout");
    expect(gh.requests).toHaveLength(1);
  });

  it("connection refused: unreachable, through @octokit/request's wrapping of the transport's error", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const err = await mintError(`http://127.0.0.1:${port}`, REPO, { ...GIVEN, maxAttempts: 1 });
    expect(err.code).toBe("unreachable");
    expect(err.what).toBe("GitHub is unreachable (connection refused after 1 try)");
    expect(err.hint).toBe(`check http://127.0.0.1:${port} and the network`);
  });

  it("an invalid answer (HTML): one more try, then bad-answer", async () => {
    const gh = await github();
    gh.setMode("garbage");
    const err = await mintError(gh.url, ORG_WIDE, GIVEN);
    expect(err.code).toBe("bad-answer");
    expect(err.what).toBe("GitHub sent an invalid answer (HTTP 200: not JSON)");
    expect(gh.requests).toHaveLength(2);
  });
});
