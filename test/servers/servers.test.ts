import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { request } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_PERMISSIONS, TOKEN_PATH, startFakeBroker, type BrokerMode, type FakeBroker } from "./fake-broker";
import { startGitHost, type GitHost } from "./git-host";
import { TokenRegistry } from "./token-registry";
import { makeTestEnv, run, type RunResult, type TestEnv } from "../e2e/harness";

const KEY = "vers_test_key_0123";

interface TokenAnswer {
  token: string;
  expires_at: string;
  permissions: Record<string, string>;
  repositories?: Array<{ name: string; full_name: string; private: boolean }>;
  repository_selection: string;
  installation_id: number;
  org_id: number;
}

function post(broker: FakeBroker, body?: unknown, key: string | null = KEY, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { "User-Agent": "servers-test/1" };
  if (key !== null) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const payload = typeof body === "string" ? body : body === undefined ? undefined : JSON.stringify(body);
  return fetch(`${broker.url}${TOKEN_PATH}`, { method: "POST", headers, body: payload, signal });
}

async function errorBody(res: Response): Promise<{ error: string; message: string }> {
  return (await res.json()) as { error: string; message: string };
}

describe("fake broker", () => {
  let broker: FakeBroker;

  beforeAll(async () => {
    broker = await startFakeBroker({ apiKey: KEY });
  });
  afterAll(async () => {
    await broker.close();
  });

  it("mints an org-wide token with the default permissions and counts it", async () => {
    const before = broker.mints;
    const res = await post(broker);
    expect(res.status).toBe(201);
    const answer = (await res.json()) as TokenAnswer;
    expect(answer.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(answer.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(answer.expires_at) - Date.now()).toBeGreaterThan(3590_000);
    expect(answer).toMatchObject({ repository_selection: "all", installation_id: 4242, org_id: 99 });
    expect(answer.permissions).toEqual(DEFAULT_PERMISSIONS);
    expect(answer.repositories).toBeUndefined();
    expect(broker.mints).toBe(before + 1);
    expect(broker.registry.lookup(answer.token)).toMatchObject({ repositories: null, expiresAt: Date.parse(answer.expires_at) });
    expect(broker.requests.at(-1)).toMatchObject({ method: "POST", path: TOKEN_PATH, body: "", userAgent: "servers-test/1" });
  });

  it("mints a token limited to the requested repositories and permissions", async () => {
    const res = await post(broker, { repositories: ["widget"], permissions: { contents: "read" } });
    expect(res.status).toBe(201);
    const answer = (await res.json()) as TokenAnswer;
    expect(answer.repository_selection).toBe("selected");
    expect(answer.repositories).toEqual([{ name: "widget", full_name: "acme/widget", private: true }]);
    expect(answer.permissions).toEqual({ contents: "read" });
    expect(broker.registry.lookup(answer.token)).toMatchObject({ repositories: ["widget"], permissions: { contents: "read" } });
    expect(broker.requests.at(-1)?.json).toEqual({ repositories: ["widget"], permissions: { contents: "read" } });
  });

  it("rejects a wrong or missing key with 401 whatever the mode", async () => {
    const before = broker.mints;
    broker.setMode("503");
    try {
      for (const key of ["wrong", null]) {
        const res = await post(broker, undefined, key);
        expect(res.status).toBe(401);
        expect(await errorBody(res)).toEqual({ error: "unauthorized", message: "invalid API key" });
      }
    } finally {
      broker.setMode("ok");
    }
    expect(broker.mints).toBe(before);
  });

  it.each([
    ["not json", "{nope", 400, ""],
    ["administration: write", { permissions: { administration: "write" } }, 422, "administration: write is not allowed"],
    ["an unknown permission", { permissions: { secrets: "read" } }, 422, "secrets"],
    ["write on a read permission", { permissions: { checks: "write" } }, 422, "checks: write is not allowed"],
    ["an owner/repo name", { repositories: ["acme/widget"] }, 422, "acme/widget"],
  ])("refuses a request with %s", async (_what, body, status, message) => {
    const before = broker.mints;
    const res = await post(broker, body);
    expect(res.status).toBe(status);
    const err = await errorBody(res);
    expect(err.error).toBeTruthy();
    expect(err.message).toContain(message);
    expect(broker.mints).toBe(before);
  });

  it.each([
    ["401", 401, "invalid API key"],
    ["403", 403, "Resource not accessible by integration"],
    ["404", 404, "Not Found"],
    ["422", 422, "Validation Failed"],
    ["500", 500, "Internal Server Error"],
    ["503", 503, "Service Unavailable"],
  ] as Array<[BrokerMode, number, string]>)("answers mode %s with that status, once", async (mode, status, message) => {
    broker.failNext(mode);
    const res = await post(broker);
    expect(res.status).toBe(status);
    expect((await errorBody(res)).message).toBe(message);
    expect((await post(broker)).status).toBe(201);
  });

  it("answers 429 with Retry-After (default 1, or as set)", async () => {
    broker.failNext("429");
    broker.failNext("429", 1, { retryAfter: 7 });
    const first = await post(broker);
    const second = await post(broker);
    expect([first.status, first.headers.get("retry-after")]).toEqual([429, "1"]);
    expect([second.status, second.headers.get("retry-after")]).toEqual([429, "7"]);
  });

  it("queues failNext before the persistent mode and keeps setMode until changed", async () => {
    broker.failNext("500", 2);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(broker)).status);
    broker.setMode("503");
    for (let i = 0; i < 2; i++) statuses.push((await post(broker)).status);
    broker.setMode("ok");
    statuses.push((await post(broker)).status);
    expect(statuses).toEqual([500, 500, 201, 503, 503, 201]);
  });

  it("answers garbage with a 200 HTML body", async () => {
    broker.failNext("garbage");
    const res = await post(broker);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("<html>oops</html>");
  });

  it("answers bad-token with a token holding whitespace, not registered", async () => {
    const before = broker.registry.size;
    broker.failNext("bad-token");
    const res = await post(broker);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as TokenAnswer;
    expect(answer.token).toMatch(/\s/);
    expect(broker.registry.size).toBe(before);
  });

  it("answers past-expiry with an expires_at already gone", async () => {
    broker.failNext("past-expiry");
    const res = await post(broker);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as TokenAnswer;
    expect(Date.parse(answer.expires_at)).toBeLessThan(Date.now() - 3000_000);
  });

  it("answers slow after the delay, with a valid token", async () => {
    broker.failNext("slow", 1, { delayMs: 150 });
    const started = Date.now();
    const res = await post(broker);
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const answer = (await res.json()) as TokenAnswer;
    expect(broker.registry.lookup(answer.token)).toBeDefined();
  });

  it("resets the connection without answering", async () => {
    broker.failNext("reset");
    await expect(post(broker)).rejects.toThrow();
    expect((await post(broker)).status).toBe(201);
  });

  it("sets the lifetime of future tokens", async () => {
    broker.setLifetime(120);
    try {
      const answer = (await (await post(broker)).json()) as TokenAnswer;
      const left = Date.parse(answer.expires_at) - Date.now();
      expect(left).toBeGreaterThan(115_000);
      expect(left).toBeLessThanOrEqual(120_000);
    } finally {
      broker.setLifetime(3600);
    }
  });

  it("resolves onRequest with the next request", async () => {
    const next = broker.onRequest();
    await post(broker, { repositories: ["x"] });
    const seen = await next;
    expect(seen).toMatchObject({ method: "POST", path: TOKEN_PATH, contentType: "application/json" });
    expect(seen.authorization).toBe(`Bearer ${KEY}`);
    expect(seen.json).toEqual({ repositories: ["x"] });
  });
});

