import { escapeText, hideSecrets } from "./text";

/**
 * Typed errors. Each says what failed and what to do; `errorLine` is the one place an error becomes
 * the single stderr line git shows the user, never a stack trace.
 */
export type ErrorCode =
  | "bad-input"
  | "bad-setting"
  | "no-key"
  | "unauthorized"
  | "invalid-grant"
  | "invalid-request"
  | "forbidden"
  | "not-found"
  | "rate-limited"
  | "unavailable"
  | "unreachable"
  | "bad-answer"
  | "timeout"
  | "config";

export class HelperError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** What failed, e.g. "the broker rejected VERS_API_KEY (HTTP 401)". */
    readonly what: string,
    /** What to do about it, e.g. "check VERS_API_KEY". */
    readonly hint: string,
    /** HTTP status seen, if any. */
    readonly status?: number,
  ) {
    super(`${what} (${hint})`);
    this.name = "HelperError";
  }
}

/**
 * True for a HelperError from any bundle chunk: lazily loaded chunks carry their own copy of this
 * class, so `instanceof` alone would miss errors thrown there.
 */
export function isHelperError(err: unknown): err is HelperError {
  return err instanceof Error && err.name === "HelperError" && typeof (err as HelperError).code === "string";
}

export const PREFIX = "git-credential-vers: ";

/**
 * The one line printed for an error, ending in a newline. Text from outside may sit inside `what`
 * (a repository path, a server's message), so the whole line is escaped here, once, and any known
 * secret in it is shown only by its last 4 characters.
 */
export function errorLine(err: unknown, secrets: readonly string[] = []): string {
  if (isHelperError(err)) return line(err.message, secrets);
  const message = err instanceof Error ? err.message : String(err);
  return line(`unexpected error: ${message.split("\n", 1)[0] ?? ""} (set VERS_CREDENTIAL_TRACE=1 and report it)`, secrets);
}

/** A warning: the helper goes on, but the user should know (and how to fix it). */
export function warningLine(what: string, hint: string, secrets: readonly string[] = []): string {
  return line(`${what} (${hint})`, secrets);
}

function line(text: string, secrets: readonly string[]): string {
  return `${PREFIX}${escapeText(hideSecrets(text, secrets))}\n`;
}
