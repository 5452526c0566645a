import { isAbsolute } from "node:path";
import type { Io } from "../io";
import { folderProblem } from "../safe-files";

/** The cache folder (env-paths: $XDG_CACHE_HOME/git-credential-vers), and why it cannot be used, if it cannot. */
export interface CacheFolder {
  dir: string;
  problem?: { what: string; fix: string };
}

/**
 * A folder that is not an absolute path is never used: with HOME empty or relative it would lie in
 * whatever folder git runs in (a repository). A folder that is a link, someone else's, or writable by
 * others is not used either. Either way the helper goes on without a cache.
 */
export function cacheFolder(io: Pick<Io, "cacheDir" | "uid">): CacheFolder {
  const dir = io.cacheDir;
  if (!isAbsolute(dir)) {
    return { dir, problem: { what: `not using the cache: its folder "${dir}" is not an absolute path`, fix: "set HOME, or XDG_CACHE_HOME, to an absolute path" } };
  }
  const problem = folderProblem(dir, io.uid);
  return problem ? { dir, problem: { what: `not using the cache: ${problem}`, fix: `run chmod 700 ${dir}, or remove it` } } : { dir };
}
