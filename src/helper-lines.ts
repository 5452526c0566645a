import { basename } from "node:path";
import { commandValue, fastPathHelperWords, isFastPathLine } from "./fast-path/lines";

/**
 * The plain credential.helper value that runs this helper. git runs an absolute path as is; a path
 * that needs quoting no longer starts with "/", so it must become a shell snippet ("!'…' args").
 */
export function helperValue(path: string, args: string[]): string {
  return commandValue(path, args);
}

/**
 * The words of a helper value that runs this program — `git-credential-vers …`, a path to it,
 * `!'path' …`, `vers`, or a fast-path line (the helper beside its script, or the first fast path's
 * helper line) — or undefined for any other value.
 */
export function ourHelperWords(helper: string, helperPath: string): string[] | undefined {
  const words = fastPathHelperWords(helper) ?? plainWords(helper);
  const first = words[0] ?? "";
  return first === helperPath || first === "vers" || basename(first) === "git-credential-vers" ? words : undefined;
}

/** True for any line install may have written: this helper's plain line, the fast path's line, or either line of the first fast path. */
export function isOurs(helper: string, helperPath: string): boolean {
  return isFastPathLine(helper) || ourHelperWords(helper, helperPath) !== undefined;
}

/** The values of one flag among a line's words (`--host a`, `--host=a`). */
export function flagValues(words: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === flag && words[i + 1] !== undefined) out.push(words[++i]!);
    else if (words[i]!.startsWith(`${flag}=`)) out.push(words[i]!.slice(flag.length + 1));
  }
  return out;
}

function plainWords(helper: string): string[] {
  const value = helper.trim().replace(/^!/, "");
  if (value.startsWith("'")) {
    const end = value.indexOf("'", 1);
    return [value.slice(1, end < 0 ? undefined : end), ...value.slice(end + 1).trim().split(/\s+/).filter(Boolean)];
  }
  return value.split(/\s+/).filter(Boolean);
}
