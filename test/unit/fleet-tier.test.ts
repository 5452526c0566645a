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
import { deriveKeys, namesFor, open, seal } from "../../src/fleet/keys";
import { FLEET_LOCK_MS, throughFleet, type FleetMiss } from "../../src/fleet/tier";
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
  fleet = fakeFleet(() => clock);
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
    expect(fleet.calls).toEqual(["look"]);
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
    expect(fleet.calls).toEqual(["look", "takeLock", "look", "writeEntry", "releaseLock"]);
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
  it("waits, backing off, for the entry it writes, then serves it without minting", async () => {
    fleet.set(names.lock, "theirs", FLEET_LOCK_MS);
    fleet.beforeLook = (n) => n === 6 && fleet.set(names.entry, entry("ghs_theirs", HOUR), HOUR);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_theirs");
    expect(mints).toBe(0);
    expect(slept).toHaveLength(5);
    expect(slept[4]!).toBeGreaterThan(slept[0]!);
    expect(Math.max(...slept)).toBeLessThanOrEqual(400 * 1.5);
  });

  it("a holder that died: its lock expires within the lock TTL, and this machine mints after one more poll", async () => {
    const start = clock;
    fleet.set(names.lock, "dead holder", FLEET_LOCK_MS);
    expect((await throughFleet(miss(), source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(clock - start).toBeGreaterThanOrEqual(FLEET_LOCK_MS);
    expect(clock - start).toBeLessThanOrEqual(FLEET_LOCK_MS + 600);
  });

  it("with a token in hand, serves it at once instead of waiting", async () => {
    fleet.set(names.lock, "theirs", FLEET_LOCK_MS);
    const inHand = { token: "ghs_inHand", expiresAt: clock + MARGIN / 3 };
    expect(await throughFleet(miss({ inHand }), source())).toBe(inHand);
    expect(mints).toBe(0);
    expect(slept).toEqual([]);
  });

  it("waits no longer than the deadline: a timeout naming the fleet", async () => {
    fleet.set(names.lock, "slow holder", FLEET_LOCK_MS);
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
    fleet.set(names.lock, "theirs", FLEET_LOCK_MS);
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
    ["the first read fails", "look"],
    ["the lock's SET fails (out of memory)", "takeLock"],
  ] as const)("%s: one trace line, this machine mints once", async (_what, where) => {
    const m = where === "connect" ? miss({ connect: async () => Promise.reject(unavailable) }) : miss();
    if (where !== "connect") fleet.failOn(where, unavailable);
    expect((await throughFleet(m, source())).token).toBe("ghs_minted1");
    expect(mints).toBe(1);
    expect(traced.filter((l) => l.startsWith("fleet tier unavailable"))).toHaveLength(1);
  });

  it("Redis failing while this machine waits: it mints once", async () => {
    fleet.set(names.lock, "theirs", FLEET_LOCK_MS);
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
