import { isUsable, servedFrom, type CacheEntry } from "./cache/entry";
import { refreshPolicy } from "./cache/freshness";
import { HelperError, isHelperError, warningLine } from "./errors";
import { underGrantLock } from "./grants/redeem-lock";
import { keepRotatedGrant } from "./grants/rotate";
import { hash64 } from "./hash";
import { parseRedisUrl } from "./fleet/url";
import { secretsIn, findStaticToken } from "./secrets";
import type { NetworkSource } from "./choose-source";
import type { Context, Miss, Network } from "./serve-context";
import type { MintContext } from "./sources/types";
import { valueProblem } from "./text";
import type { Served, Token } from "./token";
import { redact } from "./trace";

/** With a usable token in hand, a refresh inside the margin gets one attempt and this long at most. */
export const IN_HAND_BUDGET_MS = 3000;

/**
 * The miss: mint (loading the network chunk), write the entry under the lock the cache handed over,
 * release it. When the source fails, note the failure for other processes, then serve a token that has
 * not expired, else the static fallback, else fail.
 */
export async function mintOnMiss(ctx: Context, miss: Miss): Promise<Served> {
  const lock = miss.acquired.kind === "locked" ? miss.acquired.lock : undefined;
  const inHand = miss.acquired.inHand;
  try {
    const token = await mint(ctx, miss, inHand);
    if (lock && !lock.stillHeld()) ctx.trace("the lock was taken over while minting; not writing the cache");
    else if (lock) remember(ctx, miss, token);
    return { ...token, origin: originOf(miss) };
  } catch (err) {
    if (lock && isHelperError(err)) {
      miss.store?.writeFailure(miss.key, { at: ctx.io.now(), code: err.code, what: err.what, hint: err.hint, status: err.status });
    }
    return recover(ctx, miss, err, inHand);
  } finally {
    await lock?.release();
  }
}

/** The source, behind the fleet tier when VERS_REDIS_URL is set. */
async function mint(ctx: Context, miss: Miss, inHand?: CacheEntry): Promise<Token> {
  const { io, trace } = ctx;
  const deadline = inHand ? miss.deadline.within(IN_HAND_BUDGET_MS) : miss.deadline;
  const fromSource = async (): Promise<Token> => {
    const network: Network = await (ctx.network ?? loadNetwork)();
    const redeem = async (source: NetworkSource): Promise<Token> => {
      const mintCtx: MintContext = {
        deadline,
        trace,
        now: io.now,
        env: io.env,
        maxAttempts: inHand ? 1 : 100,
        memo: miss.store?.memo(`${source.kind} ${hash64(source.identity)}`),
        // Under the grant's own lock: no other process redeems this grant while the new one is saved.
        onRotated: source.kind === "grant" ? keepRotatedGrant(io, trace, source.grant) : undefined,
      };
      const started = io.now();
      const token = await network.mintFrom(source, miss.scope, mintCtx);
      trace(`minted ${redact(token.token)} in ${io.now() - started} ms, expires ${token.expiresAt === undefined ? "never" : new Date(token.expiresAt).toISOString()}`);
      return token;
    };
    const { source } = miss;
    // A grant is redeemed under a lock of its own, read again under it (grants/redeem-lock.ts).
    if (source.kind === "grant") return underGrantLock(io, trace, source.grant, deadline, (grant) => redeem({ ...source, grant }));
    return redeem(source);
  };
  const redis = ctx.settings.redisUrl === undefined ? undefined : parseRedisUrl(ctx.settings.redisUrl);
  if (redis === undefined) return fromSource();
  if ("problem" in redis) {
    trace(`fleet tier not used: ${redis.problem}`);
    return fromSource();
  }
  const fleet = await loadFleet();
  const secret = fleet.sharedSecret(miss.source);
  // `held`: the fleet's copy of the token in hand is due when it is, so the machine first past its point refreshes for all.
  // The deadline bounds how long a failover (cluster, Sentinel) may hold this get before it mints for itself.
  const connect = (url: string) => fleet.connectFleet(url, { deadline });
  return fleet.throughFleet({ url: redis.url, secret, scopeKey: miss.key, policy: { ...refreshPolicy(ctx.settings, io), held: inHand }, inHand: inHand && servedFrom(inHand), memos: miss.store, deadline, now: io.now, sleep: io.sleep, trace, connect }, fromSource);
}

/** The network side: undici, @octokit/auth-app and the sources, in their own chunk. */
function loadNetwork(): Promise<Network> {
  return import("./sources");
}

/** The fleet tier: ioredis, in its own chunk. */
function loadFleet(): Promise<typeof import("./fleet")> {
  return import("./fleet");
}

function remember(ctx: Context, miss: Miss, token: Token): void {
  const { store } = miss;
  if (!store || token.expiresAt === undefined) return;
  const entry: CacheEntry = {
    version: 2,
    key: miss.key,
    host: miss.scope.host,
    owner: miss.scope.owner,
    repositories: token.repositories?.length ? token.repositories : miss.scope.repositories,
    permissions: token.permissions ?? miss.scope.permissions,
    token: token.token,
    expiresAt: token.expiresAt,
    mintedAt: ctx.io.now(),
    source: miss.source.kind,
  };
  try {
    store.write(entry);
    store.clearFailure(miss.key);
    ctx.trace(`cache written: ${store.entryPath(miss.key)}`);
  } catch (err) {
    ctx.trace(`cache write failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); going on uncached`);
  }
}

/** The source failed: serve a token that has not expired, else the static fallback, else fail. */
function recover(ctx: Context, miss: Miss, err: unknown, inHand?: CacheEntry): Served {
  const now = ctx.io.now();
  const usable = [miss.store?.read(miss.key), inHand].find((e): e is CacheEntry => !!e && isUsable(e, now));
  if (usable) {
    ctx.trace(`refresh failed (${(err as Error).message}); serving the cached token, ${Math.round((usable.expiresAt - now) / 1000)} s left`);
    return servedFrom(usable);
  }
  const fallback = ctx.settings.fallbackStatic ? findStaticToken(ctx.io.env) : undefined;
  if (!fallback) throw err;
  const what = isHelperError(err) ? err.what : (err as Error).message;
  const name = fallback.origin.replace(/^env /, "");
  // Checked before the warning: a fallback that cannot be printed is not used, and saying so is the one line.
  const problem = valueProblem(fallback.value);
  if (problem) throw new HelperError("bad-setting", `${what}, and the fallback in ${name} cannot be printed: ${problem}`, `set ${name} to the token alone`);
  ctx.io.stderr(warningLine(`${what}; using ${name} instead`, "fallback static", secretsIn(ctx.io.env)));
  return { token: fallback.value, origin: fallback.origin };
}

function originOf(miss: Miss): string {
  return { broker: "the broker", grant: "the grant service", "github-app": "GitHub" }[miss.source.kind];
}
