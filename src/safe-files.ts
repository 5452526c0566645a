import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Files that hold secrets (cache entries, refresh grants): read without following a link, only when
 * they are regular files of this user's, of bounded size; written to a new 0600 temporary file and
 * renamed into place, so a reader never sees half of one.
 */

export const FILE_MODE = 0o600;
/** No file the helper writes is larger; anything larger is not ours. */
export const MAX_FILE_BYTES = 64 * 1024;

/** A file read without following a link: its text and mode, or why it was not read. */
export type FileRead =
  | { text: string; mode: number }
  | { problem: "missing" | "a symbolic link" | "not a regular file" | "not yours" | "too large" | "unreadable" };

/**
 * Why a folder that holds secrets cannot be trusted, or undefined when it can (or does not exist yet):
 * a symbolic link, not a folder, another owner, writable by group or others, or inside a folder others
 * may replace it in (writable by others, no sticky bit).
 */
export function folderProblem(dir: string, uid: number | undefined): string | undefined {
  try {
    const parent = statSync(dirname(dir));
    if (parent.mode & 0o002 && !(parent.mode & 0o1000)) return `${dirname(dir)} is writable by others`;
  } catch {
    // No parent yet: the first write creates it.
  }
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a folder`;
  if (uid !== undefined && st.uid !== uid) return `${dir} is owned by uid ${st.uid}, not you (uid ${uid})`;
  if (st.mode & 0o022) return `${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** Opens without following a link and without blocking (a FIFO), then reads only a regular file owned by `uid`, of at most `maxBytes`. */
export function readOwnFile(path: string, uid: number | undefined, maxBytes = MAX_FILE_BYTES): FileRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === "ENOENT" || code === "ENOTDIR" ? "missing" : code === "ELOOP" ? "a symbolic link" : "unreadable" };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { problem: "not a regular file" };
    if (uid !== undefined && st.uid !== uid) return { problem: "not yours" };
    if (st.size > maxBytes) return { problem: "too large" };
    return { text: readUpTo(fd, st.size), mode: st.mode };
  } catch {
    return { problem: "unreadable" };
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `text` to a new temporary file (0600, created exclusively: a link in its place is not
 * followed) beside `target` and renames it over `target`. Throws when it cannot, leaving no temp file.
 */
export function replaceFile(target: string, text: string): void {
  const temp = `${target}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, text, { mode: FILE_MODE, flag: "wx" });
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * A file the user points the helper at (a key file, a private key): opened without blocking and read
 * only if it is a regular file (a link to one is fine: dotfiles are often links) of at most
 * `maxBytes`, with its mode (of the file opened, not of whatever the path names later). A FIFO or a device in its place would otherwise hold the helper past any deadline, or
 * read without end. Throws an error whose `code` says why not: ENOENT, EISDIR, EACCES, "not a regular
 * file", "over N KiB".
 */
export function readRegularFile(path: string, maxBytes = MAX_FILE_BYTES): { text: string; mode: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error(`${path} is a folder`), { code: "EISDIR" });
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: "not a regular file" });
    if (st.size > maxBytes) throw Object.assign(new Error(`${path} is too large`), { code: `over ${Math.floor(maxBytes / 1024)} KiB` });
    return { text: readUpTo(fd, st.size), mode: st.mode };
  } finally {
    closeSync(fd);
  }
}

/** Up to `size` bytes of an open file, as UTF-8 (less if it shrank meanwhile). */
function readUpTo(fd: number, size: number): string {
  const buf = Buffer.alloc(size);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got).toString("utf8");
}
