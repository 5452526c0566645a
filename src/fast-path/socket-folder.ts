import { lstatSync } from "node:fs";
import type { Env } from "../io";
import { folderProblem } from "../safe-files";

/**
 * The folder bin/git-credential-vers-fast puts its sockets in, computed as the script does:
 * ${XDG_CACHE_HOME:-$HOME/.cache}/git-credential-vers, from an absolute path only (an empty or
 * relative HOME gives none, as it gives the helper no cache folder), one trailing "/" of each dropped, and none
 * at all from a path with "//", "." or ".." in it (which Node would normalise and the kernel would not
 * read the same way through a link). Undefined where the script uses no socket.
 */
export function fastPathFolder(env: Env): string | undefined {
  let base = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME.replace(/\/$/, "")}/.cache` : "");
  if (!base.startsWith("/")) return undefined;
  base = base.replace(/\/$/, "");
  if (/\/\/|\/\.{1,2}\//.test(`${base}/`)) return undefined;
  return `${base}/git-credential-vers`;
}

/**
 * Why a fast-path socket may not live in `dir`, or undefined when it may: the rules of the helper's
 * cache folder (safe-files.ts: not a link, this user's, not writable by others, in a parent others
 * cannot replace it in) and, as the script checks, no group or other bits at all — and it must exist.
 */
export function socketFolderProblem(dir: string, uid: number | undefined): string | undefined {
  const problem = folderProblem(dir, uid);
  if (problem) return problem;
  let mode: number;
  try {
    mode = lstatSync(dir).mode;
  } catch {
    return `${dir} does not exist`;
  }
  return mode & 0o077 ? `${dir} is open to group or others (mode ${(mode & 0o777).toString(8)})` : undefined;
}
