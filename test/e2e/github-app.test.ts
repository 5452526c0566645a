/**
 * Issue 4, the github-app source: no Vers broker, the built helper mints installation tokens from a
 * GitHub App's own key (fake GitHub API on loopback) and real git clones and fetches from the TLS git
 * host with them. Key variables, installation discovery, a wrong key, the static fallback, GHES paths,
 * a skewed GitHub clock, and one line per GitHub error class.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { credentialFill, git, helper, type TestEnv } from "./harness";
import { CHUNKS_OBSERVABLE, expectFailure, lines, moduleProbe, networkOrCliModules, ok, parseLines, PREFIX, request, tempEnvs, useServers, type ModuleProbe } from "./fixtures";
import { randomToken } from "../servers/fake-broker";
import { generateAppKeys, startFakeGitHub, type FakeGitHub, type FakeInstallation, type GitHubMode } from "../servers/fake-github";

const APP_ID = "31337";
const keys = generateAppKeys();
const ACME: FakeInstallation = { id: 1, account: "acme" };
/** No broker: the git host and its repositories, sharing a token registry with the fake GitHub. */
const servers = useServers({ broker: false, repos: ["acme/a", "acme/b"] });
const { registry } = servers;
let gh: FakeGitHub;
let probe: ModuleProbe;
const extraGitHubs: FakeGitHub[] = [];

beforeAll(async () => {
  [gh, probe] = await Promise.all([github(), moduleProbe()]);
});

afterAll(async () => {
  await Promise.all([gh?.close(), probe?.dispose(), ...extraGitHubs.map((g) => g.close())]);
});

beforeEach(() => {
  gh.setMode("ok");
  gh.requests.length = 0;
});

/** A fake GitHub for this app and the shared registry; those made in tests are closed after the file. */
async function github(o: { installations?: FakeInstallation[]; pathPrefix?: string; clockOffsetSeconds?: number } = {}): Promise<FakeGitHub> {
  const made = await startFakeGitHub({ appId: APP_ID, publicKeyPem: keys.publicKeyPem, registry, installations: [ACME], ...o });
  if (gh) extraGitHubs.push(made);
  return made;
}

const made = tempEnvs(() => ({ hosts: [servers.gitHost.host], caFile: servers.gitHost.caFile, extraEnv: { VERS_TIMEOUT: "15" } }));

/** A HOME for the github-app source: GITHUB_APP_ID, GITHUB_API_URL, the key as told (PEM by default), no VERS_API_KEY. */
function env(extra: Record<string, string> = {}, key: Record<string, string> = { GITHUB_APP_PRIVATE_KEY: keys.pkcs1 }, api = gh): Promise<TestEnv> {
  return made({ extraEnv: { GITHUB_APP_ID: APP_ID, GITHUB_API_URL: api.url, ...key, ...extra } });
}

const calls = (g: FakeGitHub) => g.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
const get = (t: TestEnv, path?: string) => helper(t, ["get"], request(servers.gitHost.host, path ? { path } : {}));

describe("clone and fetch with the key given each way", () => {
  it.each<[string, (home: string) => Promise<Record<string, string>>]>([
    ["GITHUB_APP_PRIVATE_KEY (PEM)", async () => ({ GITHUB_APP_PRIVATE_KEY: keys.pkcs1 })],
    ["GITHUB_APP_PRIVATE_KEY with literal \\n, quoted", async () => ({ GITHUB_APP_PRIVATE_KEY: `"${keys.pkcs1.trim().replace(/\n/g, "\\n")}"` })],
    ["GITHUB_APP_PRIVATE_KEY_B64", async () => ({ GITHUB_APP_PRIVATE_KEY_B64: Buffer.from(keys.pkcs1).toString("base64") })],
    ["GITHUB_APP_PRIVATE_KEY_FILE (~/, PKCS#8)", async (home) => {
      await writeFile(join(home, "app.pem"), keys.pkcs8, { mode: 0o600 });
      return { GITHUB_APP_PRIVATE_KEY_FILE: "~/app.pem" };
    }],
  ])("%s: exactly one mint for clone + fetch", async (_name, keyEnv) => {
    const t = await env({}, {});
    Object.assign(t.env, await keyEnv(t.home));
    const before = gh.mints;
    const work = join(t.home, "a");
    const clone = ok(await git(t, ["clone", "-q", servers.repo("acme/a"), work]), "clone");
    expect(clone.stderr).toBe("");
    ok(await git(t, ["-C", work, "fetch", "-q", "origin"]), "fetch");
    expect(gh.mints - before).toBe(1);
    expect(calls(gh)).toEqual(["GET /app/installations 200", "POST /app/installations/1/access_tokens 201"]);
  });

  it("a cache hit loads no network code and no @octokit/auth-app", async () => {
    await probe.reset();
    const t = await env(probe.env);
    ok(await get(t), "first get");
    ok(await get(t), "second get");
    const runs = await probe.runs();
    expect(runs).toHaveLength(2);
    if (CHUNKS_OBSERVABLE) {
      expect(runs[0]!.some((p) => p.endsWith("sources.cjs"))).toBe(true);
      expect(networkOrCliModules(runs[1]!)).toEqual([]);
    }
  });
});

