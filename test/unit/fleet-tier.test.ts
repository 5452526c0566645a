/**
 * The fleet tier's decisions (src/fleet/tier.ts) against an in-memory Redis (fake-fleet.ts) and a fake
 * clock: serve a fresh entry, mint once under the fleet lock, wait for another machine's mint, serve
 * the token in hand, fail at once on another machine's final failure, and step aside — one trace line,
 * this machine mints — whenever Redis fails or holds what is not ours.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { Deadline } from "../../src/deadline";
import { HelperError } from "../../src/errors";
import { FleetUnavailable } from "../../src/fleet/client";
import { deriveKeys, lockValue, namesFor, open, seal } from "../../src/fleet/keys";
import { fenceOn, type Memos } from "../../src/fleet/fence";
import { hash64 } from "../../src/hash";
import { CLOCK_SKEW_MS, FLEET_LOCK_MS, MAX_ROUNDS, throughFleet, type FleetMiss } from "../../src/fleet/tier";
import type { Token } from "../../src/token";
import { fakeFleet, type FakeFleet } from "./fake-fleet";

const SECRET = "broker\nvers_test_fleet_tier_secret_0001";
const SCOPE = JSON.stringify(["broker http://127.0.0.1:1 0123456789abcdef", "github.com", null, [], null]);
const HOUR = 3_600_000;
const MARGIN = 300_000;
const keys = deriveKeys(SECRET);
const names = namesFor(keys, SCOPE);

let clock: number;
let fleet: FakeFleet;
let traced: string[];
let slept: number[];
let mints: number;

beforeEach(() => {
  clock = 1_900_000_000_000;
  fleet = fakeFleet(
    () => clock,
    (ms) => (clock += ms),
  );
  traced = [];
  slept = [];
  mints = 0;
});

function miss(over: Partial<FleetMiss> = {}): FleetMiss {
  const now = () => clock;
  return {
    url: "redis://127.0.0.1:1",
    secret: SECRET,
    scopeKey: SCOPE,
    policy: { marginMs: MARGIN, machine: () => "machine-under-test" },
    deadline: Deadline.in(15_000, now),
    now,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    trace: (line) => void traced.push(line),
    connect: async () => fleet,
    ...over,
  };
}

/** A source that mints `ghs_minted<n>` tokens valid for an hour, or throws `fails`. */
function source(fails?: Error): () => Promise<Token> {
  return async () => {
    mints++;
    if (fails) throw fails;
    return { token: `ghs_minted${mints}`, expiresAt: clock + HOUR, permissions: { contents: "write" } };
  };
}

/** What another machine writes: an entry for this scope, sealed for its name. */
function entry(token: string, leftMs: number, scopeKey = SCOPE): string {
  return seal(keys, names.entry, { v: 1, key: scopeKey, token, expiresAt: clock + leftMs, permissions: { contents: "write" } });
}

function note(code: string, agoMs = 0): string {
  return seal(keys, names.note, { at: clock - agoMs, code, what: "the broker rejected VERS_API_KEY (HTTP 401)", hint: "check VERS_API_KEY", status: 401 });
}

const unavailable = new FleetUnavailable("OOM command not allowed when used memory > 'maxmemory'.");

