import { describe, expect, it } from "vitest";
import { isFresh, refreshLeadMs, refreshPoint, type RefreshPolicy } from "../../src/cache/freshness";

const NOW = 1_800_000_000_000;
const MARGIN = 300_000;
const HOUR = 3_600_000;

const policy = (machine: string, marginMs = MARGIN): RefreshPolicy => ({ marginMs, machine: () => machine });
/** A token with `ms` left now, minted an hour before it expires (as GitHub's are). */
const left = (ms: number) => ({ expiresAt: NOW + ms, mintedAt: NOW + ms - HOUR });
/** A token minted `ago` ms before now that lived `lifetime` ms. */
const mintedAgo = (ago: number, lifetime: number) => ({ mintedAt: NOW - ago, expiresAt: NOW - ago + lifetime });
const machines = (n: number, name: (i: number) => string) => Array.from({ length: n }, (_, i) => policy(name(i + 1)));

/**
 * How leads spread over the window [margin, 2 × margin): how many distinct seconds they fall on, and
 * how many fall into the busiest tenth of the window against a uniform share of it.
 */
function spreadOf(leads: number[]): { seconds: number; busiestTenth: number; uniformTenth: number } {
  const tenths = new Array<number>(10).fill(0);
  for (const lead of leads) tenths[Math.min(9, Math.floor(((lead - MARGIN) / MARGIN) * 10))]!++;
  return { seconds: new Set(leads.map((l) => Math.floor(l / 1000))).size, busiestTenth: Math.max(...tenths), uniformTenth: leads.length / 10 };
}

