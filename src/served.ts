import type { CacheEntry } from "./cache/entry";
import type { Permissions } from "./profiles";

/** The token a command hands out, and where it came from (for traces and `token --json`). */
export interface Served {
  token: string;
  /** Milliseconds since the epoch; undefined for a static token. */
  expiresAt?: number;
  permissions?: Permissions;
  repositories?: string[];
  from: "cache" | "minted" | "stale-cache" | "fallback" | "static";
}

export function fromEntry(entry: CacheEntry, from: Served["from"]): Served {
  return { token: entry.token, expiresAt: entry.expiresAt, permissions: entry.permissions, repositories: entry.repositories, from };
}
