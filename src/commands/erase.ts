import { scopeKey } from "../cache/key";
import { tryLock } from "../cache/lock";
import { chooseSource, sourceScope } from "../choose-source";
import type { Io } from "../io";
import { inputComplete, MAX_INPUT_BYTES, parseRequest } from "../protocol/parse";
import { matchHost, scopeFor } from "../scope";
import { openCache } from "../serve-token";
import { resolveHosts, resolveSettings, type Flags } from "../settings";
import { createTrace, redact } from "../trace";

/**
 * `erase`: git reports that a credential was rejected. Drop the cached entry for this scope only if it
 * holds that very token at the moment of removal — another process may have cached a fresh one — so
 * the removal happens under the entry's lock, and only when the token matches at all.
 */
export async function runErase(io: Io, flags: Flags): Promise<void> {
  const request = parseRequest(await io.readStdin(MAX_INPUT_BYTES, inputComplete));
  // Requests for other hosts are none of our business, whatever else is configured.
  const host = matchHost(request, resolveHosts(flags, io.env));
  if (host === undefined || !request.password) return;
  const settings = resolveSettings(flags, io.env);
  const trace = createTrace(io);
  const scope = scopeFor(host, request, settings);
  const source = chooseSource(settings, io, { scope, refreshToken: request.oauth_refresh_token });
  if (source.kind === "static") return;
  const store = openCache({ io });
  const key = scopeKey(source.identity, sourceScope(source, scope));
  if (!store || store.read(key)?.token !== request.password) {
    trace(`erase: the cache does not hold ${redact(request.password)}; left alone`);
    return;
  }
  const lock = await tryLock(store.entryPath(key), io.now()).catch(() => "busy" as const);
  if (lock === "busy") {
    trace("erase: another process is refreshing this entry; it will replace the rejected token");
    return;
  }
  try {
    const removed = store.removeIfToken(key, request.password);
    trace(removed ? `erased the cached token ${redact(request.password)}` : `erase: the entry changed meanwhile; left alone`);
  } finally {
    await lock.release();
  }
}