describe("a fresh entry in Redis", () => {
  it("is served without minting, and the connection is closed", async () => {
    fleet.set(names.entry, entry("ghs_fromFleet", HOUR), HOUR);
    const served = await throughFleet(miss(), source());
    expect(served).toMatchObject({ token: "ghs_fromFleet", expiresAt: clock + HOUR, permissions: { contents: "write" } });
    expect(mints).toBe(0);
    expect(fleet.calls).toEqual(["read"]);
    expect(fleet.commands).toBe(1);
    expect(fleet.closed).toBe(true);
    expect(traced.some((l) => l.startsWith("fleet hit"))).toBe(true);
  });

  it.each([
    ["inside the refresh margin", entry("ghs_old", MARGIN / 2)],
    ["sealed for another scope", entry("ghs_foreign", HOUR, "another scope")],
    ["holding an unclean token", entry("ghs_bad token", HOUR)],
    ["sealed under another secret", seal(deriveKeys("broker\nanother key"), names.entry, { v: 1, key: SCOPE, token: "ghs_x", expiresAt: 0 })],
  ])("is not served when %s: this machine mints and writes its own", async (_why, stored) => {
    fleet.set(names.entry, stored, HOUR);
    const served = await throughFleet(miss(), source());
    expect(served.token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect((open(keys, names.entry, fleet.get(names.entry)) as Token).token).toBe("ghs_minted1");
  });
});

describe("a Redis miss", () => {
  it("takes the fleet lock, mints once, writes the entry with a TTL ending at expiry, releases the lock", async () => {
    const served = await throughFleet(miss(), source());
    expect(served.token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(fleet.calls).toEqual(["read", "claim", "writeEntry", "releaseLock"]);
    expect(fleet.lists.size).toBe(0); // nobody waited: no wake list
    expect(fleet.commands).toBe(1 + 4 + 3 + 4); // GET; EVAL SET GET GET; EVAL PTTL SET; EVAL GET DEL GETDEL
    expect(fleet.data.get(names.entry)?.expiresAt).toBe(clock + HOUR);
    expect(fleet.data.has(names.lock)).toBe(false);
    expect(open(keys, names.entry, fleet.get(names.entry))).toMatchObject({ v: 1, key: SCOPE, token: "ghs_minted1", expiresAt: clock + HOUR });
  });

  it("an entry written between the lock and the second read is served, not minted again", async () => {
    fleet.beforeLook = (n) => n === 2 && fleet.set(names.entry, entry("ghs_justWritten", HOUR), HOUR);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_justWritten");
    expect(mints).toBe(0);
    expect(fleet.data.has(names.lock)).toBe(false);
  });

  it("does not replace a longer-lived entry with a shorter one", async () => {
    fleet.set(names.entry, entry("ghs_longer", MARGIN / 2), 2 * HOUR); // not fresh here, yet its TTL is longer
    await throughFleet(miss(), source());
    expect((open(keys, names.entry, fleet.get(names.entry)) as Token).token).toBe("ghs_longer");
  });

  it("replaces garbage under the entry's name whatever its TTL", async () => {
    fleet.set(names.entry, "garbage", 2 * HOUR);
    await throughFleet(miss(), source());
    expect((open(keys, names.entry, fleet.get(names.entry)) as Token).token).toBe("ghs_minted1");
  });
});

describe("another machine holds the fleet lock", () => {
  it("blocks on the lock's wake list (no polling) until the holder writes the entry and pushes, then serves it without minting", async () => {
    const theirs = lockValue(keys, names.lock, clock);
    fleet.set(names.lock, theirs.value, FLEET_LOCK_MS);
    fleet.onWait = (n, list) => {
      expect(list).toBe(`${names.wake}:${theirs.id}`);
      if (n !== 1) return;
      clock += 800; // the holder mints meanwhile, writes the entry and hands it to each waiter
      const sealed = entry("ghs_theirs", HOUR);
      fleet.set(names.entry, sealed, HOUR);
      void fleet.releaseLock(names, theirs.value, theirs.id, `${theirs.value} ${sealed}`);
      fleet.commands -= 6; // the holder's, not ours
    };
    expect((await throughFleet(miss(), source())).token).toBe("ghs_theirs");
    expect(mints).toBe(0);
    expect(slept).toEqual([]);
    expect(fleet.calls.filter((c) => c !== "releaseLock")).toEqual(["read", "claim", "waitWake"]);
    expect(fleet.commands).toBe(8); // GET; EVAL SET GET GET INCR PEXPIRE; BLPOP
    expect(fleet.lists.size).toBe(0); // the one element popped: nothing left behind
  });

  it("a holder that died: its lock expires within the lock TTL, and this machine mints after one more claim", async () => {
    const start = clock;
    fleet.set(names.lock, lockValue(keys, names.lock, clock).value, FLEET_LOCK_MS);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(clock - start).toBeGreaterThanOrEqual(FLEET_LOCK_MS);
    expect(clock - start).toBeLessThanOrEqual(FLEET_LOCK_MS + CLOCK_SKEW_MS + 600);
    expect(fleet.calls.filter((c) => c === "waitWake")).toHaveLength(1);
  });

  it("with a token in hand, serves it at once instead of waiting", async () => {
    fleet.set(names.lock, lockValue(keys, names.lock, clock).value, FLEET_LOCK_MS);
    const inHand = { token: "ghs_inHand", expiresAt: clock + MARGIN / 3 };
    expect(await throughFleet(miss({ inHand }), source())).toBe(inHand);
    expect(mints).toBe(0);
    expect(slept).toEqual([]);
  });

  it("waits no longer than the deadline: a timeout naming the fleet", async () => {
    fleet.set(names.lock, lockValue(keys, names.lock, clock).value, FLEET_LOCK_MS);
    const now = () => clock;
    const err = await throughFleet(miss({ deadline: Deadline.in(2_000, now) }), source()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelperError);
    expect((err as HelperError).code).toBe("timeout");
    expect((err as HelperError).what).toMatch(/another machine of the fleet/);
    expect(mints).toBe(0);
  });
});

describe("a final failure another machine noted", () => {
  it("is this machine's failure too, at once: same code and line, no mint, no wait", async () => {
    fleet.set(names.note, note("unauthorized", 1_000), 10_000);
    fleet.set(names.lock, lockValue(keys, names.lock, clock).value, FLEET_LOCK_MS);
    const err = (await throughFleet(miss(), source()).catch((e: unknown) => e)) as HelperError;
    expect(err.message).toBe("the broker rejected VERS_API_KEY (HTTP 401) (check VERS_API_KEY)");
    expect([err.code, err.status]).toEqual(["unauthorized", 401]);
    expect(mints).toBe(0);
    expect(slept).toEqual([]);
  });

  it("with a token in hand, serves it", async () => {
    fleet.set(names.note, note("unauthorized"), 10_000);
    const inHand = { token: "ghs_inHand", expiresAt: clock + MARGIN / 3 };
    expect(await throughFleet(miss({ inHand }), source())).toBe(inHand);
  });

  it.each([
    ["older than 10 s", 10_000],
    ["dated more than 2 s ahead", -2_500],
  ])("a note %s is ignored", async (_why, agoMs) => {
    fleet.set(names.note, note("unauthorized", agoMs));
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
  });

  it("this machine's final failure is noted for the others (sealed, 10 s), then thrown; the lock is released", async () => {
    const rejected = new HelperError("unauthorized", "the broker rejected VERS_API_KEY (HTTP 401)", "check VERS_API_KEY", 401);
    await expect(throughFleet(miss(), source(rejected))).rejects.toBe(rejected);
    expect(fleet.data.get(names.note)?.expiresAt).toBe(clock + 10_000);
    expect(open(keys, names.note, fleet.get(names.note))).toMatchObject({ code: "unauthorized", status: 401, what: rejected.what, hint: rejected.hint });
    expect(fleet.data.has(names.lock)).toBe(false);
  });

  it("a transient failure is not noted", async () => {
    const down = new HelperError("unavailable", "the broker is unavailable (HTTP 503 after 3 tries)", "try again", 503);
    await expect(throughFleet(miss(), source(down))).rejects.toBe(down);
    expect(fleet.data.has(names.note)).toBe(false);
  });
});

describe("Redis failing is never a reason to fail", () => {
  it.each([
    ["cannot connect", "connect"],
    ["the first read fails", "read"],
    ["the claim fails (out of memory)", "claim"],
  ] as const)("%s: one trace line, this machine mints once", async (_what, where) => {
    const m = where === "connect" ? miss({ connect: async () => Promise.reject(unavailable) }) : miss();
    if (where !== "connect") fleet.failOn(where, unavailable);
    expect((await throughFleet(m, source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(traced.filter((l) => l.startsWith("fleet tier unavailable"))).toHaveLength(1);
  });

  it("Redis failing while this machine waits: it mints once", async () => {
    fleet.set(names.lock, lockValue(keys, names.lock, clock).value, FLEET_LOCK_MS);
    fleet.beforeLook = (n) => {
      if (n === 3) throw unavailable;
    };
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
  });

  it("a failed write after the mint: the token is served, not minted again", async () => {
    fleet.failOn("writeEntry", unavailable);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(traced.some((l) => l.startsWith("fleet write failed"))).toBe(true);
  });

  it("a failed release after the mint: the token is served, not minted again", async () => {
    fleet.failOn("releaseLock", unavailable);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
  });

  it("a source error that is not Redis's goes up as it is", async () => {
    const bug = new TypeError("not Redis");
    await expect(throughFleet(miss(), source(bug))).rejects.toBe(bug);
  });

  it.each([
    ["with no expiry", undefined],
    ["with an expiry no fleet lock has", 10 * HOUR],
  ])("garbage under the lock's name %s: not a held lock; this machine mints at once", async (_why, ttlMs) => {
    fleet.set(names.lock, "garbage", ttlMs);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(slept).toEqual([]);
    expect(traced.filter((l) => l.startsWith("fleet tier unavailable"))).toHaveLength(1);
  });
});

describe("a tenant of the same Redis without the secret (issue 15, item 2)", () => {
  it("re-setting the lock name with junk every second does not stop this machine: it goes on without Redis at once", async () => {
    fleet.beforeLook = () => fleet.set(names.lock, `squatted ${clock}`, 1_000);
    const start = clock;
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(clock - start).toBe(0);
    expect(traced.some((l) => /fleet tier unavailable \(the fleet lock holds a value no machine of this fleet wrote\)/.test(l))).toBe(true);
  });

  it("a squatter that re-sets a live machine's lock with junk: the waiter stops waiting at its next claim", async () => {
    const theirs = lockValue(keys, names.lock, clock);
    fleet.set(names.lock, theirs.value, FLEET_LOCK_MS);
    fleet.onWait = () => fleet.set(names.lock, "squatted", FLEET_LOCK_MS);
    fleet.beforeLook = (n) => n === 3 && fleet.data.delete(`${names.wake}:${theirs.id}`);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(fleet.calls.filter((c) => c === "waitWake")).toHaveLength(1);
  });

  it("a lock value signed for another scope's lock name does not verify here", async () => {
    const other = namesFor(keys, "another scope");
    fleet.set(names.lock, lockValue(keys, other.lock, clock).value, FLEET_LOCK_MS);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(fleet.calls).not.toContain("waitWake");
  });

  it.each([
    ["older than any real lock lives", -(FLEET_LOCK_MS + CLOCK_SKEW_MS + 1)],
    ["dated ahead of this machine's clock", CLOCK_SKEW_MS + 1_000],
  ])("a replayed real lock value %s is not waited on", async (_why, shift) => {
    fleet.set(names.lock, lockValue(keys, names.lock, clock + shift).value, 10 * HOUR);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(fleet.calls).not.toContain("waitWake");
  });

  it("a recent real value replayed after its holder finished (its wake list still there) is waited on once, then not again", async () => {
    const theirs = lockValue(keys, names.lock, clock);
    fleet.set(names.lock, theirs.value, 10 * HOUR);
    fleet.push(`${names.wake}:${theirs.id}`, `${theirs.value} `);
    const start = clock;
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(fleet.calls.filter((c) => c === "waitWake")).toHaveLength(1);
    expect(clock - start).toBeLessThan(1_000);
  });

  it("junk on a wake list wakes a waiter, which goes on waiting on the real lock, paused and within the lock's life", async () => {
    const theirs = lockValue(keys, names.lock, clock);
    fleet.set(names.lock, theirs.value, FLEET_LOCK_MS);
    fleet.push(`${names.wake}:${theirs.id}`, "junk");
    fleet.onWait = (n) => {
      if (n === 2) {
        const sealed = entry("ghs_theirs", HOUR);
        fleet.set(names.entry, sealed, HOUR);
        void fleet.releaseLock(names, theirs.value, theirs.id, `${theirs.value} ${sealed}`);
      }
    };
    expect((await throughFleet(miss(), source())).token).toBe("ghs_theirs");
    expect(fleet.calls.filter((c) => c === "waitWake")).toHaveLength(2);
    expect(slept).toHaveLength(1);
    expect(mints).toBe(0);
  });
});

describe("a server that is not Redis (issue 15, item 3)", () => {
  it("answering nil to everything (SET NX fails, no lock there): a bounded number of paused rounds, then this machine mints, within the deadline", async () => {
    const start = clock;
    const nil: FakeFleet = {
      ...fleet,
      read: async () => (fleet.calls.push("read"), null),
      claim: async () => (fleet.calls.push("claim"), { note: null, taken: false, lock: null, entry: null }),
    };
    const now = () => clock;
    expect((await throughFleet(miss({ connect: async () => nil, deadline: Deadline.in(15_000, now) }), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(fleet.calls.filter((c) => c === "claim")).toHaveLength(MAX_ROUNDS);
    expect(slept).toHaveLength(MAX_ROUNDS - 1);
    expect(clock - start).toBeLessThan(15_000);
    expect(traced.filter((l) => l.startsWith("fleet tier unavailable"))).toHaveLength(1);
  });

  it("with a short deadline, the rounds stop at the deadline", async () => {
    const now = () => clock;
    const nil: FakeFleet = { ...fleet, claim: async () => ({ note: null, taken: false, lock: null, entry: null }) };
    const deadline = Deadline.in(100, now);
    await throughFleet(miss({ connect: async () => nil, deadline }), source());
    expect(clock).toBeLessThanOrEqual(deadline.at);
  });
});

describe("a token git rejected on this machine (issue 15, item 4: the local fence)", () => {
  it("is never served from the fleet, even a replayed sealed value: this machine mints and replaces the entry", async () => {
    fleet.set(names.entry, entry("ghs_rejected", HOUR), HOUR);
    const memos = memosInMemory();
    fenceOn(memos, () => clock).add("ghs_rejected", clock + HOUR);
    const served = await throughFleet(miss({ memos }), source());
    expect(served.token).toBe("ghs_minted1");
    expect((open(keys, names.entry, fleet.get(names.entry)) as Token).token).toBe("ghs_minted1");
    expect(traced.some((l) => /which git rejected here/.test(l))).toBe(true);
  });
});

function memosInMemory(): Memos {
  const memos = new Map<string, Map<string, string>>();
  return {
    memo(name) {
      const m = memos.get(name) ?? new Map<string, string>();
      memos.set(name, m);
      return { get: (k) => m.get(k), set: (k, v) => void m.set(k, v) };
    },
  };
}

describe("the local fence", () => {
  it("holds a token until the expiry it was given, then forgets it", () => {
    const fence = fenceOn(memosInMemory(), () => clock);
    fence.add("ghs_a", clock + 1_000);
    expect(fence.has("ghs_a")).toBe(true);
    expect(fence.has("ghs_b")).toBe(false);
    clock += 1_000;
    expect(fence.has("ghs_a")).toBe(false);
  });

  it("two erases at once, each reading the fence before the other writes: both tokens stay fenced", () => {
    const memos = memosInMemory();
    let other = false;
    // The first read of A's add lets B's whole add happen in between (two processes on one machine).
    const racing: Memos = {
      memo(name) {
        const m = memos.memo(name);
        return {
          get: (key) => {
            const value = m.get(key);
            if (!other) {
              other = true;
              fenceOn(memos, () => clock).add("ghs_b", clock + 1_000);
            }
            return value;
          },
          set: (key, value) => m.set(key, value),
        };
      },
    };
    fenceOn(racing, () => clock).add("ghs_a", clock + 1_000);
    const fence = fenceOn(memos, () => clock);
    expect([fence.has("ghs_a"), fence.has("ghs_b")]).toEqual([true, true]);
  });

  it("an unreadable memo fences nothing and is replaced on the next add", () => {
    const memos = memosInMemory();
    memos.memo(`fleet fence ${hash64("ghs_a")}`).set("until", "{not a number");
    const fence = fenceOn(memos, () => clock);
    expect(fence.has("ghs_a")).toBe(false);
    fence.add("ghs_a", clock + 1_000);
    expect(fence.has("ghs_a")).toBe(true);
  });
});
