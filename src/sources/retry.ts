import { sleep, type Deadline } from "../deadline";
import { HelperError } from "../errors";
import type { Trace } from "../trace";
import { TransportError, type HttpAnswer } from "./http";

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

/** A try started with less time than this left could not finish: stop and say what was seen. */
export const MIN_TRY_MS = 250;
/** Connection refused or a name that does not resolve: quick tries, this long in all, then fail. */
export const UNREACHABLE_BUDGET_MS = 2000;

type Attempted<T> = Verdict<T> | { kind: "transport"; error: TransportError };

/**
 * Runs attempts until one is done, a final error is thrown, or the deadline or attempt count is
 * reached. 5xx, resets and timeouts back off exponentially with jitter; refused connections and DNS
 * failures get a few quick tries (2 s in all); 429 waits as told when that fits in the deadline; an
 * invalid answer is tried once more. Every message names the last HTTP status seen.
 */
export async function withRetries<T>(opts: RetryOptions<T>): Promise<T> {
  const backoff = opts.backoff ?? jitteredBackoff;
  let tries = 0;
  let badAnswers = 0;
  let lastStatus: number | undefined;
  let unreachable: { tries: number; from: number } | undefined;
  for (;;) {
    tries++;
    const verdict = await attemptOnce(opts);
    if (verdict.kind === "done") return verdict.value;
    if (verdict.kind !== "transport") lastStatus = verdict.status;
    const seen = verdict.kind === "transport" ? describeTransport(verdict.error) : `HTTP ${verdict.status}`;
    const refused = verdict.kind === "transport" && (verdict.error.reason === "refused" || verdict.error.reason === "dns");
    const out = tries >= opts.maxAttempts;
    let waitMs: number;
    if (verdict.kind === "rate-limited") {
      waitMs = verdict.waitMs;
      if (out || waitMs + MIN_TRY_MS > opts.deadline.remaining()) throw rateLimited(opts.label, verdict.status, waitMs);
    } else if (verdict.kind === "bad-answer") {
      badAnswers++;
      if (badAnswers >= 2 || out) throw badAnswer(opts.label, opts.origin, verdict.status, verdict.detail);
      waitMs = 0;
    } else if (refused) {
      unreachable = unreachable ? { ...unreachable, tries: unreachable.tries + 1 } : { tries: 1, from: opts.deadline.remaining() };
      waitMs = 100 * 2 ** Math.min(unreachable.tries - 1, 4);
      if (unreachable.from - opts.deadline.remaining() + waitMs > UNREACHABLE_BUDGET_MS) throw gaveUp(opts, verdict, seen, tries, lastStatus);
    } else {
      waitMs = backoff(tries);
    }
    if (out || waitMs + MIN_TRY_MS > opts.deadline.remaining()) throw gaveUp(opts, verdict, seen, tries, lastStatus);
    opts.trace(`${opts.label}: ${seen} on try ${tries}; trying again in ${Math.round(waitMs)} ms`);
    await sleep(waitMs);
  }
}

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

/** The answers every service shares: 429 waits as told (Retry-After), 5xx backs off; undefined for any other. */
export function transientVerdict(answer: HttpAnswer, now: number): Verdict<never> | undefined {
  if (answer.status === 429) return { kind: "rate-limited", status: 429, waitMs: retryAfterMs(answer.headers["retry-after"], now) };
  if (answer.status >= 500) return { kind: "unavailable", status: answer.status };
  return undefined;
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
    case "dns":
      return `host not found (${error.message})`;
    default:
      return `network error ${error.message}`;
  }
}

function tryCount(tries: number): string {
  return tries === 1 ? "1 try" : `${tries} tries`;
}

/**
 * Out of time or tries: a service that refused every connection (or whose name does not resolve) is
 * unreachable; one that only timed out did not answer in time; anything else is unavailable. Each
 * message names the last HTTP status seen, if any.
 */
function gaveUp<T>(opts: RetryOptions<T>, verdict: Attempted<T>, seen: string, tries: number, lastStatus?: number): HelperError {
  const last = lastStatus === undefined || seen === `HTTP ${lastStatus}` ? seen : `HTTP ${lastStatus}, then ${seen}`;
  const reason = verdict.kind === "transport" ? verdict.error.reason : undefined;
  if (reason === "refused" || reason === "dns") {
    return new HelperError("unreachable", `${opts.label} is unreachable (${last} after ${tryCount(tries)})`, `check ${opts.origin} and the network`, lastStatus);
  }
  if (lastStatus === undefined && reason === "timeout") {
    return new HelperError("timeout", `${opts.label} did not answer in time (${tryCount(tries)})`, `check the network to ${opts.origin}, or raise --timeout / VERS_TIMEOUT`);
  }
  return new HelperError("unavailable", `${opts.label} is unavailable (${last} after ${tryCount(tries)})`, `try again later; ${opts.origin} may be down`, lastStatus);
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
