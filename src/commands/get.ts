import { fastPathTarget, handOff } from "../fast-path/hand-off";
import type { Io } from "../io";
import { formatAnswer } from "../protocol/format";
import { inputComplete, MAX_INPUT_BYTES, parseRequest } from "../protocol/parse";
import { matchHost, scopeFor } from "../scope";
import { refreshPolicy } from "../cache/freshness";
import { serveToken } from "../serve-token";
import { resolveHosts, resolveSettings, type Flags } from "../settings";
import { createTrace } from "../trace";

/**
 * `get`: parse → settings → scope → cache → source → format. Requests for other protocols
 * or hosts get no answer and no network call. Run through the fast path (VERS_FAST_PATH_SOCKET, VERS_FAST_PATH_USER), it
 * hands the token it served to git's credential-cache daemon, which answers until the refresh point.
 */
export async function runGet(io: Io, flags: Flags): Promise<void> {
  const request = parseRequest(await io.readStdin(MAX_INPUT_BYTES, inputComplete));
  const trace = createTrace(io);
  // Requests for other hosts get no answer, whatever else is configured (or misconfigured).
  const hosts = resolveHosts(flags, io.env);
  const host = matchHost(request, hosts);
  if (host === undefined) {
    trace(`not answering for ${request.protocol ?? "?"}://${request.host ?? "?"} (hosts: ${hosts.join(", ")})`);
    return;
  }
  const settings = resolveSettings(flags, io.env);
  const scope = scopeFor(host, request, settings);
  trace(`matched ${scope.host}${scope.owner ? ` path ${scope.owner}/${scope.repositories.join(",")}` : ""}`);
  // Warnings (a cache folder not used, a static fallback) are shown only beside an answer: a get that
  // fails says one line, its error. The trace goes straight out.
  const warnings: string[] = [];
  const held: Io = Object.assign(Object.create(io) as Io, { stderr: (text: string) => void warnings.push(text) });
  const served = await serveToken({ io: held, settings, trace }, scope, request.oauth_refresh_token);
  const answer = formatAnswer(served);
  const fast = fastPathTarget(io);
  if (fast) await handOff(io, fast.socket, fast.user, request, served, refreshPolicy(settings, io), trace);
  for (const warning of warnings) io.stderr(warning);
  io.stdout(answer);
}
