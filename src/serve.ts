import { isFresh, isUsable } from "./cache/entry";
import { scopeKey } from "./cache/key";
import { cacheDir } from "./cache/location";
import { lockLooksHeld } from "./cache/lock";
import { CacheStore, folderProblem } from "./cache/store";
import { waitWhileLocked } from "./cache/wait";
import { resolveSource } from "./credentials";
import { Deadline } from "./deadline";
import type { Io } from "./io";
import type { Scope } from "./scope";
import { describeScope } from "./scope";
import { fromEntry, type Served } from "./served";
import type { Settings } from "./settings";
import { redact, type Trace } from "./trace";

export interface Context {
  io: Io;
  settings: Settings;
  trace: Trace;
}

/**
 * scope → cache → source: serves a fresh cached token without loading any network code;
 * otherwise loads the miss path (its own chunk) to lock, mint and write.
 */
export async function serveToken(ctx: Context, scope: Scope): Promise<Served> {
  const { io, settings, trace } = ctx;
  const startedAt = io.now();
  const deadline = Deadline.in(settings.timeoutMs, io.now);
  const source = resolveSource(settings, io.env, io.homedir);
  if (source.kind === "static") {
    trace(`static token ${redact(source.token.value)} from ${source.token.origin}; not cached`);
    return { token: source.token.value, from: "static" };
  }
  const key = scopeKey(source, scope);
  const cache = openCache(ctx);
  const cached = cache?.read(key);
  if (cached && isFresh(cached, io.now(), settings.refreshMarginMs)) {
    trace(`cache hit for ${describeScope(scope)}: ${redact(cached.token)}, ${secondsLeft(cached.expiresAt, io.now())} s left`);
    return fromEntry(cached, "cache");
  }
  trace(
    cached
      ? `cache refresh for ${describeScope(scope)}: ${secondsLeft(cached.expiresAt, io.now())} s left, margin ${settings.refreshMarginMs / 1000} s`
      : `cache miss for ${describeScope(scope)}`,
  );
  if (cache && lockLooksHeld(cache.entryPath(key), io.now())) {
    // Another process is minting this very token: wait for it here, without loading the miss path.
    if (cached && isUsable(cached, io.now())) {
      trace("another process is refreshing; serving the token in hand");
      return fromEntry(cached, "cache");
    }
    const minted = await waitWhileLocked(cache, key, settings.refreshMarginMs, deadline, trace, io.now).catch(() => undefined);
    if (minted) return fromEntry(minted, "cache");
  }
  const { refresh } = await import("./refresh");
  return refresh({
    source,
    scope,
    key,
    cache,
    cached,
    refreshMarginMs: settings.refreshMarginMs,
    fallbackStatic: settings.fallbackStatic,
    env: io.env,
    deadline,
    trace,
    warn: (line) => io.stderr(line + "\n"),
    now: io.now,
    startedAt,
  });
}

/** The cache, or undefined (with a warning) when its folder cannot be trusted. */
export function openCache(ctx: Context): CacheStore | undefined {
  const dir = cacheDir();
  const problem = folderProblem(dir);
  if (problem) {
    ctx.io.stderr(`git-credential-vers: not using the cache: ${problem} (run chmod 700 on it, or remove it)\n`);
    return undefined;
  }
  return new CacheStore(dir);
}

function secondsLeft(expiresAt: number, now: number): number {
  return Math.round((expiresAt - now) / 1000);
}
