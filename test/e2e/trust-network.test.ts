/**
 * Issue 12, the network: loopback never goes through a proxy, a failing proxy cannot outlast the
 * deadline or make a try into a storm of connections, no redirect to another origin is followed, an
 * outage costs one process a few quick tries and the next ones nothing, and the last HTTP status seen
 * is named. Built helper; every server (proxies included) on 127.0.0.1.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helper, HELPER_BIN, run, type TestEnv } from "./harness";
import { brokerCounter, brokerEnvs, expectFailure, getToken, lines, request, startBrokenProxy, startStub, useServers } from "./fixtures";
import { listenOnLoopback } from "../servers/listen";
import { Plumbing } from "../servers/plumbing";
import { generateAppKeys, startFakeGitHub, type FakeGitHub } from "../servers/fake-github";

const HOST = "github.com";
const APP_ID = "4711";
const servers = useServers();
const keys = generateAppKeys();
let github: FakeGitHub;
let proxy: RecordingProxy;

beforeAll(async () => {
  [github, proxy] = await Promise.all([
    startFakeGitHub({ appId: APP_ID, publicKeyPem: keys.publicKeyPem, registry: servers.registry, installations: [{ id: 7, account: "acme" }] }),
    recordingProxy(),
  ]);
});

afterAll(async () => {
  await Promise.all([github?.close(), proxy?.close()]);
});

const env = brokerEnvs(servers, { host: HOST, timeoutS: 3 });

const get = (t: TestEnv) => helper(t, ["get"], request(HOST));
const proxyEnv = (url: string) => ({ HTTP_PROXY: url, http_proxy: url, HTTPS_PROXY: url, https_proxy: url });
/** The deadline plus a margin: the harness kills a helper that outlives it, and the test sees the signal. */
const bounded = (t: TestEnv, timeoutS: number) => run(HELPER_BIN, ["get"], { env: t.env, cwd: t.home, input: request(HOST), timeoutMs: (timeoutS + 15) * 1000 });
const tryCount = (line: string) => Number(/after (\d+) tr(?:y|ies)\)|\((\d+) tr(?:y|ies)\)/.exec(line)?.slice(1).find((n) => n !== undefined) ?? NaN);

describe("loopback destinations never go through a proxy", () => {
  it("the broker on http://127.0.0.1 with HTTP(S)_PROXY set: served directly, the proxy sees no connection and no key", async () => {
    const t = await env({ extraEnv: proxyEnv(proxy.url) });
    const before = proxy.connections;
    const { token } = await getToken(t, HOST);
    expect(servers.broker.registry.lookup(token)).toBeDefined();
    expect(proxy.connections - before).toBe(0);
    expect(proxy.authorizations.join("\n")).not.toContain(servers.apiKey);
  });

  it("a GitHub App on http://127.0.0.1 with HTTP(S)_PROXY set: the JWT never crosses the proxy", async () => {
    const t = await env({ apiKey: undefined, extraEnv: { ...proxyEnv(proxy.url), GITHUB_APP_ID: APP_ID, GITHUB_APP_PRIVATE_KEY: keys.pkcs1, GITHUB_API_URL: github.url } });
    const before = proxy.connections;
    const { token } = await getToken(t, HOST);
    expect(servers.registry.lookup(token)).toBeDefined();
    expect(proxy.connections - before).toBe(0);
    expect(proxy.authorizations).toEqual([]);
  });
});

describe("a proxy that fails every connection, for a broker that is not on loopback", () => {
  it.each(["drop", "read-close", "hang"] as const)("%s: the helper ends by itself within its deadline, in one line, after a few connections per try", async (mode) => {
    const broken = await startBrokenProxy(mode);
    try {
      const t = await env({ brokerUrl: "https://broker.vers.invalid", extraEnv: proxyEnv(broken.url) });
      const r = await bounded(t, 3);
      expect(r.signal, `killed by the harness: ${r.stderr}`).toBeNull();
      const line = expectFailure(r, /the broker (is unavailable|did not answer in time)/);
      const tries = tryCount(line);
      expect(tries, line).toBeGreaterThanOrEqual(1);
      expect(broken.connections, `${broken.connections} connections for ${tries} tries`).toBeLessThanOrEqual(3 * tries);
    } finally {
      await broken.close();
    }
  });
});

