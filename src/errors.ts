/**
 * Typed errors. Each says what failed and what to do; `report` turns any error
 * into the single stderr line git shows the user, never a stack trace.
 */
export type ErrorCode =
  | "bad-input"
  | "bad-setting"
  | "no-key"
  | "unauthorized"
  | "invalid-request"
  | "forbidden"
  | "not-found"
  | "rate-limited"
  | "unavailable"
  | "bad-answer"
  | "timeout"
  | "cache"
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
 * True for a HelperError from any bundle chunk: the miss path is a separate file with its own
 * copy of this class, so `instanceof` alone would miss errors thrown there.
 */
export function isHelperError(err: unknown): err is HelperError {
  return err instanceof Error && err.name === "HelperError" && typeof (err as HelperError).code === "string";
}

export const PREFIX = "git-credential-vers: ";

/** The one line printed for an error; unexpected errors keep only their message. */
export function errorLine(err: unknown): string {
  if (isHelperError(err)) return PREFIX + err.message;
  const message = err instanceof Error ? err.message : String(err);
  return `${PREFIX}unexpected error: ${firstLine(message)} (set VERS_CREDENTIAL_TRACE=1 and report it)`;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
