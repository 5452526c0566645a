import { closeSync, constants, fstatSync, futimesSync, lstatSync, openSync } from "node:fs";
import { join } from "node:path";
import { FAST_SOCKET_NAME, FAST_STAMP_NAME } from "./lines";
import { socketFolderProblem } from "./socket-folder";

/**
 * Vouches for the fast path's folder to bin/git-credential-vers-fast, which reads no mode (a hit runs
 * only builtins and `git credential-cache`, to stay as fast as `git credential-store`): checks the
 * folder as fully as a hand-off does (socketFolderProblem: this user's, 0700, not a link, in a parent
 * others cannot replace it in) and that fast.sock is this user's socket, then gives the folder and
 * fast.ok (FAST_STAMP_NAME, an empty 0600 file) one mtime T, a whole second before the folder's last
 * change. The script asks the daemon only while the two mtimes are equal. Creating, removing or
 * renaming anything in the folder afterwards gives it the clock's time, later than T (even where a
 * shell compares whole seconds), so a socket put there by anyone — which in a folder that became
 * writable by others would be theirs to place — is never asked until the helper has checked again;
 * a `get` run by the script then stamps anew after its hand-off. Checked once more after stamping: a
 * folder whose mode changed meanwhile loses its stamp. Returns why it did not stamp, or undefined.
 */
export function stampFolder(dir: string, uid: number | undefined): string | undefined {
  const problem = socketFolderProblem(dir, uid) ?? socketProblem(join(dir, FAST_SOCKET_NAME), uid);
  if (problem) return problem;
  let stamp: number | undefined;
  let folder: number | undefined;
  try {
    // O_NOFOLLOW: never through a link; O_NONBLOCK: a FIFO put here does not block the open.
    stamp = openSync(join(dir, FAST_STAMP_NAME), constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
    const file = fstatSync(stamp);
    if (!file.isFile() || (uid !== undefined && file.uid !== uid)) return `${join(dir, FAST_STAMP_NAME)} is not a file of yours`;
    folder = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    const t = Math.floor(fstatSync(folder).mtimeMs / 1000) - 1;
    futimesSync(stamp, t, t);
    futimesSync(folder, fstatSync(folder).atime, t);
    // The mode may have changed while stamping (the owner's chmod): then no stamp.
    const again = socketFolderProblem(dir, uid);
    if (again || fstatSync(folder).mtimeMs !== t * 1000) {
      futimesSync(stamp, new Date(), new Date());
      return again ?? `${dir} changed while it was stamped`;
    }
    return undefined;
  } catch (error) {
    return `${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  } finally {
    if (stamp !== undefined) closeSync(stamp);
    if (folder !== undefined) closeSync(folder);
  }
}

/** Why `path` is not a socket of this user's (not following a link), or undefined when it is. */
export function socketProblem(path: string, uid: number | undefined): string | undefined {
  try {
    const s = lstatSync(path);
    return s.isSocket() && (uid === undefined || s.uid === uid) ? undefined : `${path} is not a socket of yours`;
  } catch {
    return `${path} does not exist`;
  }
}
