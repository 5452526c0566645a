import { basename, dirname, join } from "node:path";
import { oldFastPathHelperWords, isOldFastPathLine } from "./old-lines";

/**
 * The fast path's credential.helper line (SPEC, "The fast path"): one short line per host, after the
 * empty reset, that runs bin/git-credential-vers-fast — a POSIX sh script that lies beside the helper:
 *
 *   /usr/bin/git-credential-vers-fast --host github.com [--profile P]
 *
 * git runs it for get, store and erase. It asks git's own `git credential-cache` daemon first (a hit
 * never starts Node), then this helper, told the daemon's socket in VERS_FAST_PATH_SOCKET so that it
 * hands the token it serves to that daemon (hand-off.ts). The script computes the socket: one daemon
 * per configuration that changes what a token is — the line's flags, HOME (the key may come from
 * ~/.vers/keys.json) and every variable below, in this order, through POSIX `cksum` — in the helper's
 * own cache folder, and only where the helper itself would use that folder (socket-folder.ts).
 */
export const FINGERPRINT_VARIABLES = [
  "VERS_GITHUB_PROFILE",
  "VERS_TOKEN_SOURCE",
  "VERS_BASE_URL",
  "VERS_API_KEY",
  "VERS_GITHUB_HOST",
  "VERS_REFRESH_MARGIN",
  "GITHUB_APP_ID",
  "GITHUB_INSTALLATION_ID",
  "GITHUB_API_URL",
  "VERS_REFRESH_TOKEN",
  "VERS_GRANT_REPOSITORY",
  "VERS_TOKEN_ENDPOINT",
  "VERS_GRANTS_FILE",
] as const;

/** A fast-path socket's file name in the cache folder: fast-<cksum CRC>-<length>.sock. */
export const SOCKET_NAME = /^fast-\d{1,10}-\d{1,10}\.sock$/;

/** The script's file name; it runs the helper beside it, which must be named HELPER_NAME. */
export const FAST_SCRIPT_NAME = "git-credential-vers-fast";
export const HELPER_NAME = "git-credential-vers";

/** Where the fast path's script lies for this helper: beside it. */
export function fastScriptPath(helperPath: string): string {
  return join(dirname(helperPath), FAST_SCRIPT_NAME);
}

/** The line `install` writes for one host (after the empty reset): the script beside the helper, with `args`. */
export function fastPathLines(helperPath: string, args: string[]): string[] {
  return [commandValue(fastScriptPath(helperPath), args)];
}

/**
 * A credential.helper value that runs `path` with `args`. git runs a value that starts with "/" as a
 * command; a path that needs quoting no longer does, so it becomes a shell snippet ("!'…' args").
 * The args are plain words (install refuses any other).
 */
export function commandValue(path: string, args: string[]): string {
  const plain = /^[A-Za-z0-9_./-]+$/.test(path);
  return `${plain ? "" : "!"}${[plain ? path : shellQuote(path), ...args].join(" ")}`;
}

/** The words of a fast-path script line (its path and flags), or undefined for any other value. */
export function fastPathScriptWords(value: string): string[] | undefined {
  const words = shellWords(value.trim().replace(/^!/, ""));
  return words[0] !== undefined && basename(words[0]) === FAST_SCRIPT_NAME ? words : undefined;
}

/** True for a line that asks the fast path's daemon: the script line, or the first fast path's daemon line. */
export function isFastPathLine(value: string): boolean {
  return fastPathScriptWords(value) !== undefined || isOldFastPathLine(value);
}

/**
 * The helper command a fast-path line runs, as words (its path and flags): for the script line, the
 * helper beside the script; for the first fast path's helper line, the command in it. Undefined for
 * any other value.
 */
export function fastPathHelperWords(value: string): string[] | undefined {
  const script = fastPathScriptWords(value);
  if (script) return [join(dirname(script[0]!), HELPER_NAME), ...script.slice(1)];
  return oldFastPathHelperWords(value, shellWords);
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Splits a command as sh would: whitespace between words, '…' quoting, \ escaping the next character. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? "") + text.slice(i + 1, end < 0 ? text.length : end);
      i = end < 0 ? text.length : end;
    } else if (c === "\\") {
      word = (word ?? "") + (text[++i] ?? "");
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
