import { errorLine, HelperError } from "../errors";
import { shellQuote } from "../fast-path/lines";
import type { ConfigScope } from "../git-config";
import type { Io } from "../io";
import { OPTIONS } from "../options";
import { resolveSettings, type Flags } from "../settings";

/** install's and uninstall's own options (the settings flags are Flags). */
export interface InstallOptions {
  global?: boolean;
  system?: boolean;
  local?: boolean;
  perRepo?: boolean;
  /** false with --no-fast-path: the plain helper line only. */
  fastPath?: boolean;
}

/** The config file install and uninstall write: exactly one of --global (the default), --system, --local. */
export function scopeOf(options: InstallOptions): ConfigScope {
  return options.system ? "system" : options.local ? "local" : "global";
}

/**
 * The flags of the helper line: `--host` for every host this install wires, in the order given (the
 * same on each host's line: a source that mints for one host serves the first, so a broker's token for
 * github.com never answers another host wired beside it), then every setting flag given, in the option
 * table's order, so that git runs the helper with the settings it was installed with.
 */
export function lineArgs(hosts: readonly string[], flags: Flags): string[] {
  const args = hosts.flatMap((h) => ["--host", h]);
  for (const o of OPTIONS) {
    const value = flags[o.key];
    if (o.key === "host" || value === undefined || value === false) continue;
    args.push(...(value === true ? [`--${o.flag}`] : [`--${o.flag}`, String(value)]));
  }
  return args;
}

/**
 * Why install cannot do what its flags ask, or undefined: two config scopes at once, a setting whose
 * value is not valid, a value a helper line cannot carry as one plain word, or a secret, which never
 * goes into git's config (any program of the user's reads it; `git config --list` prints it).
 */
export function installProblem(flags: Flags, options: InstallOptions): HelperError | undefined {
  const scopes = (["global", "system", "local"] as const).filter((s) => options[s]);
  if (scopes.length > 1) return usageError(`--${scopes.join(" and --")} name different config files`, "give one of --global (the default), --system or --local");
  const redisUrl = flags.redisUrl;
  if (redisUrl !== undefined && /^[a-z+-]+:\/\/[^/@]*@/i.test(redisUrl.trim())) {
    return usageError("--redis-url holds a password (or user), which install would write into git's config, readable by every program of yours", "set VERS_REDIS_URL in the environment instead, and give install no --redis-url");
  }
  try {
    resolveSettings(flags, {});
  } catch (err) {
    if (err instanceof HelperError) return usageError(err.what, err.hint);
    throw err;
  }
  for (const o of OPTIONS) {
    const value = flags[o.key];
    for (const v of typeof value === "string" ? [value] : Array.isArray(value) ? value : []) {
      if (shellQuote(v) !== v) return usageError(`--${o.flag} "${v.slice(0, 200)}" cannot be written on a helper line (it holds characters the shell would read)`, `set ${o.env} in the environment instead`);
    }
  }
  return undefined;
}

/** Prints a refusal of the command line: one line, exit 2. */
export function usage(io: Io, err: HelperError): number {
  io.stderr(errorLine(err));
  return 2;
}

function usageError(what: string, hint: string): HelperError {
  return new HelperError("bad-setting", what, hint);
}
