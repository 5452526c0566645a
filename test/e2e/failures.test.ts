/**
 * How `get` fails: each broker answer class (no retry storms on 4xx, waiting out 429, backing off
 * on 5xx, one retry on an invalid answer), --strict, finding the key, and a bad VERS_BASE_URL.
 * Every failure is exit 1 with one line on stderr and never a stack trace (see expectFailure).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helper } from "./harness";
import {
  brokerCounter,
  brokerEnvs,
  CHUNKS_OBSERVABLE,
  expectFailure,
  getToken,
  moduleProbe,
  networkOrCliModules,
  request,
  startStub,
  useServers,
  type ModuleProbe,
  type StubServer,
} from "./fixtures";
import type { BrokerMode } from "../servers/fake-broker";

const HOST = "github.com";
const TIMEOUT_S = 3;
const servers = useServers();
let stub400: StubServer;
let probe: ModuleProbe;

beforeAll(async () => {
  [stub400, probe] = await Promise.all([startStub(400, { error: "invalid_json", message: "request body is not valid JSON" }), moduleProbe()]);
});

afterAll(async () => {
  await Promise.all([stub400?.close(), probe?.dispose()]);
});

const env = brokerEnvs(servers, { host: HOST, timeoutS: TIMEOUT_S });

type Env = Awaited<ReturnType<typeof env>>;
const get = (t: Env, args: string[] = ["get"], extra: Record<string, string> = {}) => helper(t, args, request(HOST, extra));

describe("refusals are not retried", () => {
  it("401: names VERS_API_KEY and HTTP 401 after exactly one request", async () => {
    const t = await env();
    servers.broker.setMode("401");
    const count = brokerCounter(servers.broker);
    const r = await get(t);
    expectFailure(r, /the broker rejected VERS_API_KEY \(HTTP 401\)/);
    expect(count.requests()).toBe(1);
  });

  it.each<[BrokerMode, RegExp]>([
    ["403", /the broker refused a token for acme\/widgets .*HTTP 403/],
    ["404", /no GitHub App installation or repository for acme\/widgets .*HTTP 404/],
    ["422", /HTTP 422.*Validation Failed/],
  ])("%s: one line naming the status, exactly one request", async (mode, pattern) => {
    const t = await env();
    servers.broker.setMode(mode);
    const count = brokerCounter(servers.broker);
    const r = await get(t, ["get"], { path: "acme/widgets.git" });
    const line = expectFailure(r, pattern);
    expect(line).toContain(`HTTP ${mode}`);
    expect(count.requests()).toBe(1);
  });

  it("400: one line naming the status and the broker's message, exactly one request", async () => {
    const t = await env({ brokerUrl: stub400.url });
    const before = stub400.requests;
    const r = await get(t);
    const line = expectFailure(r, /HTTP 400/);
    expect(line).toContain("request body is not valid JSON");
    expect(stub400.requests - before).toBe(1);
  });
});

describe("rate limits and outages", () => {
  // How long a Retry-After wait lasts is tested once, on a fake clock (test/unit/retry.test.ts); here
  // the trace shows the helper read the header (absent or unread, it would wait 1000 ms).
  it("429 with Retry-After: 0, then ok: tries again as told and succeeds on the second request", async () => {
    const t = await env({ extraEnv: { VERS_TIMEOUT: "10" } });
    const trace = join(t.home, "trace.log");
    servers.broker.failNext("429", 1, { retryAfter: 0 });
    const count = brokerCounter(servers.broker);
    await getToken({ ...t, env: { ...t.env, VERS_CREDENTIAL_TRACE: trace } }, HOST);
    expect(count.requests()).toBe(2);
    expect(count.mints()).toBe(1);
    expect(await readFile(trace, "utf8")).toContain("the broker: HTTP 429 on try 1; trying again in 0 ms");
  });

  it("429 with Retry-After: 60 beyond the 3 s deadline fails at once naming HTTP 429", async () => {
    const t = await env();
    servers.broker.failNext("429", 1, { retryAfter: 60 });
    const count = brokerCounter(servers.broker);
    const r = await get(t);
    // Had it waited and tried again, the second request would have succeeded (only one 429 is queued).
    expectFailure(r, /the broker is rate limiting requests \(HTTP 429, retry after 60 s\)/);
    expect(count.requests()).toBe(1);
  });

  it("503 twice, then ok: succeeds after three requests", async () => {
    const t = await env({ extraEnv: { VERS_TIMEOUT: "10" } });
    servers.broker.failNext("503", 2);
    const count = brokerCounter(servers.broker);
    await getToken(t, HOST);
    expect(count.requests()).toBe(3);
    expect(count.mints()).toBe(1);
  });
});

describe("invalid answers", () => {
  it.each<BrokerMode>(["garbage", "bad-token", "past-expiry"])("%s: one retry, then exit 1 naming an invalid answer", async (mode) => {
    const t = await env();
    servers.broker.setMode(mode);
    const count = brokerCounter(servers.broker);
    const r = await get(t);
    expectFailure(r, /the broker sent an invalid answer/);
    expect(r.stdout).not.toContain("ghs_bad token");
    expect(count.requests()).toBe(2);
  });
});

describe("--strict", () => {
  it("--strict prints quit=1 on failure", async () => {
    const t = await env();
    servers.broker.setMode("401");
    expectFailure(await get(t, ["--strict", "get"]), /HTTP 401/, { strict: true });
  });

  it("VERS_CREDENTIAL_STRICT=1 prints quit=1 on failure", async () => {
    const t = await env({ extraEnv: { VERS_CREDENTIAL_STRICT: "1" } });
    servers.broker.setMode("401");
    expectFailure(await get(t), /HTTP 401/, { strict: true });
  });

  it("without it stdout stays empty", async () => {
    const t = await env();
    servers.broker.setMode("401");
    expectFailure(await get(t), /HTTP 401/, { strict: false });
  });
});

describe("finding the Vers API key", () => {
  it("no key anywhere: exit 1, one line naming VERS_API_KEY, no request", async () => {
    const t = await env({ apiKey: undefined });
    const count = brokerCounter(servers.broker);
    expectFailure(await get(t), /VERS_API_KEY/);
    expect(count.requests()).toBe(0);
  });

  it("reads ~/.vers/keys.json", async () => {
    const t = await env({ apiKey: undefined });
    await mkdir(join(t.home, ".vers"));
    await writeFile(join(t.home, ".vers", "keys.json"), JSON.stringify({ keys: { VERS_API_KEY: servers.apiKey } }));
    const count = brokerCounter(servers.broker);
    await getToken(t, HOST);
    expect(count.requests()).toBe(1);
    expect(servers.broker.requests.at(-1)!.authorization).toBe(`Bearer ${servers.apiKey}`);
  });

  it("reads ~/.versrc", async () => {
    const t = await env({ apiKey: undefined });
    await writeFile(join(t.home, ".versrc"), JSON.stringify({ apiKey: servers.apiKey }));
    const count = brokerCounter(servers.broker);
    await getToken(t, HOST);
    expect(count.requests()).toBe(1);
    expect(servers.broker.requests.at(-1)!.authorization).toBe(`Bearer ${servers.apiKey}`);
  });
});

describe("VERS_BASE_URL", () => {
  it("plain http to a non-loopback host fails before any network code loads", async () => {
    // A proxy that would see any attempt to reach example.invalid over http.
    const proxy = await startStub(502, { error: "proxy" });
    try {
      await probe.reset();
      const t = await env({
        brokerUrl: "http://example.invalid",
        extraEnv: { ...probe.env, HTTP_PROXY: proxy.url, http_proxy: proxy.url, HTTPS_PROXY: proxy.url, https_proxy: proxy.url },
      });
      const count = brokerCounter(servers.broker);
      const r = await get(t);
      expectFailure(r, /VERS_BASE_URL must use https/);
      expect(count.requests()).toBe(0);
      expect(proxy.connections).toBe(0);
      if (CHUNKS_OBSERVABLE) {
        const runs = await probe.runs();
        expect(runs).toHaveLength(1);
        expect(runs[0]!.some((p) => p.endsWith("main.cjs"))).toBe(true);
        expect(networkOrCliModules(runs[0]!)).toEqual([]);
      }
    } finally {
      await proxy.close();
    }
  });
});
