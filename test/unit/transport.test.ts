/**
 * The one transport (src/sources/http.ts) every source talks through: redirects followed only within
 * an origin, for GET, at most 3 times; loopback never through a proxy; bounded bodies; transport
 * failures classified. And what the sources make of a redirect they do not follow.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Deadline } from "../../src/deadline";
import { HelperError } from "../../src/errors";
import { brokerSource } from "../../src/sources/broker";
import { classifyTransport, createTransport, TransportError } from "../../src/sources/http";
import type { MintContext } from "../../src/sources/types";
import { listenOnLoopback } from "../servers/listen";
import { mintError, REPO } from "./github-app-fixtures";

interface Stub {
  url: string;
  /** "METHOD /path" of every request, in order. */
  seen: string[];
  connections: number;
}

const servers: Array<{ server: Server | TcpServer; sockets: Set<Socket> }> = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(({ server, sockets }) => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

/** A loopback HTTP server answering with `handler`; closed after the test. */
async function stub(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Stub> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const result = { url: "", seen, connections: 0 };
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on("end", () => handler(req, res));
  });
  server.on("connection", (s: Socket) => {
    result.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  servers.push({ server, sockets });
  result.url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  return result;
}

/** A loopback TCP server doing `onSocket` with each connection (a proxy that fails); closed after the test. */
async function tcpStub(onSocket: (socket: Socket) => void): Promise<{ url: string; connections: number }> {
  const sockets = new Set<Socket>();
  const result = { url: "", connections: 0 };
  const server = createTcpServer((socket) => {
    result.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    onSocket(socket);
  });
  servers.push({ server, sockets });
  result.url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  return result;
}

function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location });
  res.end();
}

function transport(env: Record<string, string> = {}, ms = 5000) {
  const traced: string[] = [];
  const http = createTransport(env, Deadline.in(ms, Date.now), (m) => traced.push(m));
  return { http, traced };
}

async function withTransport<T>(fn: (t: ReturnType<typeof transport>) => Promise<T>, env: Record<string, string> = {}, ms = 5000): Promise<T> {
  const t = transport(env, ms);
  try {
    return await fn(t);
  } finally {
    await t.http.close();
  }
}

describe("createTransport: redirects", () => {
  it("a GET is followed within its origin", async () => {
    const server = await stub((req, res) => (req.url === "/start" ? redirect(res, "/end") : res.end("arrived")));
    const answer = await withTransport(async ({ http, traced }) => {
      const a = await http.send({ url: `${server.url}/start`, method: "GET", headers: {} });
      expect(traced).toContain(`following a redirect within ${server.url}`);
      return a;
    });
    expect(answer).toMatchObject({ status: 200, text: "arrived" });
    expect(server.seen).toEqual(["GET /start", "GET /end"]);
  });

  it("at most 3 times: the fourth redirect is handed back as it is", async () => {
    const server = await stub((req, res) => redirect(res, `/hop${Number(req.url!.slice(4) || 0) + 1}`));
    const answer = await withTransport(({ http }) => http.send({ url: `${server.url}/hop0`, method: "GET", headers: {} }));
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe("/hop4");
    expect(server.seen).toEqual(["GET /hop0", "GET /hop1", "GET /hop2", "GET /hop3"]);
  });

  it("never to another origin: the redirect is handed back, and the other origin is not asked", async () => {
    const elsewhere = await stub((_req, res) => res.end("stolen"));
    const server = await stub((_req, res) => redirect(res, `${elsewhere.url}/collect`));
    const answer = await withTransport(({ http }) => http.send({ url: `${server.url}/start`, method: "GET", headers: { authorization: "Bearer secret" } }));
    expect(answer.status).toBe(302);
    expect(elsewhere.seen).toEqual([]);
    expect(elsewhere.connections).toBe(0);
  });

  it.each(["POST", "PUT", "DELETE"])("never for a %s, even within the origin", async (method) => {
    const server = await stub((req, res) => (req.url === "/start" ? redirect(res, "/end", 307) : res.end("arrived")));
    const answer = await withTransport(({ http }) => http.send({ url: `${server.url}/start`, method, headers: {}, body: "{}" }));
    expect(answer.status).toBe(307);
    expect(server.seen).toEqual([`${method} /start`]);
  });
});

