import { EnvHttpProxyAgent, fetch as undiciFetch, Response, type RequestInit } from "undici";
import type { Deadline } from "../../deadline";
import type { Trace } from "../../trace";
import { classifyTransport, TransportError } from "../http";

/** The fetch @octokit/request calls, and a way to free its connections once a mint is over. */
export interface DeadlineFetch {
  fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * undici's fetch through an EnvHttpProxyAgent (HTTPS_PROXY / NO_PROXY), each request bounded by the
 * deadline. The body is read here, in full (bounded), so a stalled body is a timeout too; every
 * request is traced as "METHOD url → HTTP status in N ms" (never a header: those hold the JWT).
 * Transport failures are thrown as TransportError, which @octokit/request wraps as the `cause`.
 */
export function deadlineFetch(deadline: Deadline, trace: Trace): DeadlineFetch {
  const connectTimeout = Math.max(1, Math.min(CONNECT_TIMEOUT_MS, deadline.remaining()));
  const dispatcher = new EnvHttpProxyAgent({ connect: { timeout: connectTimeout } });
  const fetch = async (url: string | URL, init: RequestInit = {}): Promise<Response> => {
    const method = init.method ?? "GET";
    const budget = deadline.remaining();
    if (budget <= 0) throw new TransportError("timeout", "no time left");
    const timeout = AbortSignal.timeout(budget);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const started = Date.now();
    try {
      const res = await undiciFetch(url, { ...init, dispatcher, signal });
      const body = await readBody(res);
      trace(`${method} ${String(url)} → HTTP ${res.status} in ${Date.now() - started} ms`);
      return new Response(hasNoBody(res.status) ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      const failure = classifyTransport(err);
      trace(`${method} ${String(url)} → ${failure.reason} after ${Date.now() - started} ms (${failure.message})`);
      throw failure;
    }
  };
  return { fetch, close: () => dispatcher.destroy().catch(() => undefined) };
}

async function readBody(res: Response): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!res.body) return new Uint8Array(0);
  for await (const chunk of res.body) {
    const bytes = chunk as Uint8Array;
    size += bytes.length;
    if (size > MAX_BODY_BYTES) break;
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

function hasNoBody(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}
