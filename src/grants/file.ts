import { mkdirSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { lockWithin, type HeldLock } from "../cache/lock";
import { Deadline } from "../deadline";
import { HelperError, isHelperError } from "../errors";
import type { Io } from "../io";
import { folderProblem, readOwnFile, replaceFile } from "../safe-files";
import { homeFile } from "../secrets";
import { checkGrant, storedGrant, type Grant } from "./grant";

/** Where grants are kept: VERS_GRANTS_FILE, else ~/.vers/grants.json; `shown` names it in messages. */
export interface GrantsFile {
  path: string;
  shown: string;
}

const LOCK_WAIT_MS = 5000;

/**
 * The grants file, or undefined when HOME is not an absolute path and VERS_GRANTS_FILE is unset (a
 * relative one would be read from whatever folder git runs in). A relative VERS_GRANTS_FILE is refused.
 */
export function grantsFile(io: Pick<Io, "env" | "homedir">): GrantsFile | undefined {
  const fromEnv = io.env.VERS_GRANTS_FILE?.trim();
  if (fromEnv) {
    if (!isAbsolute(fromEnv)) throw new HelperError("bad-setting", `VERS_GRANTS_FILE "${fromEnv.slice(0, 200)}" is not an absolute path`, "set it to an absolute path, or unset it for ~/.vers/grants.json");
    return { path: fromEnv, shown: fromEnv };
  }
  const path = homeFile(io.homedir, ".vers", "grants.json");
  return path === undefined ? undefined : { path, shown: "~/.vers/grants.json" };
}

/**
 * The grants in the file ([] when there is none). Checked like the cache folder: its folder and the file
 * must be this user's and not writable (the file: not readable either) by group or others, the file a
 * regular file of at most 64 KiB, never read through a link. Anything else is an error naming the file.
 */
export function readGrants(file: GrantsFile, uid: number | undefined): Grant[] {
  const problem = folderProblem(dirname(file.path), uid);
  if (problem) throw fileError(file, `is in a folder that cannot be trusted: ${problem}`, `run chmod 700 ${dirname(file.path)}`);
  const read = readOwnFile(file.path, uid);
  if ("problem" in read) {
    if (read.problem === "missing") return [];
    throw fileError(file, `is ${read.problem === "not yours" ? "not owned by you" : read.problem === "too large" ? "over 64 KiB" : read.problem}`, `replace it with a regular file of your own, mode 600`);
  }
  if (read.mode & 0o077) {
    throw fileError(file, `is readable or writable by group or others (mode ${(read.mode & 0o777).toString(8)}), so its grants are not used`, `run chmod 600 ${file.path}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(read.text);
  } catch {
    throw fileError(file, "is not JSON", `fix it, or remove it and add the grants again with git-credential-vers grant add`);
  }
  const list = (data as { grants?: unknown } | null)?.grants;
  if (!Array.isArray(list)) throw fileError(file, 'has no "grants" list', 'it should look like {"grants":[{"repository":…,"refresh_token":…,"token_endpoint":…,"host":…}]}');
  return list.map((entry: unknown, i) => {
    const e = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    const grant = checkGrant({ repository: e.repository, refreshToken: e.refresh_token, tokenEndpoint: e.token_endpoint, clientId: e.client_id, revokeEndpoint: e.revoke_endpoint, host: e.host, lineage: e.lineage }, file.shown);
    if (typeof grant === "string") throw fileError(file, `has a bad grant (number ${i + 1}): ${grant}`, "fix or remove that grant");
    return grant;
  });
}

/**
 * Read-modify-write under the file's own lock (`<file>.lock`, the cache's lock library), so that two
 * processes rotating two grants at once cannot lose one another's: creates the folder (0700) if needed,
 * reads the grants again, applies `change` and writes the file atomically (0600).
 */
export async function updateGrants(io: Pick<Io, "env" | "homedir" | "uid" | "now" | "sleep">, change: (grants: Grant[]) => Grant[]): Promise<GrantsFile> {
  const file = grantsFile(io);
  if (!file) throw new HelperError("bad-setting", "there is nowhere to keep grants: HOME is not an absolute path", "set HOME, or VERS_GRANTS_FILE to an absolute path");
  const dir = dirname(file.path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fileError(file, `cannot be written: its folder cannot be made (${(err as NodeJS.ErrnoException).code ?? "error"})`, `check the permissions of ${dirname(dir)}`);
  }
  const lock = await lockFile(io, file);
  try {
    const grants = change(readGrants(file, io.uid));
    replaceFile(file.path, JSON.stringify({ grants: grants.map(storedGrant) }, null, 2) + "\n");
    return file;
  } catch (err) {
    if (isHelperError(err)) throw err;
    throw fileError(file, `cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, `check the disk and the permissions of ${dir}`);
  } finally {
    await lock.release();
  }
}

async function lockFile(io: Pick<Io, "now" | "sleep">, file: GrantsFile): Promise<HeldLock> {
  const lock = await lockWithin(file.path, Deadline.in(LOCK_WAIT_MS, io.now), io.now, io.sleep).catch((err: NodeJS.ErrnoException) => {
    throw fileError(file, `cannot be locked (${err.code ?? err.message})`, `check the permissions of ${dirname(file.path)}`);
  });
  if (lock === "busy") throw fileError(file, "is locked by another git-credential-vers", `try again; remove ${file.path}.lock if no other process is running`);
  return lock;
}

function fileError(file: GrantsFile, what: string, hint: string): HelperError {
  const where = file.shown === file.path ? file.path : `${file.shown} (${file.path})`;
  return new HelperError("bad-setting", `the grants file ${where} ${what}`, hint);
}