describe("fake broker in hang mode", () => {
  it("never answers, can be aborted, and still closes promptly", async () => {
    const broker = await startFakeBroker({ apiKey: KEY });
    broker.setMode("hang");
    const aborted = post(broker, undefined, KEY, AbortSignal.timeout(200));
    await expect(aborted).rejects.toMatchObject({ name: "TimeoutError" });
    const seen = broker.onRequest();
    const pending = post(broker);
    pending.catch(() => undefined);
    await seen;
    const started = Date.now();
    await broker.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
    expect(broker.requests).toHaveLength(2);
    expect(broker.mints).toBe(0);
  });
});

interface HttpsAnswer { status: number; headers: IncomingHttpHeaders; body: string }

function httpsGet(url: string, ca: string, authorization?: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
    const req = request(url, { ca, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function basic(password: string): string {
  return `Basic ${Buffer.from(`x-access-token:${password}`).toString("base64")}`;
}

/** git -c options that make one inline credential helper answer with `token`. */
function withToken(token: string): string[] {
  const script = `!f() { echo username=x-access-token; echo password=${token}; }; f`;
  return ["-c", "credential.helper=", "-c", `credential.helper=${script}`];
}

const IDENTITY = ["-c", "user.name=Servers Test", "-c", "user.email=servers-test@example.invalid"];

describe("TLS git host", () => {
  let registry: TokenRegistry;
  let broker: FakeBroker;
  let host: GitHost;
  let t: TestEnv;
  let ca: string;
  let urlA: string;
  let urlB: string;
  let counter = 0;

  beforeAll(async () => {
    registry = new TokenRegistry();
    broker = await startFakeBroker({ apiKey: KEY, registry });
    host = await startGitHost({ registry });
    [urlA, urlB] = await Promise.all([host.createRepo("acme", "a"), host.createRepo("acme", "b")]);
    t = await makeTestEnv({ hosts: [host.host], caFile: host.caFile, wireGit: false });
    ca = await readFile(host.caFile, "utf8");
  }, 30_000);
  afterAll(async () => {
    await Promise.all([broker?.close(), host?.close(), t?.cleanup()]);
  });

  async function mint(body?: unknown): Promise<string> {
    const res = await post(broker, body);
    expect(res.status).toBe(201);
    return ((await res.json()) as TokenAnswer).token;
  }

  function gitRun(args: string[], cwd?: string): Promise<RunResult> {
    return run("git", args, { env: t.env, cwd: cwd ?? t.home, timeoutMs: 30_000 });
  }

  async function clone(url: string, token?: string): Promise<{ r: RunResult; dir: string }> {
    const dir = join(t.home, `clone-${++counter}`);
    const auth = token === undefined ? [] : withToken(token);
    return { r: await gitRun([...auth, "clone", "--quiet", url, dir]), dir };
  }

  async function commitAndPush(dir: string, token: string): Promise<RunResult> {
    const c = await gitRun([...IDENTITY, "commit", "--quiet", "--allow-empty", "-m", `change ${counter}`], dir);
    expect(c.code, c.stderr).toBe(0);
    return gitRun([...withToken(token), "push", "--quiet", "origin", "main"], dir);
  }

  function lastLogFor(token: string | undefined): GitHost["requests"][number] | undefined {
    return host.requests.filter((q) => q.token === token).at(-1);
  }

  it("answers 401 with a Basic challenge without credentials, or with malformed ones", async () => {
    const refs = `${urlA}/info/refs?service=git-upload-pack`;
    for (const auth of [undefined, "Basic !!!", "Bearer x", basic("")]) {
      const res = await httpsGet(refs, ca, auth);
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Basic realm="git-host"');
    }
  });

  it("serves smart HTTP through git http-backend for a valid token", async () => {
    const token = await mint();
    const res = await httpsGet(`${urlA}/info/refs?service=git-upload-pack`, ca, basic(token));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-git-upload-pack-advertisement");
    expect(res.body).toContain("refs/heads/main");
  });

  it("refuses a clone without credentials", async () => {
    const refusedBefore = host.refused;
    const { r } = await clone(urlA);
    expect(r.code).not.toBe(0);
    expect(host.refused).toBeGreaterThan(refusedBefore);
    expect(lastLogFor(undefined)?.status).toBe(401);
  }, 30_000);

  it("clones with a token minted by the broker", async () => {
    const token = await mint();
    const servedBefore = host.served;
    const { r, dir } = await clone(urlA, token);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(dir, "README.md"), "utf8")).toBe("# acme/a\n");
    expect(host.served).toBeGreaterThan(servedBefore);
    expect(lastLogFor(token)?.status).toBe(200);
  }, 30_000);

  it("refuses an expired token and an unknown one", async () => {
    const expired = "ghs_expiredexpiredexpiredexpiredexpire";
    registry.add({ token: expired, expiresAt: Date.now() - 1000, repositories: null, permissions: { ...DEFAULT_PERMISSIONS } });
    const { r } = await clone(urlA, expired);
    expect(r.code).not.toBe(0);
    expect(lastLogFor(expired)).toMatchObject({ status: 401, reason: "expired token" });
    const unknown = (await clone(urlA, "ghs_neverminted")).r;
    expect(unknown.code).not.toBe(0);
    expect(lastLogFor("ghs_neverminted")).toMatchObject({ status: 401, reason: "unknown token" });
  }, 30_000);

  it("refuses a push with a contents:read token", async () => {
    const token = await mint({ permissions: { contents: "read", metadata: "read" } });
    const { r, dir } = await clone(urlA, token);
    expect(r.code, r.stderr).toBe(0);
    const push = await commitAndPush(dir, token);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("403");
    expect(lastLogFor(token)).toMatchObject({ status: 403, reason: "push needs contents: write" });
  }, 30_000);

  it("accepts a push with a contents:write token", async () => {
    const token = await mint({ permissions: { contents: "write", metadata: "read" } });
    const { r, dir } = await clone(urlA, token);
    expect(r.code, r.stderr).toBe(0);
    const push = await commitAndPush(dir, token);
    expect(push.code, push.stderr).toBe(0);
    const local = await gitRun(["rev-parse", "HEAD"], dir);
    const remote = await gitRun(["--git-dir", join(host.root, "acme", "a.git"), "rev-parse", "main"]);
    expect(remote.stdout.trim()).toBe(local.stdout.trim());
  }, 30_000);

  it("refuses a token scoped to repo a on repo b", async () => {
    const token = await mint({ repositories: ["a"] });
    expect((await clone(urlA, token)).r.code).toBe(0);
    const { r } = await clone(urlB, token);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("403");
    expect(lastLogFor(token)).toMatchObject({ status: 403, reason: "repository b is not in the token's scope" });
  }, 30_000);
});
