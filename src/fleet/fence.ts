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
 * The local fence: tokens git rejected on this machine (`erase`), each remembered until it expires in a memo of its
 * own beside the cache entries (named by the token's hash: two erases at once, in two processes, never overwrite
 * each other's). The fleet tier never serves a fenced token, so a tenant of the Redis who replays an old sealed
 * entry after the erase gets nowhere on this machine.
 */
export function fenceOn(memos: Memos, now: () => number): { has(token: string): boolean; add(token: string, until: number): void } {
  const memo = (token: string) => memos.memo(`${FENCE_MEMO} ${hash64(token)}`);
  // An unreadable memo fences nothing (Number("…") is NaN, and NaN > now is false).
  const until = (token: string) => Number(memo(token).get("until") ?? 0);
  return {
    has: (token) => until(token) > now(),
    add(token, at) {
      if (!(until(token) >= at)) memo(token).set("until", String(at));
    },
  };
}
