import { HelperError } from "../errors";
import type { Served } from "../token";
import { valueProblem } from "../text";

/** Tells git to stop trying other helpers and not to prompt (used with --strict). */
export const QUIT = "quit=1\n";

/**
 * What `get` hands back to git: username, password and, when known, password_expiry_utc. Every value
 * passes `printable` first, whatever its source, so no value can add a line of its own.
 */
export function formatAnswer(served: Served): string {
  const lines = ["username=x-access-token", `password=${printable(served)}`];
  if (served.expiresAt !== undefined) lines.push(`password_expiry_utc=${Math.floor(served.expiresAt / 1000)}`);
  return lines.join("\n") + "\n";
}

/**
 * The token, if it can be printed on one line of git's protocol (or of a shell's `$(…)`): no CR, LF,
 * NUL or other control character, at most 8 KiB. Otherwise an error naming where it came from — never
 * the token itself.
 */
export function printable(served: Served): string {
  const problem = valueProblem(served.token);
  if (problem === undefined) return served.token;
  const variable = /^env (\w+)$/.exec(served.origin)?.[1];
  throw new HelperError(
    "bad-answer",
    `the token from ${served.origin} cannot be printed: ${problem}`,
    variable ? `set ${variable} to the token alone` : "set VERS_CREDENTIAL_TRACE=1 and report it",
  );
}
