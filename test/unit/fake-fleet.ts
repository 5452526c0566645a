/**
 * An in-memory FleetClient for tier tests: keys with expiry on the test's clock, the claim round trip (GET note,
 * SET NX PX, GET lock, GET entry), wake lists a waiter blocks on (the wait passes on the test's clock), the
 * compare-and-delete and write-if-longer rules of src/fleet/client.ts, a log of calls with the Redis commands each
 * costs, and failures on demand. A runaway loop fails the test instead of hanging it.
 */
import type { FleetClient } from "../../src/fleet/client";

type Op = Exclude<keyof FleetClient, "close">;

/** Redis commands per call as INFO commandstats counts them (Lua: EVAL and each command it runs). */
const COMMANDS: Record<Op, number> = { read: 1, claim: 4, waitWake: 1, releaseLock: 5, writeEntry: 3, writeNote: 1, dropEntry: 3, exists: 1, deletePrefix: 2 };

export interface FakeFleet extends FleetClient {
  data: Map<string, { value: string; expiresAt?: number }>;
  lists: Map<string, { items: string[]; expiresAt?: number }>;
  calls: Op[];
  /** Redis commands the calls so far cost. */
  commands(): number;
  closed: boolean;
  /** Makes every later call of `op` throw `err` (e.g. a FleetUnavailable: out of memory). */
  failOn(op: Op, err: Error): void;
  /** Runs before each `read` and `claim` answers, with the number of reads and claims so far (1 for the first): another machine at work. */
  beforeLook?: (count: number) => void;
  /** Runs when a waiter starts blocking on `wake`, with the number of waits so far: another machine finishing meanwhile. */
  onWait?: (count: number, wake: string) => void;
  set(name: string, value: string, ttlMs?: number): void;
  get(name: string): string | undefined;
  push(list: string, value: string): void;
}

const MAX_CALLS = 1000;

export function fakeFleet(now: () => number, advance: (ms: number) => void = () => undefined): FakeFleet {
  const data = new Map<string, { value: string; expiresAt?: number }>();
  const lists = new Map<string, { items: string[]; expiresAt?: number }>();
  const failures = new Map<Op, Error>();
  let looks = 0;
  let waits = 0;
  const live = (name: string) => {
    const item = data.get(name);
    if (item?.expiresAt !== undefined && item.expiresAt <= now()) data.delete(name);
    return data.get(name);
  };
  const liveList = (name: string) => {
    const list = lists.get(name);
    if (list?.expiresAt !== undefined && list.expiresAt <= now()) lists.delete(name);
    return lists.get(name);
  };
  const pttl = (name: string) => {
    const item = live(name);
    return item === undefined ? -2 : item.expiresAt === undefined ? -1 : item.expiresAt - now();
  };
  const call = (op: Op) => {
    fleet.calls.push(op);
    if (fleet.calls.length > MAX_CALLS) throw new Error(`runaway: more than ${MAX_CALLS} Redis calls`);
    const err = failures.get(op);
    if (err) throw err;
  };
  const fleet: FakeFleet = {
    data,
    lists,
    calls: [],
    commands: () => fleet.calls.reduce((n, op) => n + COMMANDS[op], 0),
    closed: false,
    failOn: (op, err) => void failures.set(op, err),
    set: (name, value, ttlMs) => void data.set(name, { value, expiresAt: ttlMs === undefined ? undefined : now() + ttlMs }),
    get: (name) => live(name)?.value,
    push(list, value) {
      const items = liveList(list)?.items ?? [];
      lists.set(list, { items: [...items, value], expiresAt: liveList(list)?.expiresAt });
    },
    async read(entry) {
      call("read");
      fleet.beforeLook?.(++looks);
      return live(entry)?.value ?? null;
    },
    async claim(names, value, ttlMs) {
      call("claim");
      fleet.beforeLook?.(++looks);
      const note = live(names.note)?.value ?? null;
      const taken = !live(names.lock);
      if (taken) fleet.set(names.lock, value, ttlMs);
      return { note, taken, lock: live(names.lock)?.value ?? null, entry: live(names.entry)?.value ?? null };
    },
    async waitWake(wake, ms) {
      call("waitWake");
      fleet.onWait?.(++waits, wake);
      const head = liveList(wake)?.items[0];
      if (head !== undefined) return head;
      advance(ms);
      return null;
    },
    async releaseLock(lock, value, wake) {
      call("releaseLock");
      if (live(lock)?.value === value) data.delete(lock);
      fleet.push(wake, value);
      lists.get(wake)!.expiresAt = now() + 15_000;
    },
    async writeEntry(entry, value, ttlMs, replaceAny) {
      call("writeEntry");
      if (!replaceAny && pttl(entry) > ttlMs) return;
      fleet.set(entry, value, ttlMs);
    },
    async writeNote(note, value, ttlMs) {
      call("writeNote");
      fleet.set(note, value, ttlMs);
    },
    async dropEntry(entry, sealed) {
      call("dropEntry");
      if (live(entry)?.value !== sealed) return false;
      data.delete(entry);
      return true;
    },
    async exists(names) {
      call("exists");
      return names.map((n) => live(n) !== undefined);
    },
    async deletePrefix(prefix) {
      call("deletePrefix");
      const names = [...data.keys()].filter((n) => n.startsWith(`${prefix}:`));
      for (const n of names) data.delete(n);
      return names.length;
    },
    close: () => void (fleet.closed = true),
  };
  return fleet;
}
