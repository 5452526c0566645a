import { hash64 } from "../hash";

/** The small key/value memo the cache keeps beside its entries (CacheStore.memo). */
export interface Memo {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** Where the memos live: the cache store, or a test's map. */
export interface Memos {
  memo(name: string): Memo;
}

const FENCE_MEMO = "fleet fence";
/** How long a rejected token whose expiry is unknown stays fenced (longer than any token the sources mint lives). */
export const FENCE_DEFAULT_MS = 8 * 3_600_000;

/**
 * The local fence: tokens git rejected on this machine (`erase`), each remembered (as a hash, beside the cache
 * entries) until it expires. The fleet tier never serves a fenced token, so a tenant of the Redis who replays an
 * old sealed entry after the erase gets nowhere on this machine.
 */
export function fenceOn(memos: Memos, now: () => number): { has(token: string): boolean; add(token: string, until: number): void } {
  const memo = memos.memo(FENCE_MEMO);
  const load = (): Record<string, number> => {
    const live: Record<string, number> = {};
    try {
      const data = JSON.parse(memo.get("tokens") ?? "{}") as unknown;
      if (typeof data !== "object" || data === null) return live;
      for (const [h, until] of Object.entries(data)) if (typeof until === "number" && until > now()) live[h] = until;
    } catch {
      // An unreadable memo fences nothing.
    }
    return live;
  };
  return {
    has: (token) => (load()[hash64(token)] ?? 0) > now(),
    add(token, until) {
      const all = load();
      const h = hash64(token);
      all[h] = Math.max(all[h] ?? 0, until);
      memo.set("tokens", JSON.stringify(all));
    },
  };
}