describe("redirects", () => {
  it.each([
    ["the installation look-up (GET)", {}],
    ["the token request (POST)", { GITHUB_INSTALLATION_ID: "7" }],
  ])("a GitHub App answer to %s that redirects to another origin: not followed, and the other origin gets nothing", async (_name, extra) => {
    const other = await startStub(201, { token: `ghs_${"R".repeat(36)}`, expires_at: new Date(Date.now() + 3600_000).toISOString() });
    const redirecting = await startStub(302, { message: "moved" }, { Location: `${other.url}/app/installations/7/access_tokens` });
    try {
      const t = await env({ apiKey: undefined, extraEnv: { GITHUB_APP_ID: APP_ID, GITHUB_APP_PRIVATE_KEY: keys.pkcs1, GITHUB_API_URL: redirecting.url, ...extra } });
      const r = await get(t);
      const line = expectFailure(r, /GitHub redirected .* to http:\/\/127\.0\.0\.1:\d+ \(HTTP 302\); not followed/);
      expect(line).toContain(other.url);
      expect(r.stdout).not.toContain("R".repeat(36));
      expect(redirecting.requests).toBe(1);
      expect(other.requests).toBe(0);
      expect(other.connections).toBe(0);
    } finally {
      await Promise.all([other.close(), redirecting.close()]);
    }
  });
});

describe("an outage", () => {
  it("the broker refusing connections, nothing cached: unreachable after a few quick tries; the next get within 10 s fails at once without a try", async () => {
    const down = await closedPort();
    const t = await env({ brokerUrl: `http://127.0.0.1:${down}`, extraEnv: { VERS_TIMEOUT: "15" } });
    const trace = join(t.home, "trace.log");
    t.env.VERS_CREDENTIAL_TRACE = trace;
    const first = await bounded(t, 15);
    const line = expectFailure(first, /the broker is unreachable \(connection refused after \d+ tries\)/);
    const text = await readFile(trace, "utf8");
    const tries = lines(text).filter((l) => /installation-token → refused/.test(l)).length;
    expect(tries, text).toBeGreaterThanOrEqual(2);
    expect(tries, text).toBeLessThanOrEqual(6);
    expect(tryCount(line)).toBe(tries);

    const second = await bounded(t, 15);
    expect(second.stderr).toBe(first.stderr);
    expectFailure(second, /unreachable/);
    const after = lines(await readFile(trace, "utf8")).slice(lines(text).length);
    expect(after.some((l) => /not asking again/.test(l)), after.join("\n")).toBe(true);
    expect(after.filter((l) => /installation-token →/.test(l))).toEqual([]);
  });

  it("503, 503, then no answer until the deadline: the message names HTTP 503", async () => {
    const t = await env();
    servers.broker.failNext("503", 2);
    servers.broker.setMode("hang");
    const count = brokerCounter(servers.broker);
    const line = expectFailure(await bounded(t, 3), /HTTP 503/);
    expect(line).toMatch(/the broker is unavailable \(HTTP 503, then no answer in time after 3 tries\)/);
    expect(count.requests()).toBe(3);
  });
});

/** A port nothing listens on: one the system gave a server that is closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP server standing in for a forward proxy: counts connections and keeps any Authorization it is sent. */
interface RecordingProxy {
  url: string;
  readonly connections: number;
  readonly authorizations: string[];
  close(): Promise<void>;
}

async function recordingProxy(): Promise<RecordingProxy> {
  const authorizations: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    req.resume();
    res.writeHead(502).end();
  });
  server.on("connect", (req: IncomingMessage, socket: Socket) => {
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    socket.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
  });
  const plumbing = new Plumbing(server);
  return {
    url: await plumbing.listen(),
    get connections() {
      return plumbing.connections;
    },
    authorizations,
    close: () => plumbing.close(),
  };
}
