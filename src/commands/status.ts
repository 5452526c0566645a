import { gitConfig } from "../git-config";
import type { Io } from "../io";
import { resolveSettingsLeniently, type Flags, type Settings } from "../settings";
import { checkSources } from "../status/check";
import { collectStatus, type Problem, type Status } from "../status/collect";
import { renderStatus } from "../status/render";
import { wiredHostsIn } from "../status/wired-hosts";
import { keyFilesReadableByOthers, secretsIn } from "../secrets";
import { hideSecrets } from "../text";

/**
 * `status [--json] [--check]`: what is configured and why git can or cannot authenticate. A bad
 * setting is one of the problems, not the end of the report. Exit 1 when there is any problem;
 * warnings (a key file others can read) do not fail it.
 */
export async function runStatus(io: Io, flags: Flags, options: { json?: boolean; check?: boolean }): Promise<number> {
  const { settings: given, problems: bad } = resolveSettingsLeniently(flags, io.env);
  const settings = await withWiredHosts(io, given, flags);
  const problems: Problem[] = bad.map((err) => ({ what: err.what, fix: err.hint }));
  const warnings: Problem[] = keyFilesReadableByOthers(io.homedir).map((f) => ({ what: `${f.shown} (${f.path}) is readable by group or others (mode ${f.mode})`, fix: `run chmod 600 ${f.path}` }));
  const { status: found, sources } = await collectStatus(io, settings, problems);
  const check = options.check && sources.length ? await checkSources(io, settings, sources) : undefined;
  if (check && !check.ok) problems.push({ what: check.message, fix: nonCircular(check.fix ?? "see the troubleshooting table in the README", found.source) });
  if (check?.fix) check.fix = nonCircular(check.fix, found.source);
  const { version, source: src, grants, settings: shown, cache, fleet, git } = found;
  const status: Status = { version, ok: problems.length === 0, problems, warnings, source: src, ...(grants && { grants }), settings: shown, cache, fleet, git, ...(check && { check }) };
  // Nothing in a status may show a secret, whatever text a server or library put in a problem.
  io.stdout(hideSecrets(options.json ? JSON.stringify(status, null, 2) + "\n" : renderStatus(status, io.stdoutIsTTY), secretsIn(io.env)));
  return status.ok ? 0 : 1;
}

/**
 * The hosts status looks at: every host `install` wired in any config scope git reads, with the hosts
 * configured by --host or VERS_GITHUB_HOST; with neither, the default (github.com) only when nothing is wired.
 */
async function withWiredHosts(io: Io, settings: Settings, flags: Flags): Promise<Settings> {
  let wired: string[];
  try {
    wired = await wiredHostsIn(gitConfig(io.env, io.cwd), io.helperPath);
  } catch {
    wired = []; // git is missing: every host shows "not wired"
  }
  const explicit = (flags.host?.length ?? 0) > 0 || Boolean(io.env.VERS_GITHUB_HOST?.trim());
  const hosts = explicit ? [...new Set([...settings.hosts, ...wired])] : wired.length ? wired : settings.hosts;
  return { ...settings, hosts };
}

/** Advice given from inside status must not be "run status": name where the key came from instead. */
function nonCircular(fix: string, source: Record<string, string | null>): string {
  if (!/\bgit-credential-vers status\b/.test(fix)) return fix;
  const rest = fix.replace(/[;,]?\s*`?git-credential-vers status`?[^;()]*/, "").trim();
  return source.keyFrom ? `${rest || "check the key"}: it came from ${source.keyFrom}` : rest || "see the troubleshooting table in the README";
}
