import type { Dispatcher as DispatcherType } from "undici";
// undici's index loads all of undici (fetch, WebSocket, caches, mocks …): ~80 M instructions, for each
// process that mints, while dozens of git processes start beside it. The transport needs four parts.
import Agent from "undici/lib/dispatcher/agent.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import EnvHttpProxyAgent from "undici/lib/dispatcher/env-http-proxy-agent.js";
import Pool from "undici/lib/dispatcher/pool.js";
import api from "undici/lib/api/index.js";

// What undici's index does before anything else: every dispatcher gets request(), connect() … (the
// proxy agent's CONNECT goes through connect()).
Object.assign(Dispatcher.prototype, api);
import type { Deadline } from "../deadline";
import type { Env } from "../io";
import { isLoopback } from "../settings";
import type { Trace } from "../trace";

/** One HTTP answer, body read in full (bounded). */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** A transport failure: no HTTP answer at all. */
export class TransportError extends Error {
  constructor(
    readonly reason: "timeout" | "reset" | "refused" | "dns" | "network",
    message: string,
  ) {
    super(message);
  }
}

/** The one way every source talks HTTP: the broker, the GitHub App (through @octokit/request's fetch), the grant endpoint. */
export interface Transport {
  /** One request within the deadline; a redirect is followed only to the same origin, for GET, at most 3 times. */
  send(req: HttpRequest): Promise<HttpAnswer>;
  /** `send` in the shape of fetch, for @octokit/request. */
  fetch(url: string | URL, init?: { method?: string; headers?: Record<string, string>; body?: unknown; signal?: AbortSignal | null }): Promise<Response>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;

type Route = "direct" | "proxied";

/**
 * undici, with one pool of connections per route for the whole mint: loopback destinations go direct
 * (never through a proxy: a plain-http key would cross it in the clear), others through HTTPS_PROXY /
 * HTTP_PROXY unless NO_PROXY says otherwise — read from the helper's environment. Bodies are read in
 * full up to 1 MiB.
 *
 * One try is one try, and the deadline ends it whatever undici is doing. undici keeps a request queued
 * while its connection is being made, where an abort signal does not reach it, and it reconnects at
 * once after some connection failures (a proxy that closes the tunnel it was asked for): a proxy that
 * hangs would keep the helper past its deadline, one that drops connections would see thousands. So a
 * try ends at the first failed connection or at the abort, whichever comes first, and a try that ended
 * without an answer takes its route's pool with it (destroyed: nothing queued, nothing reconnecting).
 */
export function createTransport(env: Env, deadline: Deadline, trace: Trace): Transport {
  const pools = new Map<Route, DispatcherType>();
  /** The tries in flight on each route, told when a connection for that route fails. */
  const inFlight: Record<Route, Set<(err: unknown) => void>> = { direct: new Set(), proxied: new Set() };

  const poolFor = (route: Route): DispatcherType => {
    let pool = pools.get(route);
    if (pool) return pool;
    const options = {
      connect: { timeout: CONNECT_TIMEOUT_MS },
      // Every origin's pool reports its failed connections to the tries waiting on them.
      factory: (origin: string | URL, opts: object) =>
        new Pool(origin, opts).on("connectionError", (_origin, _targets, err) => {
          for (const fail of inFlight[route]) fail(err);
        }),
    };
    pool =
      route === "direct"
        ? new Agent(options)
        : new EnvHttpProxyAgent({
            ...options,
            httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? "",
            httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? "",
            noProxy: env.no_proxy ?? env.NO_PROXY ?? "",
          });
    pools.set(route, pool);
    return pool;
  };

  const discard = (route: Route): void => {
    const pool = pools.get(route);
    pools.delete(route);
    pool?.destroy().catch(() => undefined);
  };

  async function once(req: HttpRequest, signal?: AbortSignal | null): Promise<HttpAnswer> {
    const budget = deadline.remaining();
    if (budget <= 0) throw new TransportError("timeout", "no time left");
    const url = new URL(req.url);
    const route: Route = isLoopback(url.hostname) ? "direct" : "proxied";
    const timeout = AbortSignal.timeout(budget);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let fail: (err: unknown) => void = () => undefined;
    const ended = new Promise<never>((_resolve, reject) => (fail = reject));
    const onAbort = () => fail(abort.reason);
    abort.addEventListener("abort", onAbort);
    inFlight[route].add(fail);
    const started = Date.now();
    try {
      const res = await Promise.race([
        poolFor(route).request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: req.method as DispatcherType.HttpMethod,
          headers: req.headers,
          body: req.body,
          // The abort bounds connect, headers and body alike. undici's own header and body timers run on
          // a coarse clock that fires up to half a second early: off, so none ends a try before the
          // deadline does.
          headersTimeout: 0,
          bodyTimeout: 0,
          signal: abort,
        }),
        ended,
      ]);
      const text = await Promise.race([readBody(res.body), ended]);
      const ms = Date.now() - started;
      trace(`${req.method} ${url.origin}${url.pathname} → HTTP ${res.statusCode} in ${ms} ms`);
      return { status: res.statusCode, headers: res.headers, text, ms };
    } catch (err) {
      discard(route);
      const failure = classifyTransport(err);
      trace(`${req.method} ${url.origin}${url.pathname} → ${failure.reason} after ${Date.now() - started} ms (${failure.message})`);
      throw failure;
    } finally {
      inFlight[route].delete(fail);
      abort.removeEventListener("abort", onAbort);
    }
  }

  async function send(req: HttpRequest, signal?: AbortSignal | null): Promise<HttpAnswer> {
    let current = req;
    for (let hops = 0; ; hops++) {
      const answer = await once(current, signal);
      const next = sameOriginRedirect(current, answer);
      if (!next || hops >= MAX_REDIRECTS) return answer;
      trace(`following a redirect within ${new URL(next).origin}`);
      current = { ...current, url: next };
    }
  }

  return {
    send: (req) => send(req),
    async fetch(url, init = {}) {
      const answer = await send({ url: String(url), method: init.method ?? "GET", headers: init.headers ?? {}, body: typeof init.body === "string" ? init.body : undefined }, init.signal);
      const headers = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) {
        for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
      }
      const empty = [101, 204, 205, 304].includes(answer.status);
      return new Response(empty ? null : answer.text, { status: answer.status, headers });
    },
    close: async () => {
      const open = [...pools.values()];
      pools.clear();
      await Promise.all(open.map((pool) => pool.destroy().catch(() => undefined)));
    },
  };
}

