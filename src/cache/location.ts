import envPaths from "env-paths";

/** $XDG_CACHE_HOME/git-credential-vers (~/.cache/git-credential-vers by default), via env-paths. */
export function cacheDir(): string {
  return envPaths("git-credential-vers", { suffix: "" }).cache;
}
