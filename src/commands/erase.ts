import { scopeKey } from "../cache/key";
import { resolveSource } from "../credentials";
import type { Io } from "../io";
import { inputComplete, MAX_INPUT_BYTES, parseRequest } from "../protocol/parse";
import { matchHost, scopeFor } from "../scope";
import { openCache } from "../serve";
import { resolveHosts, resolveSettings, type Flags } from "../settings";
import { createTrace, redact } from "../trace";

/**
 * `erase`: git reports that a credential was rejected. Drop the cached entry for this scope only
 * if it still holds that very token — another process may have cached a fresh one meanwhile.
 */
export async function runErase(io: Io, flags: Flags): Promise<void> {
  const request = parseRequest(await io.readStdin(MAX_INPUT_BYTES, inputComplete));
  // Requests for other hosts are none of our business, whatever else is configured.
  const host = matchHost(request, resolveHosts(flags, io.env));
  if (host === undefined || !request.password) return;
  const settings = resolveSettings(flags, io.env);
  const trace = createTrace(io.env.VERS_CREDENTIAL_TRACE, io.stderr, io.now);
  const scope = scopeFor(host, request, settings);
  const source = resolveSource(settings, io.env, io.homedir);
  if (source.kind === "static") return;
  const cache = openCache({ io, settings, trace });
  const removed = cache?.remove(scopeKey(source, scope), request.password) ?? false;
  trace(removed ? `erased the cached token ${redact(request.password)}` : `erase: the cache does not hold ${redact(request.password)}; left alone`);
}
