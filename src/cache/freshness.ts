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

/** This machine's place in [0, 1): fixed for one machine, spread over clones. */
function machineFraction(policy: RefreshPolicy): number {
  return Number(mix(BigInt(`0x${hash64(`refresh point ${policy.machine()}`)}`)) >> 32n) / 2 ** 32;
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
