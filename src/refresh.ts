/**
 * The miss path, loaded only when the cache cannot answer. Takes the entry's lock (proper-lockfile),
 * reads again, mints only if still needed, writes, releases — so N concurrent cold `get`s mint once.
 * Only the process that mints loads the sources (undici, @octokit/auth-app: their own chunk);
 * the others wait on the lock without paying to parse them.
 */
import type { CacheEntry } from "./cache/entry";
import { isFresh, isUsable } from "./cache/entry";
import { hash64, sourceIdentity } from "./cache/key";
import { lockLooksHeld, tryLock, type HeldLock } from "./cache/lock";
import { waitWhileLocked } from "./cache/wait";
import type { CacheStore } from "./cache/store";
import { findStaticToken, type SourceConfig } from "./credentials";
import type { Deadline } from "./deadline";
import { HelperError, isHelperError, type ErrorCode } from "./errors";
import type { Scope } from "./scope";
import { fromEntry, type Served } from "./served";
import type { Token } from "./sources/types";
import { redact, type Trace } from "./trace";

/** With a usable token in hand, a refresh inside the margin gets one attempt and this long at most. */
export const IN_HAND_BUDGET_MS = 3000;

export interface RefreshInput {
  source: Exclude<SourceConfig, { kind: "static" }>;
  scope: Scope;
  key: string;
  cache?: CacheStore;
  cached?: CacheEntry;
  refreshMarginMs: number;
  fallbackStatic: boolean;
  env: Readonly<Record<string, string | undefined>>;
  deadline: Deadline;
  trace: Trace;
  warn: (line: string) => void;
  now: () => number;
  /** When this process began serving the request: failures noted since then were ours too. */
  startedAt: number;
}

/** Errors no retry by another process would change (until someone fixes the key, app or request). */
const FINAL_CODES = new Set(["unauthorized", "forbidden", "not-found", "invalid-request", "bad-setting", "no-key"]);

export async function refresh(input: RefreshInput): Promise<Served> {
  const inHand = input.cached && isUsable(input.cached, input.now()) ? input.cached : undefined;
  const deadline = inHand ? input.deadline.within(IN_HAND_BUDGET_MS) : input.deadline;
  let lock: HeldLock | undefined;
  try {
    if (input.cache) {
      const waited = await acquire(input, input.cache, deadline, inHand);
      if ("served" in waited) return waited.served;
      lock = waited.lock;
    }
    const token = await mint(input, deadline, inHand);
    if (lock) input.cache?.clearFailure(input.key);
    return remember(input, token);
  } catch (err) {
    if (lock && isHelperError(err) && FINAL_CODES.has(err.code)) {
      input.cache?.writeFailure(input.key, { at: input.now(), code: err.code, what: err.what, hint: err.hint, status: err.status });
    }
    return recover(input, err);
  } finally {
    await lock?.release();
  }
}

type Acquired = { lock?: HeldLock } | { served: Served };

/**
 * Takes the lock, or — while another process holds it — waits for that process to write a fresh
 * entry and serves it. With a usable token in hand nobody waits: it is served straight away.
 */
async function acquire(input: RefreshInput, cache: CacheStore, deadline: Deadline, inHand?: CacheEntry): Promise<Acquired> {
  const path = cache.entryPath(input.key);
  for (;;) {
    const entry = cache.read(input.key);
    if (entry && isFresh(entry, input.now(), input.refreshMarginMs)) return { served: fromEntry(entry, "cache") };
    throwNotedFailure(input, cache);
    const attempt = lockLooksHeld(path, input.now()) ? "busy" : await lockOnce(input, cache, path);
    if (attempt === "no-lock") return {};
    if (attempt !== "busy") return recheck(input, cache, attempt);
    if (inHand) {
      input.trace("another process is refreshing; serving the token in hand");
      return { served: fromEntry(inHand, "cache") };
    }
    const minted = await waitWhileLocked(cache, input.key, input.refreshMarginMs, deadline, input.trace, input.now);
    if (minted) return { served: fromEntry(minted, "cache") };
    input.trace("the lock was freed without a fresh entry; trying to take it");
  }
}

