import type { Permissions } from "../profiles";
import { isCleanToken } from "../text";
import type { Served } from "../token";

/** One cached token, stored as JSON in <cache>/<hash of key>.json. */
export interface CacheEntry {
  version: 2;
  /** The full scope key this entry was written for (see key.ts); an entry under another key is foreign. */
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
  if (!isRecord(data) || data.version !== 2 || data.key !== key) return undefined;
  if (typeof data.token !== "string" || !isCleanToken(data.token)) return undefined;
  if (!Number.isFinite(data.expiresAt) || !Number.isFinite(data.mintedAt) || typeof data.host !== "string" || typeof data.source !== "string") return undefined;
  if (!Array.isArray(data.repositories) || !data.repositories.every((r) => typeof r === "string")) return undefined;
  if (data.owner !== undefined && typeof data.owner !== "string") return undefined;
  if (data.permissions !== undefined && !isRecord(data.permissions)) return undefined;
  return data as unknown as CacheEntry;
}

/** Usable: not yet expired. An expired token is never served, whatever else fails. */
export function isUsable(entry: CacheEntry, now: number): boolean {
  return entry.expiresAt > now;
}

/** A cached entry on its way out. */
export function servedFrom(entry: CacheEntry): Served {
  return { token: entry.token, expiresAt: entry.expiresAt, permissions: entry.permissions, repositories: entry.repositories, origin: "the cache" };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
