import { sleep, type Deadline } from "../deadline";
import { HelperError } from "../errors";
import type { Trace } from "../trace";
import { TransportError } from "./http";

/** What one attempt came to, once a source has read the answer. Final errors are thrown instead. */
export type Verdict<T> =
  | { kind: "done"; value: T }
  /** 5xx: try again after a back-off. */
  | { kind: "unavailable"; status: number }
  /** 200 that is not JSON or not a valid token: one more try. */
  | { kind: "bad-answer"; status: number; detail: string }
  /** 429 (or a secondary rate limit): wait as told, then try again. */
  | { kind: "rate-limited"; status: number; waitMs: number };

export interface RetryOptions<T> {
  /** Names the service in messages, e.g. "the broker". */
  label: string;
  /** Where it is, named in the hints, e.g. "https://vers.sh". */
  origin: string;
  deadline: Deadline;
  trace: Trace;
  maxAttempts: number;
  attempt: () => Promise<Verdict<T>>;
  /** Pause before try n+1 after n failures; defaults to exponential back-off with jitter. */
  backoff?: (failures: number) => number;
}

/**
 * Runs attempts until one is done, a final error is thrown, or the deadline or attempt count is
 * reached. 5xx, resets and timeouts back off exponentially with jitter; 429 waits as told when that
 * fits in the deadline; an invalid answer is tried once more. Every message names what it saw last.
 */
export async function withRetries<T>(opts: RetryOptions<T>): Promise<T> {
  const backoff = opts.backoff ?? jitteredBackoff;
  let tries = 0;
  let badAnswers = 0;
  for (;;) {
    tries++;
    const verdict = await attemptOnce(opts);
    if (verdict.kind === "done") return verdict.value;
    const last = verdict.kind === "transport" ? describeTransport(verdict.error) : `HTTP ${verdict.status}`;
    const outOfTries = tries >= opts.maxAttempts;
    let waitMs: number;
    if (verdict.kind === "rate-limited") {
      waitMs = verdict.waitMs;
      if (outOfTries || waitMs >= opts.deadline.remaining()) throw rateLimited(opts.label, verdict.status, waitMs);
    } else if (verdict.kind === "bad-answer") {
      badAnswers++;
      if (badAnswers >= 2 || outOfTries) throw badAnswer(opts.label, opts.origin, verdict.status, verdict.detail);
      waitMs = 0;
    } else {
      waitMs = backoff(tries);
      if (opts.deadline.remaining() <= 0 && verdict.kind === "transport" && verdict.error.reason === "timeout") {
        throw timedOut(opts.label, opts.origin, tries);
      }
      if (outOfTries || waitMs >= opts.deadline.remaining()) throw unavailable(opts.label, opts.origin, last, tries);
    }
    opts.trace(`${opts.label}: ${last} on try ${tries}; trying again in ${Math.round(waitMs)} ms`);
    await sleep(waitMs);
  }
}

type Attempted<T> = Verdict<T> | { kind: "transport"; error: TransportError };

async function attemptOnce<T>(opts: RetryOptions<T>): Promise<Attempted<T>> {
  try {
    return await opts.attempt();
  } catch (err) {
    if (err instanceof TransportError) return { kind: "transport", error: err };
    throw err;
  }
}

export function jitteredBackoff(failures: number): number {
  const base = Math.min(3000, 250 * 2 ** (failures - 1));
  return base / 2 + Math.random() * (base / 2);
}

/** Retry-After in whole seconds or as an HTTP date; 1 s when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number {
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? "";
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value) ? Date.parse(value) : NaN;
  return Number.isFinite(date) ? Math.max(0, date - now) : 1000;
}

function describeTransport(error: TransportError): string {
  switch (error.reason) {
    case "timeout":
      return "no answer in time";
    case "reset":
      return "connection reset";
    case "refused":
      return "connection refused";
    default:
      return `network error ${error.message}`;
  }
}

function tryCount(tries: number): string {
  return tries === 1 ? "1 try" : `${tries} tries`;
}

function unavailable(label: string, origin: string, last: string, tries: number): HelperError {
  const status = /^HTTP (\d+)/.exec(last)?.[1];
  return new HelperError(
    "unavailable",
    `${label} is unavailable (${last} after ${tryCount(tries)})`,
    `try again later; ${origin} may be down`,
    status ? Number(status) : undefined,
  );
}

function timedOut(label: string, origin: string, tries: number): HelperError {
  return new HelperError("timeout", `${label} did not answer in time (${tryCount(tries)})`, `check the network to ${origin}, or raise --timeout / VERS_TIMEOUT`);
}

function rateLimited(label: string, status: number, waitMs: number): HelperError {
  return new HelperError(
    "rate-limited",
    `${label} is rate limiting requests (HTTP ${status}, retry after ${Math.ceil(waitMs / 1000)} s)`,
    "wait and try again",
    status,
  );
}

function badAnswer(label: string, origin: string, status: number, detail: string): HelperError {
  return new HelperError("bad-answer", `${label} sent an invalid answer (HTTP ${status}: ${detail})`, `check that ${origin} is the right URL`, status);
}