/** The lock holder we waited for failed for good: fail with its error rather than ask again. */
function throwNotedFailure(input: RefreshInput, cache: CacheStore): void {
  const note = cache.readFailure(input.key);
  if (!note || note.at < input.startedAt) return;
  input.trace(`the process we waited for failed (${note.code}); not asking again`);
  throw new HelperError(note.code as ErrorCode, note.what, note.hint, note.status);
}

async function lockOnce(input: RefreshInput, cache: CacheStore, path: string): Promise<HeldLock | "busy" | "no-lock"> {
  try {
    cache.ensureDir();
    return await tryLock(path, (err) => input.trace(`lock compromised: ${err.message}`));
  } catch (err) {
    input.trace(`cannot lock the cache (${(err as Error).message}); going on uncached`);
    return "no-lock";
  }
}

/** With the lock held, read once more: another process may have written a fresh entry meanwhile. */
async function recheck(input: RefreshInput, cache: CacheStore, lock: HeldLock): Promise<Acquired> {
  const fresh = cache.read(input.key);
  if (fresh && isFresh(fresh, input.now(), input.refreshMarginMs)) {
    await lock.release();
    input.trace("the entry was refreshed before we took the lock; cache hit");
    return { served: fromEntry(fresh, "cache") };
  }
  return { lock };
}

async function mint(input: RefreshInput, deadline: Deadline, inHand?: CacheEntry): Promise<Token> {
  const { createSource } = await import("./sources");
  const source = createSource(input.source);
  const started = input.now();
  const memo = input.cache?.memo(`${input.source.kind}-${hash64(sourceIdentity(input.source))}`);
  const token = await source.mint(input.scope, { deadline, trace: input.trace, now: input.now, maxAttempts: inHand ? 1 : 100, memo });
  input.trace(`minted ${redact(token.token)} in ${input.now() - started} ms, expires ${token.expiresAt ? new Date(token.expiresAt).toISOString() : "never"}`);
  return token;
}

/** `status --check`: one mint straight from the source, bypassing the cache. */
export async function mintOnce(source: RefreshInput["source"], scope: Scope, deadline: Deadline, trace: Trace, now: () => number): Promise<Token> {
  const { createSource } = await import("./sources");
  return createSource(source).mint(scope, { deadline, trace, now, maxAttempts: 3 });
}

function remember(input: RefreshInput, token: Token): Served {
  if (input.cache && token.expiresAt !== undefined) {
    const entry: CacheEntry = {
      version: 1,
      key: input.key,
      host: input.scope.host,
      owner: input.scope.owner,
      repositories: token.repositories?.length ? token.repositories : input.scope.repositories,
      permissions: token.permissions ?? input.scope.permissions,
      token: token.token,
      expiresAt: token.expiresAt,
      mintedAt: input.now(),
      source: input.source.kind,
    };
    try {
      input.cache.write(entry);
      input.trace(`cache written: ${input.cache.entryPath(input.key)}`);
    } catch (err) {
      input.trace(`cache write failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); going on uncached`);
    }
  }
  return { ...token, from: "minted" };
}

/** The source failed: serve a token that has not expired, else the static fallback, else fail. */
function recover(input: RefreshInput, err: unknown): Served {
  const now = input.now();
  const candidates = [input.cache?.read(input.key), input.cached];
  const usable = candidates.find((e): e is CacheEntry => !!e && isUsable(e, now));
  if (usable) {
    input.trace(`refresh failed (${(err as Error).message}); serving the cached token, ${Math.round((usable.expiresAt - now) / 1000)} s left`);
    return fromEntry(usable, "stale-cache");
  }
  const fallback = input.fallbackStatic ? findStaticToken(input.env) : undefined;
  if (fallback) {
    const what = isHelperError(err) ? err.what : (err as Error).message;
    input.warn(`git-credential-vers: ${what}; using ${fallback.origin.replace(/^env /, "")} instead (fallback static)`);
    return { token: fallback.value, from: "fallback" };
  }
  throw err;
}
