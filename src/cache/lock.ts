import { rmdirSync, statSync } from "node:fs";
import type { Deadline } from "../deadline";

/** A held cross-process lock on one cache entry. */
export interface HeldLock {
  /** False once proper-lockfile found the lock taken over (we stalled past STALE_MS): stop, write nothing. */
  stillHeld(): boolean;
  release(): Promise<void>;
}

/** A killed holder stops refreshing the lock's mtime; after this long others take it over. */
export const STALE_MS = 7000;
const UPDATE_MS = 2000;
/** A lock touched this far in the future was not touched by a live holder: the clock was stepped back. */
const FUTURE_SKEW_MS = 2000;

export function lockPath(entryPath: string): string {
  return `${entryPath}.lock`;
}

/**
 * True while a live process seems to hold the lock: its folder exists and was touched within
 * STALE_MS — and not in the future beyond a small skew (a clock stepped back, a VM restored from a
 * snapshot). A cheap stat: waiters poll this instead of loading proper-lockfile (~9 ms each).
 */
export function lockLooksHeld(entryPath: string, now: number): boolean {
  const age = lockAge(entryPath, now);
  return age !== undefined && age >= -FUTURE_SKEW_MS && age < STALE_MS;
}

function lockAge(entryPath: string, now: number): number | undefined {
  try {
    return now - statSync(lockPath(entryPath)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Tries once to take the lock (proper-lockfile: a `.lock` folder whose mtime the holder refreshes,
 * loaded only here). Returns "busy" when another live process holds it; throws when locking itself is
 * impossible (read-only disk, missing permissions), which callers treat as "no cache". A lock from the
 * future is removed first: proper-lockfile would wait for it to go stale until the clock caught up.
 */
export async function tryLock(entryPath: string, now: number): Promise<HeldLock | "busy"> {
  const age = lockAge(entryPath, now);
  if (age !== undefined && age < -FUTURE_SKEW_MS) removeQuietly(lockPath(entryPath));
  const { lock } = await import("./lockfile");
  let compromised = false;
  try {
    const release = await lock(entryPath, {
      lockfilePath: lockPath(entryPath),
      realpath: false,
      stale: STALE_MS,
      update: UPDATE_MS,
      retries: 0,
      onCompromised: () => {
        compromised = true;
      },
    });
    return { stillHeld: () => !compromised, release: () => release().catch(() => undefined) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") return "busy";
    throw err;
  }
}

/**
 * The lock, waiting while another live process holds it (20 ms polls), until `deadline`: "busy" if it
 * never came free. Throws as tryLock does when locking is impossible.
 */
export async function lockWithin(path: string, deadline: Deadline, now: () => number, sleep: (ms: number) => Promise<void>): Promise<HeldLock | "busy"> {
  for (;;) {
    const lock = await tryLock(path, now());
    if (lock !== "busy" || deadline.remaining() <= 0) return lock;
    await sleep(20);
  }
}

function removeQuietly(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Someone else removed or retook it: proper-lockfile decides below.
  }
}
