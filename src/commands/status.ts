import type { NetworkSource } from "../choose-source";
import { Deadline } from "../deadline";
import { isHelperError } from "../errors";
import type { Io } from "../io";
import type { Network } from "../serve-token";
import { resolveSettingsLeniently, type Flags, type Settings } from "../settings";
import { collectStatus, type Problem, type Status } from "../status/collect";
import { renderStatus } from "../status/render";
import { secretsIn } from "../secrets";
import { hideSecrets } from "../text";
import { createTrace } from "../trace";

/**
 * `status [--json] [--check]`: what is configured and why git can or cannot authenticate. A bad
 * setting is one of the problems, not the end of the report. Exit 1 when there is any problem.
 */
export async function runStatus(io: Io, flags: Flags, options: { json?: boolean; check?: boolean }): Promise<number> {
  const { settings, problems: bad } = resolveSettingsLeniently(flags, io.env);
  const problems: Problem[] = bad.map((err) => ({ what: err.what, fix: err.hint }));
  const { status: found, source } = await collectStatus(io, settings, problems);
  const check = options.check && source && source.kind !== "static" ? await checkSource(io, settings, source) : undefined;
  if (check && !check.ok) problems.push({ what: check.message, fix: "see the troubleshooting table in the README" });
  const { version, source: src, settings: shown, cache, fleet, git } = found;
  const status: Status = { version, ok: problems.length === 0, problems, source: src, settings: shown, cache, fleet, git, ...(check && { check }) };
  // Nothing in a status may show a secret, whatever text a server or library put in a problem.
  io.stdout(hideSecrets(options.json ? JSON.stringify(status, null, 2) + "\n" : renderStatus(status, io.stdoutIsTTY), secretsIn(io.env)));
  return status.ok ? 0 : 1;
}

/** Mints once, straight from the source, to prove it works. */
async function checkSource(io: Io, settings: Settings, source: NetworkSource): Promise<NonNullable<Status["check"]>> {
  const started = io.now();
  const network: Network = await import("../sources");
  try {
    const scope = { host: settings.hosts[0]!, repositories: [], permissions: settings.permissions, profile: settings.profile };
    await network.mintFrom(source, scope, { deadline: Deadline.in(settings.timeoutMs, io.now), trace: createTrace(io), now: io.now, env: io.env, maxAttempts: 3 });
    return { ok: true, ms: io.now() - started, message: "minted a token" };
  } catch (err) {
    return { ok: false, ms: io.now() - started, message: isHelperError(err) ? err.message : String(err) };
  }
}
