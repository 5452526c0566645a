/**
 * Checks and escapes for text that crosses a boundary: values printed to git, and text from outside
 * (request fields, server answers, environment values) on its way to stderr or the trace.
 */

/** The longest value the helper prints to git (a token, a username). */
export const MAX_VALUE_BYTES = 8192;

/**
 * Control characters (Unicode's Cc: C0, DEL, C1), written as ranges: a `\p{Cc}` class builds an ICU
 * set when first used, ~1.5 M instructions on every git operation.
 */
const CONTROL = "\\x00-\\x1f\\x7f-\\x9f";
const CONTROL_CHARACTER = new RegExp(`[${CONTROL}]`);

export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}
/** Control characters, and the Unicode line separators and bidirectional overrides a terminal may act on. */
const UNSAFE = new RegExp(`[${CONTROL}\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]`, "g");

/** Text as it may be shown on a terminal: every unsafe character as \xNN or \u{…}, so it can neither act nor forge a line. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** Server text (an error message) on one short line: whitespace runs become one space, at most 200 characters. */
export function oneLine(text: string, max = 200): string {
  return escapeText(text.replace(/\s+/g, " ").trim()).slice(0, max);
}

/** Why a value cannot go on a line of git's protocol (a control character, empty, over 8 KiB), or undefined when it can. */
export function valueProblem(value: string): string | undefined {
  if (value.length === 0) return "it is empty";
  if (hasControlCharacter(value)) return "it holds a control character (a newline, CR, NUL or the like)";
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) return "it is over 8 KiB";
  return undefined;
}

/** A token as sources and caches accept it: a valid protocol value that also holds no whitespace. */
export function isCleanToken(token: string): boolean {
  return valueProblem(token) === undefined && !/\s/.test(token);
}

/** `text` with every occurrence of a known secret (8 characters or more) shown as "…" plus its last 4 characters. */
export function hideSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    // Again until none is left: a secret that repeats itself could re-form around a replacement.
    while (out.includes(secret)) out = out.split(secret).join(`…${secret.slice(-4)}`);
  }
  return out;
}
