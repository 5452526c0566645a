import { basename, dirname, join } from "node:path";
import { oldFastPathHelperWords, isOldFastPathLine } from "./old-lines";

/**
 * The fast path's credential.helper line (SPEC, "The fast path"): one short line per host, after the
 * empty reset, that sources bin/git-credential-vers-fast — a POSIX sh script that lies beside the
 * helper — in git's own `sh -c` (a function call keeps the flags as its arguments; no second shell):
 *
 *   !vers_helper=/usr/bin/git-credential-vers; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host github.com [--profile P]
 *
 * git runs it for get, store and erase. It asks git's own `git credential-cache` daemon first (a hit
 * never starts Node), then this helper, told the daemon's socket in VERS_FAST_PATH_SOCKET and the
 * configuration's fingerprint in VERS_FAST_PATH_USER so that it hands the token it serves to that
 * daemon (hand-off.ts). One daemon per cache folder (FAST_SOCKET_NAME), in the helper's own cache
 * folder and only where the helper itself would use that folder (socket-folder.ts). What changes what a
 * token is — the line's flags, HOME (the key may come from ~/.vers/keys.json) and every variable below,
 * in this order — is the fingerprint, "vers1:" then each value as <length>:<value> joined by ",", which
 * goes to the daemon as the entry's username= (matched exactly) and never to git.
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

/** The fast path's socket in the cache folder: one per folder (the fingerprint tells configurations apart). */
export const FAST_SOCKET_NAME = "fast.sock";
/** The helper's stamp in the cache folder (stamp.ts): the script asks the daemon only while its mtime is the folder's. */
export const FAST_STAMP_NAME = "fast.ok";
/** Any fast-path socket a version of ours named: fast.sock, or the cksum-named fast-<crc>-<length>.sock before it (stopped by `cache clear`, `uninstall`, the .deb's prerm). */
export const SOCKET_NAME = /^fast(?:-\d{1,10}-\d{1,10})?\.sock$/;
/** The longest fingerprint the helper accepts from the script (VERS_FAST_PATH_USER). */
export const MAX_FINGERPRINT_BYTES = 8192;

/** The script's file name; it runs the helper beside it, which must be named HELPER_NAME. */
export const FAST_SCRIPT_NAME = "git-credential-vers-fast";
export const HELPER_NAME = "git-credential-vers";

/** Where the fast path's script lies for this helper: beside it. */
export function fastScriptPath(helperPath: string): string {
  return join(dirname(helperPath), FAST_SCRIPT_NAME);
}

/** The line `install` writes for one host (after the empty reset): the script beside the helper, sourced with `args` (plain words). */
export function fastPathLines(helperPath: string, args: string[]): string[] {
  return [`!vers_helper=${shellQuote(helperPath)}; ${SOURCING} ${args.join(" ")}`.trimEnd()];
}

const SOURCING = 'vers_fast() { . "$vers_helper-fast"; }; vers_fast';
const SOURCED_LINE = /^!vers_helper=(.+?); vers_fast\(\) \{ \. "\$vers_helper-fast"; \}; vers_fast(?: (.*))?$/;

/**
 * A credential.helper value that runs `path` with `args`. git runs a value that starts with "/" as a
 * command; a path that needs quoting no longer does, so it becomes a shell snippet ("!'…' args").
 * The args are plain words (install refuses any other).
 */
export function commandValue(path: string, args: string[]): string {
  const plain = /^[A-Za-z0-9_./-]+$/.test(path);
  return `${plain ? "" : "!"}${[plain ? path : shellQuote(path), ...args].join(" ")}`;
}

/**
 * The words of a fast-path script line — the script's path and the line's flags — or undefined for any
 * other value: the line that sources the script, or the previous form that runs it (`<path>-fast flags`).
 */
export function fastPathScriptWords(value: string): string[] | undefined {
  const sourced = SOURCED_LINE.exec(value.trim());
  if (sourced) {
    const helper = shellWords(sourced[1]!);
    return helper.length === 1 && basename(helper[0]!) === HELPER_NAME ? [`${helper[0]!}-fast`, ...shellWords(sourced[2] ?? "")] : undefined;
  }
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
