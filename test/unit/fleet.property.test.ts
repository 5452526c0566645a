/**
 * Issue 15's property for the fleet tier: whatever a Redis answers — nil, garbage, numbers, wrong types, errors,
 * commands that never answer (the client gives up after its bound), valid seals for another scope or under another
 * secret, expired or rejected (fenced) tokens sealed for this scope, real lock values old, ahead or live, wake
 * elements of any kind — the tier returns a token or a typed error, by the deadline (fake clock), never serves an
 * expired, foreign or rejected token, and makes a bounded number of calls.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Deadline } from "../../src/deadline";
import { HelperError, isHelperError } from "../../src/errors";
import { COMMAND_MS, FleetUnavailable, type Claim, type FleetClient } from "../../src/fleet/client";
import { fenceOn, type Memos } from "../../src/fleet/fence";
import { deriveKeys, lockValue, namesFor, seal } from "../../src/fleet/keys";
import { FLEET_LOCK_MS, MAX_ROUNDS, throughFleet } from "../../src/fleet/tier";
import type { Token } from "../../src/token";

const RUNS = 300;
const SECRET = "broker\nvers_property_fleet_secret_0001";
const SCOPE = JSON.stringify(["broker property", "github.com", null, [], null]);
const keys = deriveKeys(SECRET);
const names = namesFor(keys, SCOPE);
const HOUR = 3_600_000;
const MARGIN = 300_000;
const START = 1_900_000_000_000;
const TIMEOUT = 15_000;
/** Calls one `get` may make at most: the first read, per round a claim and a wait, and the holder's write (or note) and release. */
const MAX_CALLS = 1 + MAX_ROUNDS * 2 + 2;

/** Tokens that must never be served: only `ghs_good…` (sealed right, fresh) or what the source minted may be. */
const FORBIDDEN = ["ghs_expired", "ghs_foreign", "ghs_othersecret", "ghs_fenced", "ghs_margin"];

/** What one stored value can be, made at the moment it is read (seals and lock values depend on the clock). */
type Stored = (now: number) => unknown;

const sealedFor = (token: string, leftMs: number, scope = SCOPE, k = keys, name = names.entry): Stored => (now) =>
  seal(k, name, { v: 1, key: scope, token, expiresAt: now + leftMs, permissions: { contents: "read" } });

const storedValue: fc.Arbitrary<Stored> = fc.oneof(
  fc.constant(() => null),
  fc.constant(() => undefined),
  fc.string({ maxLength: 40 }).map((s) => () => s),
  fc.integer().map((n) => () => n),
  fc.constant(() => ["a", 1]),
  fc.constant(sealedFor("ghs_goodGoodGoodGoodGoodGood0001", HOUR)),
  fc.constant(sealedFor("ghs_expiredExpiredExpired0001", -1_000)),
  fc.constant(sealedFor("ghs_marginMarginMargin0001", MARGIN / 2)),
  fc.constant(sealedFor("ghs_foreignForeignForeign0001", HOUR, "another scope")),
  fc.constant(sealedFor("ghs_othersecretOtherSecret01", HOUR, SCOPE, deriveKeys("broker\nanother"))),
  fc.constant(sealedFor("ghs_fencedFencedFencedFenced01", HOUR)),
  fc.constant(sealedFor("ghs_goodMovedGoodMoved0001", HOUR, SCOPE, keys, names.note)),
  fc.constant((now: number) => seal(keys, names.note, { at: now - 500, code: "unauthorized", what: "the broker rejected VERS_API_KEY (HTTP 401)", hint: "check it", status: 401 })),
);

const lockStored: fc.Arbitrary<Stored> = fc.oneof(
  storedValue,
  fc.integer({ min: -30_000, max: 5_000 }).map((shift) => (now: number) => lockValue(keys, names.lock, now + shift).value),
  fc.constant((now: number) => lockValue(keys, "another lock", now).value),
);

/** One answer to one call: a value, an error, or no answer at all (the client's bound runs out). */
type Reply<T> = { kind: "value"; value: T } | { kind: "error" } | { kind: "hang" };
const reply = <T,>(value: fc.Arbitrary<T>): fc.Arbitrary<Reply<T>> =>
  fc.oneof(
    { weight: 8, arbitrary: value.map((v) => ({ kind: "value" as const, value: v })) },
    { weight: 1, arbitrary: fc.constant({ kind: "error" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "hang" as const }) },
  );

const claimValue = fc.record({ taken: fc.oneof(fc.boolean(), fc.constant(undefined)), note: storedValue, lock: lockStored, entry: storedValue });
const wakeValue = fc.oneof(
  storedValue,
  fc.tuple(lockStored, storedValue).map(([lock, payload]) => (now: number) => `${String(lock(now))} ${String(payload(now))}`),
);
const script = fc.record({
  reads: fc.array(reply(storedValue), { minLength: 1, maxLength: 20 }),
  claims: fc.array(reply(claimValue), { minLength: 1, maxLength: 20 }),
  wakes: fc.array(fc.tuple(reply(wakeValue), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 20 }),
  writes: fc.array(reply(fc.constant(undefined)), { minLength: 1, maxLength: 5 }),
  mintFails: fc.boolean(),
});

