import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEntry, type CacheEntry } from "./entry";

/** What a failure note holds: the error, as the holder reported it, and when. */
export interface FailureNote {
  at: number;
  code: string;
  what: string;
  hint: string;
  status?: number;
}

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Why a cache folder cannot be trusted, or undefined when it can (or does not exist yet). */
export function folderProblem(dir: string): string | undefined {
  let st;
  try {
    st = statSync(dir);
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) return `${dir} is not a folder`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `${dir} is owned by uid ${st.uid}, not you (uid ${uid})`;
  if (st.mode & 0o022) return `${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * One JSON file per scope key. Readers take no lock: writers write a temporary file and
 * rename it over the entry, so a reader sees the old entry or the new one, never half of one.
 * Every failure to read is a miss; every failure to write leaves the machine uncached, never broken.
 */
export class CacheStore {
  constructor(readonly dir: string) {}

  entryPath(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  read(key: string): CacheEntry | undefined {
    try {
      return parseEntry(readFileSync(this.entryPath(key), "utf8"), key);
    } catch {
      return undefined;
    }
  }

  /** Creates the folder (0700) if needed; throws when it cannot. */
  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
  }

  /** Atomically replaces the entry. Throws on an unwritable or full disk; callers treat that as "no cache". */
  write(entry: CacheEntry): void {
    this.replace(this.entryPath(entry.key), JSON.stringify(entry) + "\n");
  }

  /**
   * Writes `text` to a temporary file (0600) in the folder and renames it over `target`: a reader
   * sees the old file or the new one, never half of one. Throws when it cannot, leaving no temp file.
   */
  private replace(target: string, text: string): void {
    this.ensureDir();
    const temp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      writeFileSync(temp, text, { mode: FILE_MODE, flag: "wx" });
      renameSync(temp, target);
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
  }

  /** Removes the entry; with `onlyIfToken`, only when it still holds that token. Returns whether it removed it. */
  remove(key: string, onlyIfToken?: string): boolean {
    const current = this.read(key);
    if (onlyIfToken !== undefined && current?.token !== onlyIfToken) return false;
    try {
      unlinkSync(this.entryPath(key));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A small key/value memo kept beside the entries (e.g. a GitHub App's owner → installation id),
   * in `memo-<name>.json`. Failures to read or write are ignored: a memo only saves requests.
   */
  memo(name: string): { get(key: string): string | undefined; set(key: string, value: string): void } {
    const path = join(this.dir, `memo-${name}.json`);
    const load = (): Record<string, string> => {
      try {
        const data = JSON.parse(readFileSync(path, "utf8")) as unknown;
        return typeof data === "object" && data !== null ? (data as Record<string, string>) : {};
      } catch {
        return {};
      }
    };
    return {
      get: (key) => {
        const value = load()[key];
        return typeof value === "string" ? value : undefined;
      },
      set: (key, value) => {
        try {
          this.replace(path, JSON.stringify({ ...load(), [key]: value }) + "\n");
        } catch {
          // No memo: the next miss asks GitHub again.
        }
      },
    };
  }

  /**
   * A final failure (401, 403, 404, 422, a bad setting) the lock holder met for this key, kept
   * beside the entry in `<key>.failed` so that processes that were waiting for that very attempt
   * fail with it instead of each asking again. Written atomically; unreadable notes are ignored.
   */
  writeFailure(key: string, failure: FailureNote): void {
    try {
      this.replace(join(this.dir, `${key}.failed`), JSON.stringify(failure));
    } catch {
      // Without the note, each waiter asks the source once itself.
    }
  }

  readFailure(key: string): FailureNote | undefined {
    try {
      const note = JSON.parse(readFileSync(join(this.dir, `${key}.failed`), "utf8")) as FailureNote;
      return typeof note.at === "number" && typeof note.what === "string" && typeof note.hint === "string" ? note : undefined;
    } catch {
      return undefined;
    }
  }

  clearFailure(key: string): void {
    rmSync(join(this.dir, `${key}.failed`), { force: true });
  }

  /** Every readable entry, with the file names of those that are not. */
  list(): { entries: CacheEntry[]; unreadable: string[] } {
    const entries: CacheEntry[] = [];
    const unreadable: string[] = [];
    for (const name of this.files()) {
      if (!name.endsWith(".json") || name.startsWith("memo-")) continue;
      const entry = this.read(name.slice(0, -5));
      if (entry) entries.push(entry);
      else unreadable.push(name);
    }
    return { entries, unreadable };
  }

  /** Deletes every entry, lock and temporary file; returns how many entries were removed. */
  clear(): number {
    let removed = 0;
    for (const name of this.files()) {
      rmSync(join(this.dir, name), { recursive: true, force: true });
      if (name.endsWith(".json") && !name.startsWith("memo-")) removed++;
    }
    return removed;
  }

  private files(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }
}
