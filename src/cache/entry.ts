import type { Permissions } from "../profiles";

/** One cached token, stored as JSON in <cache>/<key>.json. */
export interface CacheEntry {
  version: 1;
  /** The scope key this entry was written for; an entry under another name is foreign. */
  key: string;
  host: string;
  owner?: string;
  repositories: string[];
  permissions?: Permissions;
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  mintedAt: number;
  source: string;
}

/** Reads an entry; anything corrupt, truncated or written for another key is undefined (a miss). */
export function parseEntry(text: string, key: string): CacheEntry | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(data) || data.version !== 1 || data.key !== key) return undefined;
  if (typeof data.token !== "string" || !isCleanToken(data.token)) return undefined;
  if (typeof data.expiresAt !== "number" || typeof data.mintedAt !== "number" || typeof data.host !== "string") return undefined;
  if (!Array.isArray(data.repositories) || !data.repositories.every((r) => typeof r === "string")) return undefined;
  return data as unknown as CacheEntry;
}

/** A token may hold no whitespace or control character and is at most 8 KiB. */
export function isCleanToken(token: string): boolean {
  return token.length > 0 && Buffer.byteLength(token) <= 8192 && !/[\s\p{Cc}]/u.test(token);
}

/** Fresh: more than `marginMs` left. Usable: not yet expired (a fallback while refreshing fails). */
export function isFresh(entry: CacheEntry, now: number, marginMs: number): boolean {
  return entry.expiresAt - now > marginMs;
}

export function isUsable(entry: CacheEntry, now: number): boolean {
  return entry.expiresAt > now;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
