import { cacheFolder } from "../cache/folder";
import { CacheStore } from "../cache/store";
import { errorLine, HelperError } from "../errors";
import { chooseSource } from "../choose-source";
import { stopDaemons } from "../fast-path/daemons";
import { parseRedisUrl } from "../fleet/url";
import type { Io } from "../io";
import { resolveSettings, type Flags } from "../settings";

/**
 * `cache clear`: stops the fast path's daemons (a socket removed under a running daemon would leave it
 * unreachable, holding tokens), then removes every cached token, lock, note and memo — only files the
 * helper names, never recursively, never through a link. With --fleet, also this source's entries in
 * the fleet's Redis (found by a key prefix derived from the shared secret: no one else's).
 */
export async function runCacheClear(io: Io, flags: Flags, options: { fleet?: boolean }): Promise<number> {
  const folder = cacheFolder(io);
  if (folder.problem) throw new HelperError("bad-setting", folder.problem.what.replace("not using", "not clearing"), folder.problem.fix);
  await stopDaemons(folder.dir, io.env);
  const { removed, failed } = new CacheStore(folder.dir, io.uid).clear();
  io.stdout(`removed ${removed} cached token${removed === 1 ? "" : "s"} from ${folder.dir}\n`);
  if (options.fleet) await clearFleet(io, flags);
  if (failed.length === 0) return 0;
  io.stderr(errorLine(new HelperError("config", `could not remove ${failed.join(", ")}`, `check the folder's permissions: ls -la ${folder.dir}`)));
  return 1;
}

async function clearFleet(io: Io, flags: Flags): Promise<void> {
  const settings = resolveSettings(flags, io.env);
  if (settings.redisUrl === undefined) throw new HelperError("bad-setting", "--fleet needs the fleet's Redis", "set VERS_REDIS_URL or --redis-url");
  const target = parseRedisUrl(settings.redisUrl);
  if ("problem" in target) throw new HelperError("bad-setting", target.problem, "use redis://[user:password@]host:port[/db], rediss://…, or redis-sentinel://[[user]:password@]host[:port][,host[:port]…][/db]#<master name>");
  const source = chooseSource(settings, io);
  if (source.kind === "static") throw new HelperError("bad-setting", "a static token is never shared through the fleet", "nothing to clear in Redis");
  const fleet = await import("../fleet");
  const { deleted, stoppedEarly } = await fleet.clearFleet(target.url, fleet.sharedSecret(source)).catch((err: unknown) => {
    throw new HelperError("unavailable", `could not clear the fleet's entries at ${target.shown} (${(err as Error).message})`, "check VERS_REDIS_URL and try again");
  });
  io.stdout(`removed ${deleted} fleet entr${deleted === 1 ? "y" : "ies"} (tokens, locks, notes) from ${target.shown}\n`);
  if (stoppedEarly) throw new HelperError("unavailable", `stopped clearing the fleet's entries at ${target.shown} early: ${stoppedEarly}; some may remain`, "check that Redis answers SCAN normally and run cache clear --fleet again");
}