describe("finding the installation", () => {
  it("credential.useHttpPath: one look-up per owner, the second repository of the owner mints only", async () => {
    const t = await env();
    ok(await git(t, ["config", "--global", "credential.useHttpPath", "true"]), "git config");
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone a");
    ok(await git(t, ["clone", "-q", servers.repo("acme/b"), join(t.home, "b")]), "clone b");
    ok(await git(t, ["-C", join(t.home, "b"), "fetch", "-q", "origin"]), "fetch b");
    expect(calls(gh)).toEqual([
      "GET /repos/acme/a/installation 200",
      "POST /app/installations/1/access_tokens 201",
      "POST /app/installations/1/access_tokens 201",
    ]);
  });

  it("without a path: the app's only installation, one org-wide token for both repositories", async () => {
    const t = await env();
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone a");
    ok(await git(t, ["clone", "-q", servers.repo("acme/b"), join(t.home, "b")]), "clone b");
    expect(calls(gh)).toEqual(["GET /app/installations 200", "POST /app/installations/1/access_tokens 201"]);
  });

  it("two installations and no path: a clear error; with useHttpPath the owner's is found", async () => {
    const two = await github({ installations: [{ id: 2, account: "globex" }, { id: 1, account: "acme" }] });
    const t = await env({}, undefined, two);
    expectFailure(await get(t), /the GitHub App has 2 installations \(globex, acme\) and git sent no repository path.*set GITHUB_INSTALLATION_ID, or run `git config --global credential.useHttpPath true`/);
    expect(two.mints).toBe(0);
    ok(await git(t, ["config", "--global", "credential.useHttpPath", "true"]), "git config");
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone a");
    expect(calls(two).slice(-2)).toEqual(["GET /repos/acme/a/installation 200", "POST /app/installations/1/access_tokens 201"]);
  });
});

describe("a wrong key", () => {
  it("signed by another key: one line naming the JWT and the checks, exit 1, no stack, no key", async () => {
    const other = generateAppKeys();
    const t = await env({}, { GITHUB_APP_PRIVATE_KEY: other.pkcs1 });
    const line = expectFailure(await get(t), /^git-credential-vers: GitHub rejected the GitHub App's JWT \(HTTP 401: A JSON web token could not be decoded\) \(check that GITHUB_APP_ID 31337 matches the key, that the key is the app's current private key, and the machine clock\)$/);
    expect(line).not.toContain(other.pkcs1.split("\n")[1]!);
    const fill = await credentialFill(t, { protocol: "https", host: servers.gitHost.host });
    expect(fill.code).not.toBe(0);
    expect(parseLines(fill.stdout).password).toBeUndefined();
    expect(fill.stderr).not.toContain("    at ");
    expect(lines(fill.stderr).filter((l) => l.startsWith(PREFIX))).toEqual([line]);
  });

  it("a PEM cut to its first line: one line saying to use _B64 or _FILE, no request", async () => {
    const t = await env({}, { GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----" });
    expectFailure(await get(t), /GITHUB_APP_PRIVATE_KEY holds only part of a PEM private key \(no END line\) \(the PEM lost its newlines; use GITHUB_APP_PRIVATE_KEY_B64 or GITHUB_APP_PRIVATE_KEY_FILE\)$/);
    expect(gh.requests).toHaveLength(0);
  });
});

describe("elsewhere", () => {
  it("GitHub down with VERS_FALLBACK=static: clone with GITHUB_TOKEN and a one-line warning without the token", async () => {
    const staticToken = randomToken();
    registry.add({ token: staticToken, expiresAt: Date.now() + 3600_000, repositories: null, permissions: { contents: "read", metadata: "read" } });
    gh.setMode("500");
    const t = await env({ VERS_FALLBACK: "static", GITHUB_TOKEN: staticToken, VERS_TIMEOUT: "2" });
    const clone = ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone");
    const warnings = lines(clone.stderr);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^git-credential-vers: GitHub is unavailable \(HTTP 500 after \d+ tries\); using GITHUB_TOKEN instead \(fallback static\)$/);
    expect(clone.stderr).not.toContain(staticToken);
  });

  it("GitHub Enterprise Server: GITHUB_API_URL=<url>/api/v3", async () => {
    const ghes = await github({ pathPrefix: "/api/v3" });
    const t = await env({}, undefined, ghes);
    expect(t.env.GITHUB_API_URL).toMatch(/\/api\/v3$/);
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone");
    expect(calls(ghes)).toEqual(["GET /app/installations 200", "POST /app/installations/1/access_tokens 201"]);
  });

  it("GitHub's clock 10 minutes ahead: still one mint, and the expiry git gets is on this machine's clock", async () => {
    const ahead = await github({ clockOffsetSeconds: 600 });
    const t = await env({}, undefined, ahead);
    const work = join(t.home, "a");
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), work]), "clone");
    ok(await git(t, ["-C", work, "fetch", "-q", "origin"]), "fetch");
    expect(ahead.mints).toBe(1);
    expect(ahead.requests.map((r) => r.status)).toEqual([401, 200, 401, 201]);
    const expiry = Number(parseLines(ok(await get(t), "get").stdout).password_expiry_utc);
    expect(Math.abs(expiry - (Date.now() / 1000 + 3600))).toBeLessThan(10);
  });
});

