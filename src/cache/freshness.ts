import { hash64 } from "../hash";
import type { Io } from "../io";
import type { Settings } from "../settings";
import type { CacheEntry } from "./entry";

/**
 * When this machine refreshes a token: `marginMs` is the refresh margin; `machine` says what tells
 * this machine from its clones (read only when needed: near the refresh point).
 */
export interface RefreshPolicy {
  marginMs: number;
  machine: () => string;
  /**
   * The token this machine holds, if any: a copy of it met without its mint time (the fleet's entry
   * for the same expiry) was minted when it was, so that copy is due when this machine's own is.
   */
  held?: Expiring;
}

/** What the refresh point of a token depends on: its expiry and, when known, when it was minted. */
export type Expiring = Pick<CacheEntry, "expiresAt"> & Partial<Pick<CacheEntry, "mintedAt">>;

/** This machine's policy under these settings. */
export function refreshPolicy(settings: Pick<Settings, "refreshMarginMs">, io: Pick<Io, "machineIdentity">): RefreshPolicy {
  return { marginMs: settings.refreshMarginMs, machine: io.machineIdentity };
}

/**
 * How long before expiry this machine refreshes a long-lived token: the whole margin plus this
 * machine's share of one more margin, derived from its identity, so machines booted together from
 * one image do not all refresh in the same second. Never less than the margin: with less than the
 * margin left, every machine refreshes. A token too short-lived for the whole spread is refreshed
 * later than this (refreshPoint), never earlier.
 */
export function refreshLeadMs(policy: RefreshPolicy): number {
  return policy.marginMs + Math.round(policy.marginMs * machineFraction(policy));
}

/**
 * The instant from which this machine refreshes `token`: `refreshLeadMs` before expiry, except that
 * the spread beyond the margin takes at most half of the time the token had outside the margin, so
 * a freshly minted token is never due at once. Without `mintedAt` (a token from the fleet), the
 * token counts as minted when the one held (same expiry) was, else at `now`.
 */
export function refreshPoint(token: Expiring, now: number, policy: RefreshPolicy): number {
  return token.expiresAt - policy.marginMs - spreadMs(token, now, policy);
}

/**
 * Fresh: expiry is further away than this machine's refresh point. Whatever the machine, a token
 * with the margin or less left is not fresh, one with more than twice the margin is: the machine's
 * identity is read only in between.
 */
export function isFresh(token: Expiring, now: number, policy: RefreshPolicy): boolean {
  const left = token.expiresAt - now;
  if (left <= policy.marginMs) return false;
  if (left > 2 * policy.marginMs) return true;
  return now < refreshPoint(token, now, policy);
}

/** How much earlier than the margin this machine refreshes `token`: its share of at most one margin. */
function spreadMs(token: Expiring, now: number, policy: RefreshPolicy): number {
  const held = policy.held?.expiresAt === token.expiresAt ? policy.held.mintedAt : undefined;
  const lifetime = token.expiresAt - (token.mintedAt ?? held ?? now);
  const room = Math.min(policy.marginMs, Math.floor((lifetime - policy.marginMs) / 2));
  return room > 0 ? Math.round(room * machineFraction(policy)) : 0;
}

/** The golden ratio's fractional part: n × this, modulo 1, spreads n = 1, 2, 3 … as evenly as any sequence can. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/**
 * This machine's place in [0, 1): fixed for one machine, spread over clones. Clones are often named
 * in sequence (ci-runner-1 … ci-runner-1000): a hash puts such names at random points, and 1,000
 * random points over a 300 s window crowd about 3× a uniform share into their busiest second. So a
 * trailing number n places the machine at n × GOLDEN past its stem's own (hashed) point: consecutive
 * numbers then split the window into gaps of at most three sizes (the three-distance theorem), and the
 * busiest second holds little more than a uniform share. Leading zeros belong to the stem (01 is not 1).
 */
function machineFraction(policy: RefreshPolicy): number {
  const identity = policy.machine();
  const m = /^(.*?)(\d{1,9})$/.exec(identity);
  if (!m) return hashFraction(identity);
  const n = Number(m[2]);
  const zeros = m[2]!.length - String(n).length;
  return (hashFraction(`${m[1]}\u0000${zeros}`) + n * GOLDEN) % 1;
}

function hashFraction(text: string): number {
  return Number(mix(BigInt(`0x${hash64(`refresh point ${text}`)}`)) >> 32n) / 2 ** 32;
}

/**
 * MurmurHash3's 64-bit finaliser: FNV-1a's high bits barely move when only the last characters of a
 * name differ (ci-runner-1, ci-runner-2 …), so mix every bit into every other before taking them.
 */
function mix(h: bigint): bigint {
  const M = 0xffffffffffffffffn;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & M;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & M;
  return h ^ (h >> 33n);
}
