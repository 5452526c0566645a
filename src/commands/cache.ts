import { cacheFolder } from "../cache/folder";
import { CacheStore } from "../cache/store";
import { errorLine, HelperError } from "../errors";
import { stopDaemons } from "../fast-path/daemons";
import type { Io } from "../io";

/**
 * `cache clear`: stops the fast path's daemons (a socket removed under a running daemon would leave it
 * unreachable, holding tokens), then removes every cached token, lock, note and memo — only files the
 * helper names, never recursively, never through a link.
 */
export async function runCacheClear(io: Io): Promise<number> {
  const folder = cacheFolder(io);
  if (folder.problem) throw new HelperError("bad-setting", folder.problem.what.replace("not using", "not clearing"), folder.problem.fix);
  await stopDaemons(folder.dir, io.env);
  const { removed, failed } = new CacheStore(folder.dir, io.uid).clear();
  io.stdout(`removed ${removed} cached token${removed === 1 ? "" : "s"} from ${folder.dir}\n`);
  if (failed.length === 0) return 0;
  io.stderr(errorLine(new HelperError("config", `could not remove ${failed.join(", ")}`, `check the folder's permissions: ls -la ${folder.dir}`)));
  return 1;
}
