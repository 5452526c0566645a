import type { Io } from "../io";
import { cacheDir } from "../cache/location";
import { CacheStore } from "../cache/store";

/** `cache clear`: removes every cached token, lock and memo. */
export function runCacheClear(io: Io): void {
  const dir = cacheDir();
  const removed = new CacheStore(dir).clear();
  io.stdout(`removed ${removed} cached token${removed === 1 ? "" : "s"} from ${dir}\n`);
}