describe("each GitHub error: one line with its class wording and the HTTP status", () => {
  it.each<[GitHubMode, string, Record<string, string>, RegExp]>([
    ["401", "acme/a.git", { GITHUB_INSTALLATION_ID: "1" }, /GitHub rejected the GitHub App's JWT \(HTTP 401: A JSON web token could not be decoded\)/],
    ["403", "acme/a.git", { GITHUB_INSTALLATION_ID: "1" }, /GitHub refused a token for acme\/a \(HTTP 403: Resource not accessible by integration\)/],
    ["404", "acme/a.git", {}, /the GitHub App is not installed on acme\/a \(HTTP 404\) \(install the GitHub App on acme\/a/],
    ["422", "acme/a.git", { GITHUB_INSTALLATION_ID: "1", VERS_GITHUB_PROFILE: "clone" }, /GitHub refused the permissions requested for acme\/a \(contents:read\): they exceed what the GitHub App was granted \(HTTP 422: The permissions requested are not granted to this installation\.\) \(use a smaller --profile/],
    ["429", "acme/a.git", { GITHUB_INSTALLATION_ID: "1", VERS_TIMEOUT: "3" }, /GitHub is rate limiting requests \(HTTP 429, retry after 60 s\)/],
    ["500", "acme/a.git", { GITHUB_INSTALLATION_ID: "1", VERS_TIMEOUT: "2" }, /GitHub is unavailable \(HTTP 500 after \d+ tries\)/],
  ])("%s", async (mode, path, extra, pattern) => {
    gh.setMode(mode, { retryAfter: 60 });
    const t = await env(extra);
    const line = expectFailure(await get(t, path), pattern);
    expect(line).toContain(`HTTP ${mode}`);
  });

  it("429 with Retry-After: 1 waits and then serves the token", async () => {
    gh.failNext("429", 1, { retryAfter: 1 });
    const t = await env({ GITHUB_INSTALLATION_ID: "1" });
    const r = ok(await get(t), "get");
    expect(r.stderr).toBe("");
    expect(calls(gh)).toEqual(["POST /app/installations/1/access_tokens 429", "POST /app/installations/1/access_tokens 201"]);
  });
});

describe("one host per source (issue 15, item 6)", () => {
  it("with several hosts, the App serves only the host of GITHUB_API_URL: a request for another configured host asks GitHub nothing", async () => {
    const apiHost = new URL(gh.url).host;
    const t = await made({ hosts: [servers.gitHost.host, apiHost], extraEnv: { GITHUB_APP_ID: APP_ID, GITHUB_API_URL: gh.url, GITHUB_APP_PRIVATE_KEY: keys.pkcs1 } });
    const refused = expectFailure(await get(t), /^git-credential-vers: the GitHub App at /);
    expect(refused).toContain(`mints tokens for ${apiHost}, not ${servers.gitHost.host} (set VERS_GITHUB_HOST=${servers.gitHost.host} with a source for that host`);
    expect(calls(gh)).toEqual([]);
    const served = await helper(t, ["get"], request(apiHost));
    expect(served).toMatchObject({ code: 0, stderr: "" });
    expect(registry.lookup(parseLines(served.stdout).password!)).toBeDefined();
  });
});
