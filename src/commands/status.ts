import type { Io } from "../io";
import { resolveSettingsLeniently, type Flags } from "../settings";
import { checkSources } from "../status/check";
import { collectStatus, type Problem, type Status } from "../status/collect";
import { renderStatus } from "../status/render";
import { secretsIn } from "../secrets";
import { hideSecrets } from "../text";

/**
 * `status [--json] [--check]`: what is configured and why git can or cannot authenticate. A bad
 * setting is one of the problems, not the end of the report. Exit 1 when there is any problem.
 */
export async function runStatus(io: Io, flags: Flags, options: { json?: boolean; check?: boolean }): Promise<number> {
  const { settings, problems: bad } = resolveSettingsLeniently(flags, io.env);
  const problems: Problem[] = bad.map((err) => ({ what: err.what, fix: err.hint }));
  const { status: found, sources } = await collectStatus(io, settings, problems);
  const check = options.check && sources.length ? await checkSources(io, settings, sources) : undefined;
  if (check && !check.ok) problems.push({ what: check.message, fix: "see the troubleshooting table in the README" });
  const { version, source: src, grants, settings: shown, cache, fleet, git } = found;
  const status: Status = { version, ok: problems.length === 0, problems, source: src, ...(grants && { grants }), settings: shown, cache, fleet, git, ...(check && { check }) };
  // Nothing in a status may show a secret, whatever text a server or library put in a problem.
  io.stdout(hideSecrets(options.json ? JSON.stringify(status, null, 2) + "\n" : renderStatus(status, io.stdoutIsTTY), secretsIn(io.env)));
  return status.ok ? 0 : 1;
}
