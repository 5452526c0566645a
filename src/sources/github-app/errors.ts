import { HelperError } from "../../errors";
import { canonicalPermissions, type Permissions } from "../../profiles";
import { oneLine } from "../../text";
import { TransportError } from "../http";
import { retryAfterMs, type Verdict } from "../retry";

/** What GitHub answered with an error status (an @octokit/request RequestError, read without importing it). */
export interface Refusal {
  status: number;
  headers: Record<string, string | undefined>;
  /** GitHub's `message`, on one line. */
  message: string;
}

/** What a call was about, for the messages. */
export interface CallSubject {
  /** A noun phrase, e.g. "a token for acme/widgets with profile clone". */
  what: string;
  /** Where the app must be installed ("acme/widgets", "acme"), or undefined for a given installation id. */
  target?: string;
  installationId?: number;
  appId: string;
  /** The repositories a token is for, e.g. "acme/widgets" or "every repository" (a token request only). */
  repositories?: string;
  /** The permissions asked for (a token request only). */
  permissions?: Permissions;
}

/** Without a Retry-After or reset time, GitHub says to wait at least a minute after a secondary rate limit. */
const UNTOLD_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * A thrown error from @octokit/request: a TransportError (ours, from the fetch, kept as `cause`) goes
 * to withRetries as such; an HTTP answer becomes a Refusal; anything else is unexpected and final.
 */
export function readFailure(err: unknown): Refusal | TransportError {
  if (err instanceof TransportError) return err;
  const e = err as { status?: unknown; cause?: unknown; message?: unknown; response?: { headers?: unknown; data?: unknown } };
  if (e.cause instanceof TransportError) return e.cause;
  if (typeof e.status === "number" && e.response && typeof e.response.headers === "object" && e.response.headers !== null) {
    return { status: e.status, headers: e.response.headers as Refusal["headers"], message: messageOf(e.response.data) };
  }
  const message = oneLine(err instanceof Error ? err.message : String(err));
  throw new HelperError("bad-answer", `talking to GitHub failed unexpectedly (${message})`, "set VERS_CREDENTIAL_TRACE=1 to see the requests, and report it");
}

/** A refusal as a verdict to retry on (rate limits, 5xx) or a final HelperError, thrown. */
export function judgeRefusal(r: Refusal, subject: CallSubject, now: number): Verdict<never> {
  const waitMs = rateLimitWait(r, now);
  if (waitMs !== undefined) return { kind: "rate-limited", status: r.status, waitMs };
  if (r.status >= 500) return { kind: "unavailable", status: r.status };
  throw refusalError(r, subject, now);
}

/** Secondary (403/429 + Retry-After, or a "rate limit" message) and primary (x-ratelimit-remaining: 0) limits. */
export function rateLimitWait(r: Refusal, now: number): number | undefined {
  if (r.status !== 403 && r.status !== 429) return undefined;
  if (r.headers["retry-after"] !== undefined) return retryAfterMs(r.headers["retry-after"], now);
  const reset = Number(r.headers["x-ratelimit-reset"]);
  if (r.headers["x-ratelimit-remaining"] === "0" && Number.isFinite(reset)) {
    return Math.max(0, reset * 1000 - (dateOf(r.headers) ?? now));
  }
  if (r.status === 429 || /rate limit/i.test(r.message)) return UNTOLD_RATE_LIMIT_WAIT_MS;
  return undefined;
}

function refusalError(r: Refusal, s: CallSubject, now: number): HelperError {
  const said = r.message ? `: ${r.message}` : "";
  switch (r.status) {
    case 401:
      return new HelperError(
        "unauthorized",
        `GitHub rejected the GitHub App's JWT (HTTP 401${said})`,
        `check that GITHUB_APP_ID ${s.appId} matches the key, that the key is the app's current private key, and the machine clock${skewNote(r.headers, now)}`,
        401,
      );
    case 403:
      return new HelperError("forbidden", `GitHub refused ${s.what} (HTTP 403${said})`, "check the GitHub App's permissions and which repositories its installation may reach", 403);
    case 404:
      return notFound(s);
    case 400:
    case 422:
      return invalidRequest(r, s, said);
    default:
      return new HelperError("bad-answer", `GitHub answered HTTP ${r.status} for ${s.what}${said}`, "check GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3)", r.status);
  }
}

function notFound(s: CallSubject): HelperError {
  if (s.target === undefined) {
    return new HelperError("not-found", `GitHub App installation ${s.installationId ?? "?"} was not found (HTTP 404)`, "check GITHUB_INSTALLATION_ID: the number at the end of the installation's settings URL", 404);
  }
  return notInstalled(s.target);
}

/** "the GitHub App is not installed on acme/widgets (HTTP 404)". */
export function notInstalled(target: string): HelperError {
  return new HelperError("not-found", `the GitHub App is not installed on ${target} (HTTP 404)`, `install the GitHub App on ${target} (the app's settings, Install App), or set GITHUB_INSTALLATION_ID`, 404);
}

function invalidRequest(r: Refusal, s: CallSubject, said: string): HelperError {
  const asked = canonicalPermissions(s.permissions).replaceAll(",", ", ");
  if (asked && !/repositor/i.test(r.message)) {
    return new HelperError(
      "invalid-request",
      `GitHub refused the permissions requested for ${s.repositories ?? "the token"} (${asked}): they exceed what the GitHub App was granted (HTTP ${r.status}${said})`,
      "use a smaller --profile, or grant them in the GitHub App's settings and accept them on the installation",
      r.status,
    );
  }
  return new HelperError(
    "invalid-request",
    `GitHub refused ${s.what} (HTTP ${r.status}${said})`,
    "check the repository name; the GitHub App's installation may not include that repository",
    r.status,
  );
}

/** " (GitHub's clock is 600 s ahead of this machine's)", when the Date header shows a skew worth naming. */
function skewNote(headers: Refusal["headers"], now: number): string {
  const date = dateOf(headers);
  if (date === undefined) return "";
  const skew = Math.round((date - now) / 1000);
  if (Math.abs(skew) < 30) return "";
  return ` (GitHub's clock is ${Math.abs(skew)} s ${skew > 0 ? "ahead of" : "behind"} this machine's)`;
}

export function dateOf(headers: Refusal["headers"]): number | undefined {
  const date = headers.date === undefined ? NaN : Date.parse(headers.date);
  return Number.isFinite(date) ? date : undefined;
}

function messageOf(data: unknown): string {
  const raw = typeof data === "object" && data !== null ? (data as { message?: unknown }).message : data;
  return typeof raw === "string" ? oneLine(raw) : "";
}
