import { gitConfig, type ConfigScope, type GitConfig } from "../git-config";
import type { Io } from "../io";
import { profilePermissions } from "../profiles";
import { resolveSettings, type Flags } from "../settings";
import { helperValue, isOurs } from "../helper-lines";

export interface InstallOptions {
  global?: boolean;
  system?: boolean;
  local?: boolean;
  perRepo?: boolean;
}

interface Plan {
  config: GitConfig;
  scope: ConfigScope;
  hosts: string[];
  /** This helper's absolute path, and the value written for git (path plus --profile). */
  path: string;
  helper: string;
}

/**
 * `install`: for each host, `credential.https://H.helper` gets an empty value (so a generic
 * `credential.helper=store` cannot capture our short-lived tokens) followed by this helper,
 * and `useHttpPath = true` with --per-repo. Running it twice changes nothing.
 */
export async function runInstall(io: Io, flags: Flags, options: InstallOptions): Promise<void> {
  const plan = makePlan(io, flags, options);
  for (const host of plan.hosts) {
    const key = `credential.https://${host}.helper`;
    const values = await plan.config.getAll(key);
    const wanted = [...withoutOurs(values, plan.path), "", plan.helper];
    if (sameList(values, wanted)) {
      io.stdout(`${host}: already installed (${plan.scope})\n`);
    } else {
      await rewrite(plan.config, key, wanted);
      io.stdout(`${host}: git now asks ${plan.helper} (${plan.scope} config)\n`);
    }
    if (options.perRepo) await setUseHttpPath(plan.config, host);
  }
}

/** `uninstall`: removes what install wrote (with the same flags) and nothing else. */
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
}

function makePlan(io: Io, flags: Flags, options: InstallOptions): Plan {
  const scope: ConfigScope = options.system ? "system" : options.local ? "local" : "global";
  const settings = resolveSettings({ host: flags.host }, io.env);
  if (flags.profile) profilePermissions(flags.profile);
  const helper = helperValue(io.helperPath, flags.profile ? ["--profile", flags.profile] : []);
  return { config: gitConfig(io.env, io.cwd, scope), scope, hosts: settings.hosts, path: io.helperPath, helper };
}

/** The list without any line of ours (whatever its --profile) and the empty reset directly before it. */
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