describe("refreshLeadMs: the margin, plus each machine's own share of one more margin", () => {
  it("lies within [margin, 2 × margin] for any machine: never later than the margin", () => {
    for (let i = 0; i < 500; i++) {
      const lead = refreshLeadMs(policy(`host-${i} 02:42:ac:11:00:${i}/10.0.0.${i}`));
      expect(lead).toBeGreaterThanOrEqual(MARGIN);
      expect(lead).toBeLessThanOrEqual(2 * MARGIN);
    }
  });

  it("is fixed for one machine", () => {
    expect(refreshLeadMs(policy("build-7"))).toBe(refreshLeadMs(policy("build-7")));
  });

  it.each([
    // What io.machineIdentity gives clones: host name, then each non-internal interface's mac/address.
    ["clones of one image", 200, (i: number) => `ip-10-0-0-${i} 0a:1b:2c:3d:4e:${i.toString(16).padStart(2, "0")}/10.0.0.${i}`, 120],
    // Identities that differ only in their last characters: FNV-1a alone puts these on 3 seconds.
    ["ci-runner-1 … ci-runner-199", 199, (i: number) => `ci-runner-${i}`, 120],
    ["ci-runner-1 … ci-runner-1000", 1000, (i: number) => `ci-runner-${i}`, 270],
  ])("spreads %s over the window, not onto a few seconds", (_name, n, name, minSeconds) => {
    const s = spreadOf(machines(n, name).map(refreshLeadMs));
    expect(s.seconds).toBeGreaterThan(minSeconds);
    expect(s.busiestTenth).toBeLessThanOrEqual(2 * s.uniformTenth);
  });

  it.each([
    ["ci-runner-1 … ci-runner-1000", (i: number) => `ci-runner-${i}`],
    ["runner-0001 … runner-1000", (i: number) => `runner-${String(i).padStart(4, "0")}`],
  ])("puts at most 2× a uniform share into the busiest second of the window: %s (SPEC, bench:fleet)", (_name, name) => {
    const perSecond = new Map<number, number>();
    for (const lead of machines(1000, name).map(refreshLeadMs)) perSecond.set(Math.floor(lead / 1000), (perSecond.get(Math.floor(lead / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2 * (1000 / (MARGIN / 1000)));
  });

  it("tells a leading zero apart: ci-runner-01 and ci-runner-1 are two machines", () => {
    expect(refreshLeadMs(policy("ci-runner-01"))).not.toBe(refreshLeadMs(policy("ci-runner-1")));
  });

  it("scales with the margin", () => {
    expect(refreshLeadMs(policy("m", 0))).toBe(0);
    const lead = refreshLeadMs(policy("m", 600_000));
    expect(lead).toBeGreaterThanOrEqual(600_000);
    expect(lead).toBeLessThanOrEqual(1_200_000);
  });
});

describe("isFresh", () => {
  const unread = (): never => {
    throw new Error("the machine was asked for");
  };

  it("more than twice the margin left: fresh, without asking which machine this is", () => {
    expect(isFresh(left(2 * MARGIN + 1), NOW, { marginMs: MARGIN, machine: unread })).toBe(true);
    expect(isFresh(left(HOUR), NOW, { marginMs: MARGIN, machine: unread })).toBe(true);
  });

  it("the margin or less left: not fresh on any machine, without asking which one", () => {
    for (const ms of [MARGIN, MARGIN - 1, MARGIN / 2, 1, 0, -1, -HOUR]) {
      expect(isFresh(left(ms), NOW, { marginMs: MARGIN, machine: unread })).toBe(false);
      expect(isFresh({ expiresAt: NOW + ms }, NOW, { marginMs: MARGIN, machine: unread })).toBe(false);
    }
  });

  it("a long-lived token, in between: fresh exactly while more than this machine's lead is left", () => {
    for (const p of machines(50, (i) => `ci-runner-${i}`)) {
      const lead = refreshLeadMs(p);
      expect(refreshPoint(left(lead), NOW, p)).toBe(NOW);
      expect(isFresh(left(lead + 1), NOW, p)).toBe(true);
      expect(isFresh(left(lead), NOW, p)).toBe(false);
      expect(isFresh(left(lead - 1), NOW, p)).toBe(false);
    }
  });

  it("two machines with different leads disagree in between, and only there", () => {
    const byLead = machines(50, (i) => `m${i}`)
      .map((p) => ({ p, lead: refreshLeadMs(p) }))
      .sort((a, b) => a.lead - b.lead);
    const early = byLead.at(-1)!;
    const late = byLead[0]!;
    expect(early.lead).toBeGreaterThan(late.lead + MARGIN / 2);
    const between = Math.round((early.lead + late.lead) / 2);
    expect(isFresh(left(between), NOW, early.p)).toBe(false);
    expect(isFresh(left(between), NOW, late.p)).toBe(true);
    for (const ms of [MARGIN, 2 * MARGIN + 1]) expect(isFresh(left(ms), NOW, early.p)).toBe(isFresh(left(ms), NOW, late.p));
  });

  it("a 303 s token with a 300 s margin, on every machine: served when minted and a second later, refreshed once 299 s are left", () => {
    for (const p of machines(1000, (i) => `ci-runner-${i}`)) {
      expect(isFresh(mintedAgo(0, 303_000), NOW, p)).toBe(true);
      expect(isFresh(mintedAgo(1000, 303_000), NOW, p)).toBe(true);
      expect(isFresh(mintedAgo(4000, 303_000), NOW, p)).toBe(false);
    }
  });

  it("a short-lived token is never due before half its time outside the margin has passed, nor later than the margin", () => {
    for (const p of machines(200, (i) => `ci-runner-${i}`)) {
      for (const lifetime of [MARGIN + 2, MARGIN + 10_000, 1.5 * MARGIN, 2 * MARGIN, 3 * MARGIN]) {
        const token = mintedAgo(0, lifetime);
        const point = refreshPoint(token, NOW, p);
        expect(point - token.mintedAt).toBeGreaterThanOrEqual((lifetime - MARGIN) / 2);
        expect(token.expiresAt - point).toBeGreaterThanOrEqual(MARGIN);
      }
    }
  });

  it("a token shorter-lived than the margin is due at once (every get refreshes it)", () => {
    expect(isFresh(mintedAgo(0, MARGIN - 1000), NOW, policy("m"))).toBe(false);
  });

  it("short-lived tokens spread their points too (over the half of their time outside the margin)", () => {
    const token = mintedAgo(0, 2 * MARGIN);
    const points = machines(1000, (i) => `ci-runner-${i}`).map((p) => refreshPoint(token, NOW, p));
    expect(new Set(points.map((t) => Math.floor(t / 1000))).size).toBeGreaterThan(140);
  });

  it("a token without its mint time (from the fleet) counts as minted now: with more than the margin left, fresh on every machine", () => {
    for (const p of machines(200, (i) => `ci-runner-${i}`)) {
      expect(isFresh({ expiresAt: NOW + MARGIN + 2 }, NOW, p)).toBe(true);
      expect(isFresh({ expiresAt: NOW + 7300_000 }, NOW, { ...p, marginMs: 7200_000 })).toBe(true);
      expect(refreshPoint({ expiresAt: NOW + HOUR }, NOW, p)).toBe(refreshPoint(left(HOUR), NOW, p));
    }
  });

  it("the fleet's copy of the token this machine holds (same expiry, no mint time) is due when the held one is", () => {
    for (const p of machines(200, (i) => `ci-runner-${i}`)) {
      const lead = refreshLeadMs(p);
      const held = left(lead);
      expect(isFresh({ expiresAt: held.expiresAt }, NOW, { ...p, held })).toBe(false);
      expect(isFresh({ expiresAt: held.expiresAt + 1 }, NOW, { ...p, held })).toBe(true);
      expect(isFresh({ expiresAt: NOW + lead + 1 }, NOW, { ...p, held: left(lead + 1) })).toBe(true);
    }
  });

  it("with a zero margin, fresh means not yet expired", () => {
    expect(isFresh(left(1), NOW, policy("m", 0))).toBe(true);
    expect(isFresh(left(0), NOW, policy("m", 0))).toBe(false);
  });
});
