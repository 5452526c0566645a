import { scopeKey } from "../cache/key";
import { eraseFromDaemon, fastPathTarget } from "../fast-path/hand-off";
import { tryLock } from "../cache/lock";
import { parseRedisUrl } from "../fleet/url";
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
 * the removal happens under the entry's lock, and only when the token matches at all. With VERS_REDIS_URL, the fleet's
 * entry goes too when it holds that token (src/fleet/erase.ts), and this machine fences the token. Run
 * by the fast path's script, the daemon's entry for this configuration goes first (hand-off.ts).
 */
export async function runErase(io: Io, flags: Flags): Promise<void> {
  const request = parseRequest(await io.readStdin(MAX_INPUT_BYTES, inputComplete));
  // Requests for other hosts are none of our business, whatever else is configured.
  const host = matchHost(request, resolveHosts(flags, io.env));
  if (host === undefined || !request.password) return;
  const settings = resolveSettings(flags, io.env);
  const trace = createTrace(io);
  // Run by the fast path's script: the daemon first, so that no get is answered with the rejected token.
  const fast = fastPathTarget(io);
  if (fast) await eraseFromDaemon(io, fast.socket, fast.user, request, trace);
  const scope = scopeFor(host, request, settings);
  const source = chooseSource(settings, io, { scope, refreshToken: request.oauth_refresh_token });
  if (source.kind === "static") return;
  const store = openCache({ io });
  const key = scopeKey(source.identity, sourceScope(source, scope));
  const held = store?.read(key);
  if (settings.redisUrl !== undefined) {
    // First the fleet (and this machine's fence), so that no `get` here takes the rejected token from Redis again.
    const redis = parseRedisUrl(settings.redisUrl);
    if ("problem" in redis) trace(`fleet tier not used: ${redis.problem}`);
    else {
      const fleet = await loadFleet();
      const expiresAt = held?.token === request.password ? held.expiresAt : undefined;
      await fleet.eraseFromFleet({ url: redis.url, secret: fleet.sharedSecret(source), scopeKey: key, token: request.password, expiresAt, memos: store, now: io.now, trace });
    }
  }
  if (!store || held?.token !== request.password) {
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

/** The fleet tier: ioredis, in its own chunk, loaded only when VERS_REDIS_URL is set. */
function loadFleet(): Promise<typeof import("../fleet")> {
  return import("../fleet");
}
