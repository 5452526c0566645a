import { setPriority } from "node:os";
import type { Deadline } from "../deadline";
import { HelperError, type ErrorCode } from "../errors";
import type { Trace } from "../trace";
import { isUsable, type CacheEntry } from "./entry";
import { isFresh, type RefreshPolicy } from "./freshness";
import { lockLooksHeld, tryLock, type HeldLock } from "./lock";
import type { CacheStore } from "./store";

/** How long a failure the source met is remembered for other processes (SPEC: 10 s). */
export const FAILURE_NOTE_MS = 10_000;
const POLL_MS = 15;

/** What the cache came to for one scope, before any source is asked. */
export type Acquired =
  /** A token that needs no refresh: serve it. */
  | { kind: "fresh"; entry: CacheEntry }
  /** A token that is due for refresh but not expired, while another process refreshes it or the source just failed: serve it. */
  | { kind: "in-hand"; entry: CacheEntry; why: string }
  /** This process holds the entry's lock and should mint; `inHand` is a usable token to fall back on. */
  | { kind: "locked"; lock: HeldLock; inHand?: CacheEntry }
  /** The cache cannot be locked (read-only folder, full disk): mint without it. */
  | { kind: "uncached"; inHand?: CacheEntry };

export interface AcquireInput {
  store: CacheStore;
  key: string;
  policy: RefreshPolicy;
  deadline: Deadline;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  trace: Trace;
}

/**
 * The one loop between the cache and the source: a fresh entry is served; while a live process holds
 * the entry's lock, wait for the entry it will write (or serve the token in hand); when the lock is
 * free, take it and read again, and only if the entry is still not fresh, hand the lock to the caller
 * to mint. A failure another process noted in the last 10 s is this process's failure too, unless a
 * token is in hand. Waiting is a cheap stat-and-read poll at lowered CPU priority: dozens of git
 * processes may wait at once, and the one minting is what they all wait for.
 */
export async function acquire(a: AcquireInput): Promise<Acquired> {
  const started = a.now();
  const path = a.store.entryPath(a.key);
  let waiting = false;
  for (;;) {
    const entry = a.store.read(a.key);
    const now = a.now();
    if (entry && isFresh(entry, now, a.policy)) {
      if (waiting) a.trace(`served the token another process minted, after waiting ${now - started} ms`);
      return { kind: "fresh", entry };
    }
    const inHand = entry && isUsable(entry, now) ? entry : undefined;
    const noted = recentFailure(a, now);
    if (noted) {
      if (inHand) return { kind: "in-hand", entry: inHand, why: `the source failed just before (${noted.what})` };
      throw noted;
    }
    if (lockLooksHeld(path, now)) {
      if (inHand) return { kind: "in-hand", entry: inHand, why: "another process is refreshing it" };
      if (!waiting) {
        a.trace("another process holds the lock; waiting for its token");
        lowerPriority();
        waiting = true;
      }
      if (a.deadline.remaining() <= POLL_MS) throw waitedTooLong(now - started);
      await a.sleep(POLL_MS + Math.random() * POLL_MS);
      continue;
    }
    let lock: HeldLock | "busy";
    try {
      a.store.ensureDir();
      lock = await tryLock(path, now);
    } catch (err) {
      a.trace(`cannot lock the cache (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); going on uncached`);
      return { kind: "uncached", inHand };
    }
    if (lock === "busy") {
      if (a.deadline.remaining() <= POLL_MS) throw waitedTooLong(a.now() - started);
      await a.sleep(POLL_MS);
      continue;
    }
    const again = a.store.read(a.key);
    if (again && isFresh(again, a.now(), a.policy)) {
      await lock.release();
      a.trace("the entry was refreshed before we took the lock; cache hit");
      return { kind: "fresh", entry: again };
    }
    const held = again && isUsable(again, a.now()) ? again : inHand;
    // The process before us may have failed, noted it and let go between our look and our lock.
    const late = recentFailure(a, a.now());
    if (late && !held) {
      await lock.release();
      throw late;
    }
    return { kind: "locked", lock, inHand: held };
  }
}

/** A failure another process noted in the last 10 s (not from the future beyond a small skew), as the error it was. */
function recentFailure(a: AcquireInput, now: number): HelperError | undefined {
  const note = a.store.readFailure(a.key);
  if (!note || note.at > now + 2000 || now - note.at >= FAILURE_NOTE_MS) return undefined;
  a.trace(`the source failed ${now - note.at} ms ago in another process (${note.code}); not asking again`);
  return new HelperError(note.code as ErrorCode, note.what, note.hint, note.status);
}

function waitedTooLong(ms: number): HelperError {
  return new HelperError(
    "timeout",
    `timed out after ${(ms / 1000).toFixed(1)} s waiting for another git-credential-vers to refresh the token`,
    "try again; `git-credential-vers cache clear` removes a stuck lock",
  );
}

/** A waiter only polls: leave the CPU to the process holding the lock. */
function lowerPriority(): void {
  try {
    setPriority(19);
  } catch {
    // Not allowed here: waiting at normal priority is fine too.
  }
}
