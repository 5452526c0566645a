import { acquire, type Acquired } from "./cache/acquire";
import { servedFrom, type CacheEntry } from "./cache/entry";
import { cacheFolder } from "./cache/folder";
import { refreshPolicy } from "./cache/freshness";
import { scopeKey } from "./cache/key";
import { CacheStore } from "./cache/store";
import { chooseSource, hostRefusal, sourceScope } from "./choose-source";
import { Deadline } from "./deadline";
import { warningLine } from "./errors";
import { describeGrant } from "./grants/grant";
import { mintOnMiss } from "./mint-on-miss";
import { describeScope, type Scope } from "./scope";
import { secretsIn } from "./secrets";
import type { Context } from "./serve-context";
import type { Served } from "./token";
import { redact } from "./trace";

/**
 * The pipeline git's `get` and `token` share: source → cache → (miss) source. A fresh cached token is
 * served without loading any network code; otherwise the miss path (mint-on-miss.ts) mints, writes
 * and releases the lock the cache handed over. `refreshToken` is git's oauth_refresh_token, if any.
 */
export async function serveToken(ctx: Context, requested: Scope, refreshToken?: string): Promise<Served> {
  const { io, settings, trace } = ctx;
  const source = chooseSource(settings, io, { scope: requested, refreshToken });
  // One host per source: a request for a configured host this source does not mint for gets no answer.
  const refusal = hostRefusal(source, requested.host, settings.hosts);
  if (refusal) throw refusal;
  if (source.kind === "static") {
    trace(`static token ${redact(source.token.value)} from ${source.token.origin}; not cached`);
    return { token: source.token.value, origin: source.token.origin };
  }
  if (source.kind === "grant") trace(`${describeGrant(source.grant)} from ${source.grant.refreshToken.origin}, redeemed at ${source.grant.tokenEndpoint}`);
  const scope = sourceScope(source, requested);
  const deadline = Deadline.in(settings.timeoutMs, io.now);
  const key = scopeKey(source.identity, scope);
  const store = openCache(ctx);
  const acquired: Acquired = store ? await acquire({ store, key, policy: refreshPolicy(settings, io), deadline, now: io.now, sleep: io.sleep, trace }) : { kind: "uncached" };
  switch (acquired.kind) {
    case "fresh":
      trace(`cache hit for ${describeScope(scope)}: ${redact(acquired.entry.token)}, ${secondsLeft(acquired.entry, io.now())} s left`);
      return servedFrom(acquired.entry);
    case "in-hand":
      trace(`serving the token in hand, ${secondsLeft(acquired.entry, io.now())} s left: ${acquired.why}`);
      return servedFrom(acquired.entry);
  }
  trace(acquired.inHand ? `refreshing ${describeScope(scope)}: ${secondsLeft(acquired.inHand, io.now())} s left` : `cache miss for ${describeScope(scope)}`);
  return mintOnMiss(ctx, { source, scope, key, store, acquired, deadline });
}

/** The cache, or undefined (with a warning) when its folder cannot be trusted. */
export function openCache(ctx: Pick<Context, "io">): CacheStore | undefined {
  const folder = cacheFolder(ctx.io);
  if (folder.problem) {
    ctx.io.stderr(warningLine(folder.problem.what, folder.problem.fix, secretsIn(ctx.io.env)));
    return undefined;
  }
  return new CacheStore(folder.dir, ctx.io.uid);
}

function secondsLeft(entry: CacheEntry, now: number): number {
  return Math.round((entry.expiresAt - now) / 1000);
}