describe("createTransport: proxies", () => {
  it("a loopback destination goes direct, whatever HTTP(S)_PROXY says", async () => {
    const proxy = await stub((_req, res) => res.writeHead(502).end());
    const server = await stub((_req, res) => res.end("direct"));
    const env = { HTTP_PROXY: proxy.url, http_proxy: proxy.url, HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: "", no_proxy: "" };
    const answer = await withTransport(({ http }) => http.send({ url: `${server.url}/x`, method: "GET", headers: {} }), env);
    expect(answer).toMatchObject({ status: 200, text: "direct" });
    expect(proxy.connections).toBe(0);
    expect(server.seen).toEqual(["GET /x"]);
  });

  it("any other destination goes through HTTPS_PROXY: a CONNECT to the proxy, nothing direct", async () => {
    const proxy = await stub((_req, res) => res.writeHead(502).end());
    const server = servers.at(-1)!.server;
    server.on("connect", (req: IncomingMessage, socket: Socket) => {
      proxy.seen.push(`CONNECT ${req.url}`);
      socket.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
    });
    const failure = await withTransport(({ http }) => http.send({ url: "https://broker.example.com/api/github/installation-token", method: "POST", headers: {} }), {
      HTTPS_PROXY: proxy.url,
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TransportError);
    expect(proxy.seen[0]).toBe("CONNECT broker.example.com:443");
  });

  it("the same for localhost", async () => {
    const proxy = await stub((_req, res) => res.writeHead(502).end());
    const server = await stub((_req, res) => res.end("direct"));
    const answer = await withTransport(({ http }) => http.send({ url: server.url.replace("127.0.0.1", "localhost"), method: "GET", headers: {} }), { HTTP_PROXY: proxy.url });
    expect(answer.text).toBe("direct");
    expect(proxy.connections).toBe(0);
  });

  it("a proxy that closes every tunnel it is asked for: one try is one or two connections, failed as a reset", async () => {
    const proxy = await tcpStub((socket) => socket.once("data", () => socket.destroy()));
    const error = await withTransport(({ http }) => http.send({ url: "https://broker.vers.invalid/x", method: "POST", headers: {} }).catch((e: unknown) => e), { HTTPS_PROXY: proxy.url });
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).reason).toBe("reset");
    // undici would reconnect at once, thousands of times, had the try not ended at the first failure.
    expect(proxy.connections).toBeLessThanOrEqual(2);
  });

  it("a proxy that never answers: the try ends at the deadline as a timeout, and the transport closes", async () => {
    const proxy = await tcpStub(() => undefined);
    const error = await withTransport(({ http }) => http.send({ url: "https://broker.vers.invalid/x", method: "POST", headers: {} }).catch((e: unknown) => e), { HTTPS_PROXY: proxy.url }, 300);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).reason).toBe("timeout");
    expect(proxy.connections).toBe(1);
  });
});

describe("createTransport: answers and failures", () => {
  it("reads a body in full up to 1 MiB, and no further", async () => {
    const server = await stub((_req, res) => res.end("x".repeat(3 * 1024 * 1024)));
    const answer = await withTransport(({ http }) => http.send({ url: server.url, method: "GET", headers: {} }));
    expect(answer.status).toBe(200);
    expect(answer.text.length).toBeGreaterThan(0);
    expect(answer.text.length).toBeLessThanOrEqual(1024 * 1024);
  });

  it("sends the method, headers and body it was given", async () => {
    let got = "";
    const server = await stub((req, res) => {
      got = `${req.method} ${req.headers["content-type"]}`;
      res.end();
    });
    await withTransport(({ http }) => http.send({ url: `${server.url}/p`, method: "POST", headers: { "content-type": "application/json" }, body: "{}" }));
    expect(got).toBe("POST application/json");
  });

  it("with no time left: a timeout, and no request at all", async () => {
    const server = await stub((_req, res) => res.end());
    const error = await withTransport(({ http }) => http.send({ url: server.url, method: "GET", headers: {} }).catch((e: unknown) => e), {}, 0);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ reason: "timeout", message: "no time left" });
    expect(server.connections).toBe(0);
  });

  it("a refused connection is classified as refused", async () => {
    const closed = await stub(() => undefined);
    const { server } = servers.at(-1)!;
    await new Promise((resolve) => server.close(resolve));
    const error = await withTransport(({ http }) => http.send({ url: closed.url, method: "GET", headers: {} }).catch((e: unknown) => e));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).reason).toBe("refused");
  });

  it("fetch (for @octokit/request) hands back a Response: status, headers, text; no body for 204", async () => {
    const server = await stub((req, res) => {
      if (req.url === "/none") return void res.writeHead(204).end();
      res.writeHead(201, { "content-type": "application/json", "x-a": "1" });
      res.end('{"ok":true}');
    });
    await withTransport(async ({ http }) => {
      const res = await http.fetch(`${server.url}/some`, { method: "POST", headers: { accept: "application/json" }, body: "{}" });
      expect(res.status).toBe(201);
      expect(res.headers.get("x-a")).toBe("1");
      expect(await res.json()).toEqual({ ok: true });
      const none = await http.fetch(new URL(`${server.url}/none`));
      expect(none.status).toBe(204);
      expect(await none.text()).toBe("");
    });
    expect(server.seen).toEqual(["POST /some", "GET /none"]);
  });
});

