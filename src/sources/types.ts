import type { Deadline } from "../deadline";
import type { Scope } from "../scope";
import type { Token } from "../token";
import type { Trace } from "../trace";

/** A small persistent key/value memo a source may use (e.g. owner → installation id). */
export interface Memo {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export interface MintContext {
  deadline: Deadline;
  trace: Trace;
  now: () => number;
  env: Readonly<Record<string, string | undefined>>;
  /** At most this many HTTP attempts (1 when a usable token is already in hand). */
  maxAttempts: number;
  memo?: Memo;
  /**
   * Called (and awaited) as soon as a grant source sees its grant rotated (a new refresh_token in an
   * answer), before anything else: the old grant no longer works, so the caller keeps the new one.
   * Sources never write files themselves.
   */
  onRotated?: (refreshToken: string) => Promise<void>;
}

export interface Source {
  mint(scope: Scope, ctx: MintContext): Promise<Token>;
}
