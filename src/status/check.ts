import type { CacheEntry } from "../cache/entry";
import { cacheFolder } from "../cache/folder";
import { scopeKey } from "../cache/key";
import { lockWithin, type HeldLock } from "../cache/lock";
import { CacheStore } from "../cache/store";
import { sourceScope, type NetworkSource } from "../choose-source";
import { Deadline } from "../deadline";
import { isHelperError } from "../errors";
import { keepRotatedGrant } from "../grants/rotate";
import type { Io } from "../io";
import type { Network } from "../serve-context";
import type { Settings } from "../settings";
import { createTrace } from "../trace";
import type { Status } from "./collect";

/**
 * `status --check`: mints once from each source (each grant held), straight from the source — a fresh
 * cached token proves nothing — under the cache entry's lock, so that a grant the service rotates is
 * saved before any other process redeems the old one; the token minted goes into the cache, so the next
 * git operation serves it instead of minting again. A failure keeps what failed and what to do apart.
 */
export async function checkSources(io: Io, settings: Settings, sources: NetworkSource[]): Promise<NonNullable<Status["check"]>> {
  const started = io.now();
  const network: Network = await import("../sources");
  try {
    for (const source of sources) await mintOnce(io, settings, source, network);
    const grants = sources.filter((s) => s.kind === "grant").length;
    const message = grants === 0 ? "minted a token" : grants === 1 ? "redeemed the grant" : `redeemed ${grants} grants`;
    return { ok: true, ms: io.now() - started, message };
  } catch (err) {
    return { ok: false, ms: io.now() - started, message: isHelperError(err) ? err.what : String(err), fix: isHelperError(err) ? err.hint : "set VERS_CREDENTIAL_TRACE=1 and run it again" };
  }
}

async function mintOnce(io: Io, settings: Settings, source: NetworkSource, network: Network): Promise<void> {
  const deadline = Deadline.in(settings.timeoutMs, io.now);
  const trace = createTrace(io);
  const scope = sourceScope(source, { host: settings.hosts[0]!, repositories: [], permissions: settings.permissions, profile: settings.profile });
  const key = scopeKey(source.identity, scope);
  const held = await lockEntry(io, key, deadline);
  try {
    const onRotated = source.kind === "grant" ? keepRotatedGrant(io, trace, source.grant) : undefined;
    const token = await network.mintFrom(source, scope, { deadline, trace, now: io.now, env: io.env, maxAttempts: 3, onRotated });
    if (held && held.lock.stillHeld() && token.expiresAt !== undefined) {
      const entry: CacheEntry = {
        version: 2,
        key,
        host: scope.host,
        owner: scope.owner,
        repositories: token.repositories?.length ? token.repositories : scope.repositories,
        permissions: token.permissions ?? scope.permissions,
        token: token.token,
        expiresAt: token.expiresAt,
        mintedAt: io.now(),
        source: source.kind,
      };
      try {
        held.store.write(entry);
        held.store.clearFailure(key);
      } catch {
        // An unwritable cache: the check still proved the source; status reports the folder.
      }
    }
  } finally {
    await held?.lock.release();
  }
}

/** The entry's lock, waiting while another process holds it; none when the cache cannot be locked (nothing is cached then). */
async function lockEntry(io: Io, key: string, deadline: Deadline): Promise<{ store: CacheStore; lock: HeldLock } | undefined> {
  const folder = cacheFolder(io);
  if (folder.problem) return undefined;
  const store = new CacheStore(folder.dir, io.uid);
  try {
    store.ensureDir();
    const lock = await lockWithin(store.entryPath(key), deadline, io.now, io.sleep);
    return lock === "busy" ? undefined : { store, lock };
  } catch {
    return undefined;
  }
}
