import { EnvHttpProxyAgent, request, type Dispatcher } from "undici";
import type { Deadline } from "../deadline";
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
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
}

/** A transport failure: no HTTP answer at all. */
export class TransportError extends Error {
  constructor(
    readonly reason: "timeout" | "reset" | "refused" | "network",
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Sends one request through undici, honouring HTTPS_PROXY / NO_PROXY, with connect,
 * headers and body timeouts all bounded by the deadline.
 */
export async function send(req: HttpRequest, deadline: Deadline, trace: Trace): Promise<HttpAnswer> {
  const budget = deadline.remaining();
  if (budget <= 0) throw new TransportError("timeout", "no time left");
  const dispatcher: Dispatcher = new EnvHttpProxyAgent({ connect: { timeout: Math.min(CONNECT_TIMEOUT_MS, budget) } });
  const started = Date.now();
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher,
      headersTimeout: budget,
      bodyTimeout: budget,
      signal: AbortSignal.timeout(budget),
    });
    const text = await readBody(res.body);
    const ms = Date.now() - started;
    trace(`${req.method} ${req.url} → HTTP ${res.statusCode} in ${ms} ms`);
    return { status: res.statusCode, headers: res.headers, text, ms };
  } catch (err) {
    const failure = classifyTransport(err);
    trace(`${req.method} ${req.url} → ${failure.reason} after ${Date.now() - started} ms (${failure.message})`);
    throw failure;
  } finally {
    void dispatcher.destroy().catch(() => undefined);
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

/** Timeouts (the deadline's abort, connect/headers/body timeouts), resets, refusals, anything else. */
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
  return new TransportError("network", message);
}
