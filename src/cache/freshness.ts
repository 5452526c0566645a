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
}

/** This machine's policy under these settings. */
export function refreshPolicy(settings: Pick<Settings, "refreshMarginMs">, io: Pick<Io, "machineIdentity">): RefreshPolicy {
  return { marginMs: settings.refreshMarginMs, machine: io.machineIdentity };
}

/**
 * How long before expiry this machine refreshes: a fixed point between half the margin and the whole
 * margin, derived from the machine's identity, so machines booted together from one image do not
 * all refresh in the same second.
 */
export function refreshLeadMs(policy: RefreshPolicy): number {
  const fraction = Number(mix(BigInt(`0x${hash64(`refresh point ${policy.machine()}`)}`)) >> 32n) / 2 ** 32;
  return Math.round(policy.marginMs * (0.5 + 0.5 * fraction));
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

/** Fresh: expiry is further away than this machine's refresh point. */
export function isFresh(entry: Pick<CacheEntry, "expiresAt">, now: number, policy: RefreshPolicy): boolean {
  const left = entry.expiresAt - now;
  if (left > policy.marginMs) return true;
  if (left <= policy.marginMs / 2) return false;
  return left > refreshLeadMs(policy);
}
