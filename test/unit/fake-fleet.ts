/**
 * An in-memory FleetClient for tier tests: keys with expiry on the test's clock, the claim script (SET NX PX, the note;
 * taken: the entry, else the lock's value and one more waiter counted), wake lists a waiter pops from (the
 * wait passes on the test's clock), the release pushing one element per waiter, the
 * compare-and-delete and write-if-longer rules of src/fleet/client.ts, a log of calls with the Redis commands each
 * costs, and failures on demand. A runaway loop fails the test instead of hanging it.
 */
import type { FleetClient } from "../../src/fleet/client";

type Op = Exclude<keyof FleetClient, "close">;


export interface FakeFleet extends FleetClient {
  data: Map<string, { value: string; expiresAt?: number }>;
  lists: Map<string, { items: string[]; expiresAt?: number }>;
  calls: Op[];
  /** Redis commands the calls so far cost, as INFO commandstats counts them (Lua: EVAL and each command it runs). */
  commands: number;
  closed: boolean;
  /** Makes every later call of `op` throw `err` (e.g. a FleetUnavailable: out of memory). */
  failOn(op: Op, err: Error): void;
  /** Runs before each `read` and `claim` answers, with the number of reads and claims so far (1 for the first): another machine at work. */
  beforeLook?: (count: number) => void;
  /** Runs when a waiter starts blocking on the wake list `list`, with the number of waits so far: another machine finishing meanwhile. */
  onWait?: (count: number, list: string) => void;
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
  const cost = (n: number) => void (fleet.commands += n);
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
    commands: 0,
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
      cost(1);
      fleet.beforeLook?.(++looks);
      return live(entry)?.value ?? null;
    },
    async claim(names, value, ttlMs) {
      call("claim");
      fleet.beforeLook?.(++looks);
      if (!live(names.lock)) {
        cost(4);
        fleet.set(names.lock, value, ttlMs);
        return { taken: true, note: live(names.note)?.value ?? null, lock: null, entry: live(names.entry)?.value ?? null };
      }
      const held = live(names.lock)!.value;
      const count = Number(live(names.wake)?.value ?? 0) + 1;
      cost(6);
      data.set(names.wake, { value: String(count), expiresAt: now() + ttlMs });
      return { taken: false, note: live(names.note)?.value ?? null, lock: held, entry: null };
    },
    async waitWake(list, ms) {
      call("waitWake");
      cost(1);
      fleet.onWait?.(++waits, list);
      const items = liveList(list)?.items;
      if (items?.length) {
        const head = items.shift()!;
        if (!items.length) lists.delete(list);
        return head;
      }
      advance(ms);
      return null;
    },
    async releaseLock(names, value, id, payload) {
      call("releaseLock");
      const ours = live(names.lock)?.value === value;
      if (ours) data.delete(names.lock);
      const waiting = Number(live(names.wake)?.value ?? 0);
      data.delete(names.wake);
      cost(3 + (ours ? 1 : 0) + (waiting > 0 ? 2 : 0));
      for (let i = 0; i < waiting; i++) fleet.push(`${names.wake}:${id}`, payload);
      if (waiting > 0) lists.get(`${names.wake}:${id}`)!.expiresAt = now() + 15_000;
      return { ours, waiters: waiting };
    },
    async writeEntry(entry, value, ttlMs, replaceAny) {
      call("writeEntry");
      cost(3);
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
      return { deleted: names.length };
    },
    topology: async () => "single node",
    close: () => void (fleet.closed = true),
  };
  return fleet;
}
