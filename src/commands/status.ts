import type { SourceConfig } from "../credentials";
import { Deadline } from "../deadline";
import { isHelperError } from "../errors";
import type { Io } from "../io";
import { resolveSettings, type Flags, type Settings } from "../settings";
import { collectStatus, type Status } from "../status/collect";
import { renderStatus } from "../status/render";
import { createTrace, type Trace } from "../trace";

/** `status [--json] [--check]`: what is configured and why git can or cannot authenticate. Exit 1 on a problem. */
export async function runStatus(io: Io, flags: Flags, options: { json?: boolean; check?: boolean }): Promise<number> {
  const settings = resolveSettings(flags, io.env);
  const trace = createTrace(io.env.VERS_CREDENTIAL_TRACE, io.stderr, io.now);
  const { status, source } = await collectStatus(io, settings);
  if (options.check && source && source.kind !== "static") {
    status.check = await checkSource(io, settings, source, trace);
    if (!status.check.ok) {
      status.problems.push({ what: status.check.message, fix: "see the troubleshooting table in the README" });
      status.ok = false;
    }
  }
  io.stdout(options.json ? JSON.stringify(status, null, 2) + "\n" : renderStatus(status, io.stdoutIsTTY));
  return status.ok ? 0 : 1;
}

/** Mints once, straight from the source, to prove it works. */
async function checkSource(io: Io, settings: Settings, source: Exclude<SourceConfig, { kind: "static" }>, trace: Trace): Promise<NonNullable<Status["check"]>> {
  const started = io.now();
  const { mintOnce } = await import("../refresh");
  try {
    await mintOnce(source, { host: settings.hosts[0]!, repositories: [], permissions: settings.permissions, profile: settings.profile }, Deadline.in(settings.timeoutMs, io.now), trace, io.now);
    return { ok: true, ms: io.now() - started, message: "minted a token" };
  } catch (err) {
    return { ok: false, ms: io.now() - started, message: isHelperError(err) ? err.message : String(err) };
  }
}
