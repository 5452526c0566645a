import { lstatSync, mkdirSync, readdirSync, rmdirSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { hash64 } from "../hash";
import { FAST_STAMP_NAME, SOCKET_NAME } from "../fast-path/lines";
import { FILE_MODE, folderProblem, readOwnFile, replaceFile, type FileRead } from "../safe-files";
import { parseEntry, type CacheEntry } from "./entry";

/** What a failure note holds: the error, as the process that met it reported it, and when. */
export interface FailureNote {
  at: number;
  code: string;
  what: string;
  hint: string;
  status?: number;
}

export const DIR_MODE = 0o700;
export { FILE_MODE, folderProblem };

/**
 * One JSON file per scope key, named by its hash. Readers take no lock: writers write a temporary
 * file and rename it over the entry, so a reader sees the old entry or the new one, never half of
 * one. Files are opened without following links and read only if they are regular files of ours, of
 * bounded size. Every failure to read is a miss; every failure to write leaves the machine uncached.
 */
export class CacheStore {
  constructor(
    readonly dir: string,
    private readonly uid: number | undefined,
  ) {}

  /** The entry's file, e.g. <dir>/0123456789abcdef.json; its lock is beside it (<file>.lock). */
  entryPath(key: string): string {
    return join(this.dir, `${hash64(key)}.json`);
  }

  read(key: string): CacheEntry | undefined {
    const file = this.readFile(this.entryPath(key));
    // An entry others could have read (mode wider than 0600) is not served as is: the next mint replaces it.
    if (!("text" in file) || file.mode & 0o077) return undefined;
    return parseEntry(file.text, key);
  }

  /** Creates the folder (0700) if needed and checks it again; throws when it cannot be used. */
  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
    const problem = folderProblem(this.dir, this.uid);
    if (problem) throw new Error(problem);
  }

  /** Atomically replaces the entry. Throws on an unwritable or full disk; callers treat that as "no cache". */
  write(entry: CacheEntry): void {
    this.replace(this.entryPath(entry.key), JSON.stringify(entry) + "\n");
  }

  /**
   * Removes the entry only if it holds `token` at the moment of removal. The caller holds the entry's
   * lock, so no writer can put a fresh token in its place between the read and the unlink.
   */
  removeIfToken(key: string, token: string): boolean {
    if (this.read(key)?.token !== token) return false;
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
    const path = join(this.dir, `memo-${hash64(name)}.json`);
    const load = (): Record<string, unknown> => {
      const file = this.readFile(path);
      try {
        const data = "text" in file ? (JSON.parse(file.text) as unknown) : {};
        return typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {};
      } catch {
        return {};
      }
    };
    return {
      get: (key) => {
        const data = load();
        const value = Object.hasOwn(data, key) ? data[key] : undefined;
        return typeof value === "string" ? value : undefined;
      },
      set: (key, value) => {
        try {
          this.replace(path, JSON.stringify({ ...load(), [key]: value }) + "\n");
        } catch {
          // No memo: the next miss asks again.
        }
      },
    };
  }

  /**
   * A failure the source met for this key, kept beside the entry in `<hash>.failed` for a short while,
   * so that other processes with no token in hand fail at once with the same line instead of each
   * asking (and waiting) again. Written atomically; unreadable notes are ignored.
   */
  writeFailure(key: string, failure: FailureNote): void {
    try {
      this.replace(this.failurePath(key), JSON.stringify({ ...failure, key }));
    } catch {
      // Without the note, each process asks the source once itself.
    }
  }

  readFailure(key: string): FailureNote | undefined {
    const file = this.readFile(this.failurePath(key));
    if (!("text" in file)) return undefined;
    try {
      const note = JSON.parse(file.text) as FailureNote & { key?: unknown };
      const ok = note.key === key && Number.isFinite(note.at) && typeof note.code === "string" && typeof note.what === "string" && typeof note.hint === "string";
      return ok ? { at: note.at, code: note.code, what: note.what, hint: note.hint, status: typeof note.status === "number" ? note.status : undefined } : undefined;
    } catch {
      return undefined;
    }
  }

  clearFailure(key: string): void {
    rmSync(this.failurePath(key), { force: true });
  }

  /** Every readable entry, and the names of entry files that cannot be served, with why. */
  list(): { entries: CacheEntry[]; unreadable: Array<{ name: string; why: string }> } {
    const entries: CacheEntry[] = [];
    const unreadable: Array<{ name: string; why: string }> = [];
    for (const name of this.files()) {
      if (!ENTRY_NAME.test(name)) continue;
      const file = this.readFile(join(this.dir, name));
      if (!("text" in file)) {
        unreadable.push({ name, why: file.problem });
        continue;
      }
      const entry = parseEntryOfAnyKey(file.text);
      if (!entry) unreadable.push({ name, why: "not an entry (corrupt, or from another version)" });
      else if (file.mode & 0o077) unreadable.push({ name, why: `mode ${(file.mode & 0o777).toString(8)} is wider than 600: not served` });
      else entries.push(entry);
    }
    return { entries, unreadable };
  }

  /**
   * Removes every entry whose key `where` accepts (e.g. all of one source's tokens), and its failure
   * note; entries that cannot be read are left alone. Returns how many entries went.
   */
  removeEntries(where: (key: string) => boolean): number {
    let removed = 0;
    for (const name of this.files()) {
      if (!ENTRY_NAME.test(name)) continue;
      const file = this.readFile(join(this.dir, name));
      const key = "text" in file ? parseEntryOfAnyKey(file.text)?.key : undefined;
      if (key === undefined || !where(key)) continue;
      try {
        unlinkSync(join(this.dir, name));
        removed++;
      } catch {
        // Gone already, or not ours to remove: nothing more to do.
      }
      rmSync(this.failurePath(key), { force: true });
    }
    return removed;
  }

  /**
   * Removes the files the helper itself names (entries, locks, failure notes, memos, temporary files),
   * never recursively and never through a link. Returns how many entries went, and what could not.
   */
  clear(): { removed: number; failed: string[] } {
    let removed = 0;
    const failed: string[] = [];
    for (const name of this.files()) {
      if (!isOurs(name)) continue;
      const path = join(this.dir, name);
      try {
        if (isLock(name) && lstatSync(path).isDirectory()) rmdirSync(path);
        else unlinkSync(path);
        if (ENTRY_NAME.test(name)) removed++;
      } catch (err) {
        failed.push(`${name} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      }
    }
    return { removed, failed };
  }

  private failurePath(key: string): string {
    return join(this.dir, `${hash64(key)}.failed`);
  }

  /** Atomically replaces `target`, in the folder (created and checked first). */
  private replace(target: string, text: string): void {
    this.ensureDir();
    replaceFile(target, text);
  }

  private readFile(path: string): FileRead {
    return readOwnFile(path, this.uid);
  }

  private files(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }
}

const ENTRY_NAME = /^[0-9a-f]{16}\.json$/;
/** Every name the helper writes: entries, failure notes, memos, their temporary files, and the fast path's sockets (cleared once their daemons are stopped). */
const OURS = [
  ENTRY_NAME,
  /^[0-9a-f]{16}\.failed$/,
  /^memo-[0-9a-f]{16}\.json$/,
  /^[0-9a-f]{16}\.(json|failed)\.[0-9a-z]+\.tmp$/,
  /^memo-[0-9a-f]{16}\.json\.[0-9a-z]+\.tmp$/,
  SOCKET_NAME,
];

/** A lock folder (`<name>.lock`) beside an entry or a fast-path socket. */
function isLock(name: string): boolean {
  const locked = name.endsWith(".lock") ? name.slice(0, -".lock".length) : undefined;
  return locked !== undefined && (ENTRY_NAME.test(locked) || SOCKET_NAME.test(locked));
}

/** Whether `cache clear` may remove `name`: one of OURS, a lock, or the fast path's stamp. */
function isOurs(name: string): boolean {
  return OURS.some((pattern) => pattern.test(name)) || isLock(name) || name === FAST_STAMP_NAME;
}

/** An entry for status, whatever its key (status lists them all). */
function parseEntryOfAnyKey(text: string): CacheEntry | undefined {
  try {
    const key = (JSON.parse(text) as { key?: unknown }).key;
    return typeof key === "string" ? parseEntry(text, key) : undefined;
  } catch {
    return undefined;
  }
}
