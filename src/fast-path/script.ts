import { accessSync, chmodSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import SCRIPT_TEXT from "../../bin/git-credential-vers-fast?raw";
import type { Io } from "../io";
import { fastScriptPath, HELPER_NAME } from "./lines";

/** bin/git-credential-vers-fast, embedded at build: the single binary and the .deb carry it. */
export { SCRIPT_TEXT };

/**
 * For `install`: puts the fast path's script beside the helper when it is missing or differs, and
 * says in one line, when it cannot, that the plain helper line is written instead. True when the
 * script is in place.
 */
export function readyFastScript(io: Pick<Io, "uid" | "stdout">, helperPath: string): boolean {
  const why = placeFastScript(helperPath, io.uid);
  if (why) io.stdout(`the fast path's script cannot be put beside the helper (${why}): writing the plain helper line\n`);
  return why === undefined;
}

/**
 * Writes the script beside the helper (a new 0755 file renamed into place: git never runs half of one)
 * when it is missing, differs or is not executable — only into a folder of this user's that this user
 * may write. Undefined when the script is in place; else why it is not.
 */
export function placeFastScript(helperPath: string, uid: number | undefined): string | undefined {
  if (basename(helperPath) !== HELPER_NAME) return `the script runs ${HELPER_NAME} beside it, and the helper is ${basename(helperPath)}`;
  const target = fastScriptPath(helperPath);
  if (inPlace(target)) return undefined;
  const dir = dirname(target);
  try {
    if (uid !== undefined && statSync(dir).uid !== uid) return `${dir} is not yours`;
    accessSync(dir, constants.W_OK);
  } catch {
    return `${dir} is not writable`;
  }
  const temp = `${target}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, SCRIPT_TEXT, { mode: 0o755, flag: "wx" });
    chmodSync(temp, 0o755); // whatever the umask
    renameSync(temp, target);
    return undefined;
  } catch (err) {
    rmSync(temp, { force: true });
    return `${target} could not be written: ${(err as NodeJS.ErrnoException).code ?? "error"}`;
  }
}

function inPlace(target: string): boolean {
  try {
    if (readFileSync(target, "utf8") !== SCRIPT_TEXT) return false;
    accessSync(target, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
