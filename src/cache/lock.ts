import lockfile from "proper-lockfile";

/** A held cross-process lock on one cache entry. */
export interface HeldLock {
  release(): Promise<void>;
}

/** A killed holder stops refreshing the lock's mtime; after this long others take it over. */
export const STALE_MS = 7000;
const UPDATE_MS = 2000;

/**
 * Tries once to take the lock beside `entryPath` (a `.lock` folder, as proper-lockfile makes it).
 * Returns "busy" when another live process holds it; throws when locking itself is impossible
 * (read-only disk, missing permissions), which callers treat as "no cache".
 */
export async function tryLock(entryPath: string, onCompromised: (err: Error) => void): Promise<HeldLock | "busy"> {
  try {
    const release = await lockfile.lock(entryPath, {
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
