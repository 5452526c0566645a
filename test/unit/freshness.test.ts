import { describe, expect, it } from "vitest";
import { isFresh, refreshLeadMs, type RefreshPolicy } from "../../src/cache/freshness";

const NOW = 1_800_000_000_000;
const MARGIN = 300_000;

const policy = (machine: string, marginMs = MARGIN): RefreshPolicy => ({ marginMs, machine: () => machine });
const left = (ms: number) => ({ expiresAt: NOW + ms });

describe("refreshLeadMs: each machine's own point between half the margin and the whole margin", () => {
  it("lies within [margin/2, margin] for any machine", () => {
    for (let i = 0; i < 500; i++) {
      const lead = refreshLeadMs(policy(`host-${i} 02:42:ac:11:00:${i}/10.0.0.${i}`));
      expect(lead).toBeGreaterThanOrEqual(MARGIN / 2);
      expect(lead).toBeLessThanOrEqual(MARGIN);
    }
  });

  it("is fixed for one machine", () => {
    expect(refreshLeadMs(policy("build-7"))).toBe(refreshLeadMs(policy("build-7")));
  });

  it("spreads machines booted from one image over the window, not onto one second", () => {
    // What io.machineIdentity gives clones: host name, then each non-internal interface's mac/address.
    const identity = (i: number) => `ip-10-0-0-${i} 0a:1b:2c:3d:4e:${i.toString(16).padStart(2, "0")}/10.0.0.${i}`;
    const leads = Array.from({ length: 200 }, (_, i) => refreshLeadMs(policy(identity(i))));
    const seconds = new Set(leads.map((l) => Math.floor(l / 1000)));
    expect(seconds.size).toBeGreaterThan(100);
    const lowHalf = leads.filter((l) => l < MARGIN * 0.75).length;
    expect(lowHalf).toBeGreaterThan(50);
    expect(lowHalf).toBeLessThan(150);
  });

  it("scales with the margin", () => {
    expect(refreshLeadMs(policy("m", 0))).toBe(0);
    const lead = refreshLeadMs(policy("m", 600_000));
    expect(lead).toBeGreaterThanOrEqual(300_000);
    expect(lead).toBeLessThanOrEqual(600_000);
  });
});

describe("isFresh", () => {
  const unread = (): never => {
    throw new Error("the machine was asked for");
  };

  it("more than the whole margin left: fresh, without asking which machine this is", () => {
    expect(isFresh(left(MARGIN + 1), NOW, { marginMs: MARGIN, machine: unread })).toBe(true);
    expect(isFresh(left(3_600_000), NOW, { marginMs: MARGIN, machine: unread })).toBe(true);
  });

  it("half the margin or less left: not fresh, without asking either", () => {
    for (const ms of [MARGIN / 2, MARGIN / 2 - 1, 1, 0, -1, -3_600_000]) {
      expect(isFresh(left(ms), NOW, { marginMs: MARGIN, machine: unread })).toBe(false);
    }
  });

  it("in between: fresh exactly while more than this machine's lead is left", () => {
    for (const machine of ["alpha", "beta", "gamma", "delta"]) {
      const p = policy(machine);
      const lead = refreshLeadMs(p);
      expect(isFresh(left(lead + 1), NOW, p)).toBe(true);
      expect(isFresh(left(lead), NOW, p)).toBe(false);
      expect(isFresh(left(lead - 1), NOW, p)).toBe(false);
    }
  });

  it("two machines with different leads disagree in between, and only there", () => {
    const names = Array.from({ length: 50 }, (_, i) => `m${i}`);
    const byLead = names.map((n) => ({ p: policy(n), lead: refreshLeadMs(policy(n)) })).sort((a, b) => a.lead - b.lead);
    const early = byLead.at(-1)!;
    const late = byLead[0]!;
    expect(early.lead).toBeGreaterThan(late.lead);
    const between = Math.round((early.lead + late.lead) / 2);
    expect(isFresh(left(between), NOW, early.p)).toBe(false);
    expect(isFresh(left(between), NOW, late.p)).toBe(true);
    expect(isFresh(left(MARGIN + 1), NOW, early.p)).toBe(isFresh(left(MARGIN + 1), NOW, late.p));
  });

  it("with a zero margin, fresh means not yet expired", () => {
    expect(isFresh(left(1), NOW, policy("m", 0))).toBe(true);
    expect(isFresh(left(0), NOW, policy("m", 0))).toBe(false);
  });
});
