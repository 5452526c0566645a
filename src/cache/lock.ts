import { statSync } from "node:fs";

/** A held cross-process lock on one cache entry. */
export interface HeldLock {
  release(): Promise<void>;
}

/** A killed holder stops refreshing the lock's mtime; after this long others take it over. */
export const STALE_MS = 7000;
const UPDATE_MS = 2000;

export function lockPath(entryPath: string): string {
  return `${entryPath}.lock`;
}

/**
 * True while a live process seems to hold the lock (its folder exists and was touched within
 * STALE_MS). A cheap stat: waiters poll this instead of loading proper-lockfile (~9 ms each).
 */
export function lockLooksHeld(entryPath: string, now: number): boolean {
  try {
    return now - statSync(lockPath(entryPath)).mtimeMs < STALE_MS;
  } catch {
    return false;
  }
}

/**
 * Tries once to take the lock (proper-lockfile: a `.lock` folder whose mtime the holder refreshes).
 * Returns "busy" when another live process holds it; throws when locking itself is impossible
 * (read-only disk, missing permissions), which callers treat as "no cache".
 */
export async function tryLock(entryPath: string, onCompromised: (err: Error) => void): Promise<HeldLock | "busy"> {
  const { default: lockfile } = await import("proper-lockfile");
  try {
    const release = await lockfile.lock(entryPath, {
      lockfilePath: lockPath(entryPath),
      realpath: false,
      stale: STALE_MS,
      update: UPDATE_MS,
      retries: 0,
      onCompromised,
    });
    return { release: () => release().catch(() => undefined) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") return "busy";
    throw err;
  }
}