function memos(): Memos {
  const m = new Map<string, string>();
  return { memo: (name) => ({ get: (k) => m.get(`${name}\0${k}`), set: (k, v) => void m.set(`${name}\0${k}`, v) }) };
}

describe("the fleet tier against any Redis answer", () => {
  it("returns a token or a typed error, by the deadline, never an expired, foreign or rejected token, in bounded calls", async () => {
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        let clock = START;
        const now = () => clock;
        let calls = 0;
        const pick = <T,>(list: T[]): T => list[calls % list.length]!;
        /** Plays one reply: a value, a FleetUnavailable, or the client's bound running out. */
        const play = async <T,>(r: Reply<T>): Promise<T> => {
          calls++;
          if (calls > 10 * MAX_CALLS) throw new Error("runaway");
          if (r.kind === "error") throw new FleetUnavailable("ERR something");
          if (r.kind === "hang") {
            clock += COMMAND_MS;
            throw new FleetUnavailable(`no answer within ${COMMAND_MS} ms`);
          }
          return r.value;
        };
        const client: FleetClient = {
          read: async () => (await play(pick(s.reads)))(clock),
          claim: async () => {
            const c = await play(pick(s.claims));
            return { taken: c.taken, note: c.note(clock), lock: c.lock(clock), entry: c.entry(clock) } as Claim;
          },
          waitWake: async (_list, ms) => {
            const [r, share] = pick(s.wakes);
            const value = await play(r);
            clock += Math.floor(ms * share);
            return value(clock);
          },
          releaseLock: async () => (await play(pick(s.writes)), { ours: true, waiters: 0 }),
          writeEntry: async () => void (await play(pick(s.writes))),
          writeNote: async () => void (await play(pick(s.writes))),
          dropEntry: async () => false,
          exists: async () => [],
          deletePrefix: async () => ({ deleted: 0 }),
          topology: async () => "single node",
          close: () => undefined,
        };
        const fence = memos();
        fenceOn(fence, now).add("ghs_fencedFencedFencedFenced01", START + 10 * HOUR);
        const deadline = Deadline.in(TIMEOUT, now);
        let mints = 0;
        const outcome = await throughFleet(
          {
            url: "redis://127.0.0.1:1",
            secret: SECRET,
            scopeKey: SCOPE,
            policy: { marginMs: MARGIN, machine: () => "property" },
            memos: fence,
            deadline,
            now,
            sleep: async (ms) => void (clock += ms),
            trace: () => undefined,
            connect: async () => client,
          },
          async (): Promise<Token> => {
            mints++;
            if (s.mintFails) throw new HelperError("unavailable", "the broker is unavailable (HTTP 503)", "try again", 503);
            return { token: `ghs_mintedMintedMinted${mints}`, expiresAt: clock + HOUR };
          },
        ).then(
          (token) => ({ token }),
          (err: unknown) => ({ err }),
        );
        expect(calls).toBeLessThanOrEqual(MAX_CALLS);
        expect(mints).toBeLessThanOrEqual(1);
        // A hung command may end up to one command bound after the deadline; nothing waits longer.
        expect(clock).toBeLessThanOrEqual(deadline.at + COMMAND_MS);
        if ("token" in outcome) {
          const { token } = outcome.token;
          expect(FORBIDDEN.some((f) => token.startsWith(f)), token).toBe(false);
          expect(token).toMatch(/^ghs_(good|minted)/);
          expect(outcome.token.expiresAt! - clock).toBeGreaterThan(MARGIN);
        } else {
          const err = outcome.err;
          expect(isHelperError(err), String(err)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("a live lock nobody ever releases: the wait ends by the lock's life or the deadline, whichever comes first", async () => {
    let clock = START;
    const now = () => clock;
    const held = lockValue(keys, names.lock, clock).value;
    const client = {
      read: async () => null,
      claim: async () => ({ taken: false, note: null, lock: held, entry: null }),
      waitWake: async (_l: string, ms: number) => ((clock += ms), null),
      close: () => undefined,
    } as unknown as FleetClient;
    const deadline = Deadline.in(60_000, now);
    const err = await throughFleet(
      { url: "redis://x", secret: SECRET, scopeKey: SCOPE, policy: { marginMs: MARGIN, machine: () => "p" }, deadline, now, sleep: async (ms) => void (clock += ms), trace: () => undefined, connect: async () => client },
      async () => ({ token: "ghs_mintedAfterTheLocksLife01", expiresAt: clock + HOUR }),
    ).catch((e: unknown) => e);
    // Past its life the same value is a replay: this machine goes on without Redis and mints.
    expect(err).toMatchObject({ token: "ghs_mintedAfterTheLocksLife01" });
    expect(clock - START).toBeLessThanOrEqual(FLEET_LOCK_MS + 2_000 + 1_000);
  });
});
