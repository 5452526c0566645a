/**
 * An in-memory FleetClient for tier tests: keys with expiry on the test's clock, Redis's PTTL answers
 * (-2 missing, -1 no expiry), the compare-and-delete and write-if-longer rules of src/fleet/client.ts,
 * a log of calls, and failures on demand. A runaway loop fails the test instead of hanging it.
 */
import type { FleetClient } from "../../src/fleet/client";

type Op = Exclude<keyof FleetClient, "close">;

export interface FakeFleet extends FleetClient {
  data: Map<string, { value: string; expiresAt?: number }>;
  calls: Op[];
  closed: boolean;
  /** Makes every later call of `op` throw `err` (e.g. a FleetUnavailable: out of memory). */
  failOn(op: Op, err: Error): void;
  /** Runs before each `look` answers, with the number of looks so far (1 for the first): another machine at work. */
  beforeLook?: (count: number) => void;
  set(name: string, value: string, ttlMs?: number): void;
  get(name: string): string | undefined;
}

const MAX_CALLS = 1000;

export function fakeFleet(now: () => number): FakeFleet {
  const data = new Map<string, { value: string; expiresAt?: number }>();
  const failures = new Map<Op, Error>();
  let looks = 0;
  const live = (name: string) => {
    const item = data.get(name);
    if (item?.expiresAt !== undefined && item.expiresAt <= now()) data.delete(name);
    return data.get(name);
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
    calls: [],
    closed: false,
    failOn: (op, err) => void failures.set(op, err),
    set: (name, value, ttlMs) => void data.set(name, { value, expiresAt: ttlMs === undefined ? undefined : now() + ttlMs }),
    get: (name) => live(name)?.value,
    async look(entry, note, lock) {
      call("look");
      fleet.beforeLook?.(++looks);
      return { entry: live(entry)?.value ?? null, note: live(note)?.value ?? null, lockMs: pttl(lock) };
    },
    async takeLock(lock, value, ttlMs) {
      call("takeLock");
      if (live(lock)) return false;
      fleet.set(lock, value, ttlMs);
      return true;
    },
    async releaseLock(lock, value) {
      call("releaseLock");
      if (live(lock)?.value === value) data.delete(lock);
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
