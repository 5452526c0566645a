import type { Acquired } from "./cache/acquire";
import type { CacheStore } from "./cache/store";
import type { NetworkSource } from "./choose-source";
import type { Deadline } from "./deadline";
import type { Io } from "./io";
import type { Scope } from "./scope";
import type { Settings } from "./settings";
import type { MintContext } from "./sources/types";
import type { Token } from "./token";
import type { Trace } from "./trace";

/**
 * The types the serve path (serve-token.ts) and the miss (mint-on-miss.ts) share, in a module of
 * their own so that serve-token imports mint-on-miss and nothing imports back.
 */

/** What the network side offers a miss: loaded from its own chunk, only by the process that mints. */
export interface Network {
  mintFrom(source: NetworkSource, scope: Scope, ctx: MintContext): Promise<Token>;
}

export interface Context {
  io: Io;
  settings: Settings;
  trace: Trace;
  /** Loads the network side; tests pass a fake source. */
  network?: () => Promise<Network>;
}

/** What a miss needs, once the cache has had its say. */
export interface Miss {
  source: NetworkSource;
  scope: Scope;
  key: string;
  store?: CacheStore;
  acquired: Extract<Acquired, { kind: "locked" | "uncached" }>;
  deadline: Deadline;
}