describe("classifyTransport", () => {
  const timeoutError = Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError", code: 23 });
  it.each<[string, string, unknown]>([
    ["ENOTFOUND", "dns", Object.assign(new Error("getaddrinfo ENOTFOUND vers.invalid"), { code: "ENOTFOUND" })],
    ["EAI_AGAIN in the cause", "dns", Object.assign(new Error("fetch failed"), { cause: { code: "EAI_AGAIN" } })],
    ["ECONNREFUSED", "refused", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
    ["ECONNRESET", "reset", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
    ["UND_ERR_SOCKET", "reset", Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" })],
    ["the deadline's abort (a numeric code)", "timeout", timeoutError],
    ["an AbortError", "timeout", Object.assign(new Error("aborted"), { name: "AbortError" })],
    ["UND_ERR_HEADERS_TIMEOUT", "timeout", Object.assign(new Error("Headers Timeout Error"), { code: "UND_ERR_HEADERS_TIMEOUT" })],
    ["UND_ERR_CONNECT_TIMEOUT", "timeout", Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" })],
    ["anything else", "network", new Error("certificate has expired")],
    ["not even an Error", "network", "boom"],
  ])("%s → %s", (_name, reason, err) => {
    const out = classifyTransport(err);
    expect(out).toBeInstanceOf(TransportError);
    expect(out.reason).toBe(reason);
  });

  it("names the code when there is one, else the message", () => {
    expect(classifyTransport(Object.assign(new Error("getaddrinfo ENOTFOUND x"), { code: "ENOTFOUND" })).message).toBe("ENOTFOUND");
    expect(classifyTransport(new Error("certificate has expired")).message).toBe("certificate has expired");
  });

  it("hands a TransportError back as it is", () => {
    const err = new TransportError("refused", "x");
    expect(classifyTransport(err)).toBe(err);
  });
});

describe("a redirect a source does not follow is a final bad-answer", () => {
  function ctx(): MintContext {
    return { deadline: Deadline.in(5000, Date.now), trace: () => {}, now: Date.now, env: {}, maxAttempts: 100 };
  }

  it("the broker: one request, naming where it pointed", async () => {
    const server = await stub((_req, res) => redirect(res, "https://evil.example/steal", 307));
    const c = ctx();
    const http = createTransport(c.env, c.deadline, c.trace);
    let error: unknown;
    try {
      await brokerSource({ baseUrl: server.url, apiKey: "vers_test_key" }, http).mint(REPO, c);
    } catch (err) {
      error = err;
    } finally {
      await http.close();
    }
    expect(error).toBeInstanceOf(HelperError);
    expect(error).toMatchObject({
      code: "bad-answer",
      status: 307,
      what: "the broker redirected to https://evil.example (HTTP 307); not followed",
      hint: "point VERS_BASE_URL at the broker itself",
    });
    expect(server.seen).toEqual(["POST /api/github/installation-token"]);
  });

  it("GitHub: one request, naming what was asked and where it pointed", async () => {
    const server = await stub((_req, res) => redirect(res, "https://evil.example/api", 301));
    const err = await mintError(server.url, REPO, { installationId: "1" });
    expect(err).toMatchObject({
      code: "bad-answer",
      status: 301,
      what: "GitHub redirected a token for acme/widgets to https://evil.example (HTTP 301); not followed",
      hint: "check GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3)",
    });
    expect(server.seen).toEqual(["POST /app/installations/1/access_tokens"]);
  });
});
