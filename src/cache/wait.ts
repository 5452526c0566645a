import { setPriority } from "node:os";
import { sleep, type Deadline } from "../deadline";
import { HelperError } from "../errors";
import type { Trace } from "../trace";
import { isFresh, type CacheEntry } from "./entry";
import { lockLooksHeld } from "./lock";
import type { CacheStore } from "./store";

const POLL_MS = 15;

/**
 * While another process holds the entry's lock (it is minting), poll every 15–30 ms for the fresh
 * entry it will write. Returns that entry, or undefined once the lock is free or stale (the holder
 * failed or died: the caller may take the lock). Throws a timeout at the deadline. Cheap on purpose
 * (a stat and a read per poll, no lock library): dozens of git processes may wait at once.
 */
export async function waitWhileLocked(
  cache: CacheStore,
  key: string,
  marginMs: number,
  deadline: Deadline,
  trace: Trace,
  now: () => number,
): Promise<CacheEntry | undefined> {
  const started = now();
  trace("another process holds the lock; waiting for its token");
  yieldCpu();
  for (;;) {
    const entry = cache.read(key);
    if (entry && isFresh(entry, now(), marginMs)) {
      trace(`served the token another process minted, after waiting ${now() - started} ms`);
      return entry;
    }
    if (!lockLooksHeld(cache.entryPath(key), now())) return undefined;
    if (deadline.remaining() <= POLL_MS) {
      throw new HelperError(
        "timeout",
        `timed out after ${Math.round((now() - started) / 1000)} s waiting for another git-credential-vers to refresh the token`,
        "try again; `git-credential-vers cache clear` removes a stuck lock",
      );
    }
    await sleep(POLL_MS + Math.random() * POLL_MS);
  }
}

/**
 * A waiter only polls; the process holding the lock does the work everyone waits for. Lowering
 * the waiter's own priority leaves the CPU to it when dozens of git processes start at once.
 */
function yieldCpu(): void {
  try {
    setPriority(19);
  } catch {
    // Not allowed here: waiting at normal priority is fine too.
  }
}
