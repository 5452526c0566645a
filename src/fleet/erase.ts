import { redact, type Trace } from "../trace";
import { connectFleet, FleetUnavailable, type FleetClient } from "./client";
import { FENCE_DEFAULT_MS, fenceOn, type Memos } from "./fence";
import { deriveKeys, namesFor } from "./keys";
import { readEntry } from "./tier";

export interface FleetErase {
  url: string;
  secret: string;
  scopeKey: string;
  /** The token git rejected. */
  token: string;
  /** Its expiry, when the local cache knew it. */
  expiresAt?: number;
  /** The cache store, for the local fence; undefined when the cache folder cannot be used. */
  memos?: Memos;
  now: () => number;
  trace: Trace;
  connect?: (url: string) => Promise<FleetClient>;
}

/**
 * `erase` with VERS_REDIS_URL: fence the rejected token on this machine, then drop the fleet's entry for the scope if
 * it holds that very token — compared and deleted in one Lua call on the exact sealed value read, so an entry another
 * machine wrote meanwhile stays. The next `get` anywhere mints anew. Redis failing is one trace line.
 */
export async function eraseFromFleet(e: FleetErase): Promise<void> {
  const fence = e.memos && fenceOn(e.memos, e.now);
  fence?.add(e.token, e.expiresAt ?? e.now() + FENCE_DEFAULT_MS);
  const keys = deriveKeys(e.secret);
  const names = namesFor(keys, e.scopeKey);
  let client: FleetClient | undefined;
  try {
    client = await (e.connect ?? connectFleet)(e.url);
    const stored = await client.read(names.entry);
    const held = readEntry(keys, names.entry, stored, e.scopeKey);
    if (held?.token !== e.token || typeof stored !== "string") {
      e.trace(`erase: the fleet does not hold ${redact(e.token)}; left alone`);
      return;
    }
    if (held.expiresAt !== undefined) fence?.add(e.token, held.expiresAt);
    const dropped = await client.dropEntry(names.entry, stored);
    e.trace(dropped ? `erased ${redact(e.token)} from the fleet` : "erase: the fleet's entry changed meanwhile; left alone");
  } catch (err) {
    if (!(err instanceof FleetUnavailable)) throw err;
    e.trace(`erase: fleet tier unavailable (${err.message}); the fleet's entry is left alone`);
  } finally {
    client?.close();
  }
}
