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
 * saved before any other process redeems the old one.
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
    return { ok: false, ms: io.now() - started, message: isHelperError(err) ? err.message : String(err) };
  }
}

async function mintOnce(io: Io, settings: Settings, source: NetworkSource, network: Network): Promise<void> {
  const deadline = Deadline.in(settings.timeoutMs, io.now);
  const trace = createTrace(io);
  const scope = sourceScope(source, { host: settings.hosts[0]!, repositories: [], permissions: settings.permissions, profile: settings.profile });
  const lock = await lockEntry(io, scopeKey(source.identity, scope), deadline);
  try {
    const onRotated = source.kind === "grant" ? keepRotatedGrant(io, trace, source.grant) : undefined;
    await network.mintFrom(source, scope, { deadline, trace, now: io.now, env: io.env, maxAttempts: 3, onRotated });
  } finally {
    await lock?.release();
  }
}

/** The entry's lock, waiting while another process holds it; none when the cache cannot be locked. */
async function lockEntry(io: Io, key: string, deadline: Deadline): Promise<HeldLock | undefined> {
  const folder = cacheFolder(io);
  if (folder.problem) return undefined;
  const store = new CacheStore(folder.dir, io.uid);
  try {
    store.ensureDir();
    const lock = await lockWithin(store.entryPath(key), deadline, io.now, io.sleep);
    return lock === "busy" ? undefined : lock;
  } catch {
    return undefined;
  }
}
