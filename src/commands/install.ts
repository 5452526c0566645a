import { cacheFolder } from "../cache/folder";
import { credentialCacheAvailable, stopDaemons } from "../fast-path/daemons";
import { fastPathLines } from "../fast-path/lines";
import { readyFastScript } from "../fast-path/script";
import { gitConfig, type GitConfig } from "../git-config";
import { helperValue, isOurs, ourHelperWords } from "../helper-lines";
import type { Io } from "../io";
import { profilePermissions } from "../profiles";
import { resolveHosts, type Flags } from "../settings";
import { PER_REPO_MARK } from "../argv";
import { wiredHostsIn } from "../status/wired-hosts";
import { installProblem, lineArgs, scopeOf, usage, type InstallOptions } from "./install-flags";

export type { InstallOptions };

/**
 * `install`: for each host, `credential.https://H.helper` gets an empty value (so a generic
 * `credential.helper=store` cannot capture our short-lived tokens), then the fast path (fast-path/lines.ts:
 * the script beside the helper) — or, with --no-fast-path, where git has no credential-cache or where the
 * script cannot be put beside the helper, this helper alone. Each line names the
 * hosts of this install (--host H …, see lineArgs) and carries every setting flag given (anything it cannot carry is refused, exit 2), so
 * git runs the helper as it was installed. With --per-repo, `useHttpPath = true` — and, when install is
 * what set it, `--per-repo` on the line, so that uninstall knows the setting is ours. Idempotent.
 */
export async function runInstall(io: Io, flags: Flags, options: InstallOptions): Promise<number> {
  const refused = installProblem(flags, options);
  if (refused) return usage(io, refused);
  const scope = scopeOf(options);
  const config = gitConfig(io.env, io.cwd, scope);
  const hosts = resolveHosts({ host: flags.host }, io.env);
  if (flags.profile) profilePermissions(flags.profile);
  let fast = options.fastPath !== false;
  if (fast && !(await credentialCacheAvailable(io.env, cacheFolder(io).dir))) {
    io.stdout("git credential-cache is not available here (git without Unix sockets): writing the plain helper line\n");
    fast = false;
  }
  if (fast) fast = readyFastScript(io, io.helperPath);
  for (const host of hosts) {
    const key = `credential.https://${host}.helper`;
    const values = await config.getAll(key);
    const { kept, removed } = withoutOurs(values, io.helperPath);
    const setPathBefore = removed.some((line) => marksPerRepo(line, io.helperPath));
    const pathKey = `credential.https://${host}.useHttpPath`;
    const pathValues = await config.getAll(pathKey);
    // useHttpPath is ours when install set it before, or when it is not already the user's "true".
    const ownsPath = options.perRepo === true && (setPathBefore || pathValues.join() !== "true");
    const args = [...lineArgs(hosts, flags), ...(ownsPath ? [PER_REPO_MARK] : [])];
    const ours = fast ? fastPathLines(io.helperPath, args) : [helperValue(io.helperPath, args)];
    const wanted = [...kept, "", ...ours];
    if (sameList(values, wanted)) {
      io.stdout(`${host}: already installed (${scope} config)\n`);
    } else {
      await rewrite(config, key, wanted);
      io.stdout(`${host}: git now asks ${fast ? "the fast path (git credential-cache), then " : ""}${helperValue(io.helperPath, args)} (${scope} config)\n`);
    }
    if (ownsPath && pathValues.join() !== "true") await rewrite(config, pathKey, ["true"]);
    // Installed again without --per-repo: the useHttpPath an earlier install set goes with its line.
    if (!options.perRepo && setPathBefore && pathValues.join() === "true") await config.unsetAll(pathKey);
  }
  return 0;
}

/**
 * `uninstall`: removes what install wrote, in either form and whatever its flags: our lines, the one
 * empty reset install put directly before them, the useHttpPath install set (the line says so), and the
 * section when nothing is left in it. A reset or useHttpPath of the user's stays. Without --host, every
 * host wired in that scope. Stops the fast path's daemons.
 */
export async function runUninstall(io: Io, flags: Flags, options: InstallOptions): Promise<number> {
  const refused = installProblem({}, options);
  if (refused) return usage(io, refused);
  const scope = scopeOf(options);
  const config = gitConfig(io.env, io.cwd, scope);
  const hosts = flags.host?.length ? resolveHosts({ host: flags.host }, io.env) : await wiredHostsIn(config, io.helperPath);
  if (hosts.length === 0) io.stdout(`nothing to remove: no host is wired to this helper in the ${scope} config\n`);
  for (const host of hosts) {
    const key = `credential.https://${host}.helper`;
    const values = await config.getAll(key);
    const { kept, removed } = withoutOurs(values, io.helperPath);
    if (removed.length) await rewrite(config, key, kept);
    const pathKey = `credential.https://${host}.useHttpPath`;
    if (removed.some((line) => marksPerRepo(line, io.helperPath)) && (await config.getAll(pathKey)).join() === "true") await config.unsetAll(pathKey);
    const left = await config.getRegexp(`^credential\\.https://${escapeRegex(host)}\\.`);
    if (left.length === 0) await config.removeSection(`credential.https://${host}`);
    io.stdout(removed.length ? `${host}: removed (${scope} config)\n` : `${host}: was not installed (${scope} config)\n`);
  }
  const folder = cacheFolder(io);
  if (!folder.problem) await stopDaemons(folder.dir, io.env);
  return 0;
}

/**
 * The list without our lines (plain, fast path, whatever their flags), and without the one empty reset
 * directly before each run of them — install always writes its own reset there, so a reset of the
 * user's before it (or anywhere else) stays.
 */
function withoutOurs(values: string[], helperPath: string): { kept: string[]; removed: string[] } {
  const kept: string[] = [];
  const removed: string[] = [];
  let inRun = false;
  for (const value of values) {
    if (isOurs(value, helperPath)) {
      if (!inRun && kept.at(-1) === "") kept.pop();
      inRun = true;
      removed.push(value);
      continue;
    }
    inRun = false;
    kept.push(value);
  }
  return { kept, removed };
}

function marksPerRepo(line: string, helperPath: string): boolean {
  return ourHelperWords(line, helperPath)?.includes(PER_REPO_MARK) ?? false;
}

async function rewrite(config: GitConfig, key: string, values: string[]): Promise<void> {
  await config.unsetAll(key);
  for (const value of values) await config.add(key, value);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
