import { cacheFolder } from "../cache/folder";
import { credentialCacheAvailable, stopDaemons } from "../fast-path/daemons";
import { fastPathLines } from "../fast-path/lines";
import { gitConfig, type ConfigScope, type GitConfig } from "../git-config";
import { helperValue, isOurs } from "../helper-lines";
import type { Io } from "../io";
import { profilePermissions } from "../profiles";
import { resolveHosts, type Flags } from "../settings";

export interface InstallOptions {
  global?: boolean;
  system?: boolean;
  local?: boolean;
  perRepo?: boolean;
  /** false with --no-fast-path: the plain helper line only. */
  fastPath?: boolean;
}

interface Plan {
  config: GitConfig;
  scope: ConfigScope;
  hosts: string[];
  /** This helper's absolute path, and its --profile flag, if any. */
  path: string;
  profileArgs: string[];
}

/**
 * `install`: for each host, `credential.https://H.helper` gets an empty value (so a generic
 * `credential.helper=store` cannot capture our short-lived tokens), then the fast path — git's
 * credential-cache daemon, then this helper (fast-path/lines.ts) — or, with --no-fast-path or where
 * git has no credential-cache, this helper alone. Each line names its host (--host H), so the helper
 * answers for exactly the host it is wired for. `useHttpPath = true` with --per-repo. Idempotent.
 */
export async function runInstall(io: Io, flags: Flags, options: InstallOptions): Promise<void> {
  const plan = makePlan(io, flags, options);
  let fast = options.fastPath !== false;
  if (fast && !(await credentialCacheAvailable(io.env, cacheFolder(io).dir))) {
    io.stdout("git credential-cache is not available here (git without Unix sockets): writing the plain helper line\n");
    fast = false;
  }
  for (const host of plan.hosts) {
    const args = ["--host", host, ...plan.profileArgs];
    const ours = fast ? fastPathLines(plan.path, args) : [helperValue(plan.path, args)];
    const key = `credential.https://${host}.helper`;
    const values = await plan.config.getAll(key);
    const wanted = [...withoutOurs(values, plan.path), "", ...ours];
    if (sameList(values, wanted)) {
      io.stdout(`${host}: already installed (${plan.scope})\n`);
    } else {
      await rewrite(plan.config, key, wanted);
      io.stdout(`${host}: git now asks ${fast ? "the fast path (git credential-cache), then " : ""}${helperValue(plan.path, args)} (${plan.scope} config)\n`);
    }
    if (options.perRepo) await setUseHttpPath(plan.config, host);
  }
}

/** `uninstall`: removes what install wrote (with the same flags), either form, and nothing else; stops the fast path's daemons. */
export async function runUninstall(io: Io, flags: Flags, options: InstallOptions): Promise<void> {
  const plan = makePlan(io, flags, options);
  for (const host of plan.hosts) {
    const key = `credential.https://${host}.helper`;
    const values = await plan.config.getAll(key);
    const kept = withoutOurs(values, plan.path);
    if (!sameList(values, kept)) await rewrite(plan.config, key, kept);
    const pathKey = `credential.https://${host}.useHttpPath`;
    if (options.perRepo && (await plan.config.getAll(pathKey)).join() === "true") await plan.config.unsetAll(pathKey);
    const left = await plan.config.getRegexp(`^credential\\.https://${escapeRegex(host)}\\.`);
    if (left.length === 0) await plan.config.removeSection(`credential.https://${host}`);
    io.stdout(sameList(values, kept) ? `${host}: was not installed (${plan.scope})\n` : `${host}: removed (${plan.scope} config)\n`);
  }
  const folder = cacheFolder(io);
  if (!folder.problem) await stopDaemons(folder.dir, io.env);
}

function makePlan(io: Io, flags: Flags, options: InstallOptions): Plan {
  const scope: ConfigScope = options.system ? "system" : options.local ? "local" : "global";
  const hosts = resolveHosts({ host: flags.host }, io.env);
  if (flags.profile) profilePermissions(flags.profile);
  return { config: gitConfig(io.env, io.cwd, scope), scope, hosts, path: io.helperPath, profileArgs: flags.profile ? ["--profile", flags.profile] : [] };
}

/** The list without any line of ours (plain, fast path, whatever its flags) and the empty reset directly before them. */
function withoutOurs(values: string[], helperPath: string): string[] {
  const out: string[] = [];
  for (const value of values) {
    if (isOurs(value, helperPath)) {
      if (out.at(-1) === "") out.pop();
      continue;
    }
    out.push(value);
  }
  return out;
}

async function rewrite(config: GitConfig, key: string, values: string[]): Promise<void> {
  await config.unsetAll(key);
  for (const value of values) await config.add(key, value);
}

async function setUseHttpPath(config: GitConfig, host: string): Promise<void> {
  const key = `credential.https://${host}.useHttpPath`;
  if ((await config.getAll(key)).join() !== "true") await rewrite(config, key, ["true"]);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