/** The target of a redirect to the same origin for a GET, or undefined: no source follows a redirect elsewhere. */
function sameOriginRedirect(req: HttpRequest, answer: HttpAnswer): string | undefined {
  if (req.method !== "GET" || answer.status < 300 || answer.status > 399) return undefined;
  const location = answer.headers.location;
  if (typeof location !== "string") return undefined;
  try {
    const next = new URL(location, req.url);
    return next.origin === new URL(req.url).origin ? next.href : undefined;
  } catch {
    return undefined;
  }
}

/** Where a redirect answer points, for messages ("another origin, https://evil.example"). */
export function redirectTarget(headers: HttpAnswer["headers"], base: string): string {
  const location = headers.location;
  try {
    return typeof location === "string" ? new URL(location, base).origin : "nowhere";
  } catch {
    return "an unreadable location";
  }
}

async function readBody(body: AsyncIterable<Buffer | Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) break;
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Timeouts (the deadline's abort, connect/headers/body timeouts), resets, refusals, DNS failures, anything else. */
export function classifyTransport(err: unknown): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown; name?: unknown } };
  // An aborted deadline is a DOMException (TimeoutError/AbortError) whose numeric `code` means nothing here.
  const names = [e.name, e.cause?.name].filter((n): n is string => typeof n === "string");
  const codes = [e.code, e.cause?.code].filter((c): c is string => typeof c === "string");
  const message = codes[0] ?? (typeof e.message === "string" ? e.message : "network error");
  if (names.some((n) => /TimeoutError|AbortError/.test(n)) || codes.some((c) => /TIMEOUT/i.test(c))) {
    return new TransportError("timeout", message);
  }
  if (codes.some((c) => /ECONNRESET|UND_ERR_SOCKET|EPIPE/.test(c))) return new TransportError("reset", message);
  if (codes.includes("ECONNREFUSED")) return new TransportError("refused", message);
  if (codes.some((c) => /ENOTFOUND|EAI_AGAIN|EAI_NONAME/.test(c))) return new TransportError("dns", message);
  return new TransportError("network", message);
}
