import type { Deadline } from "../deadline";
import type { Permissions } from "../profiles";
import type { Scope } from "../scope";
import type { Trace } from "../trace";

/** A token as a source hands it over. */
export interface Token {
  token: string;
  /** Milliseconds since the epoch; undefined when unknown (static tokens). */
  expiresAt?: number;
  permissions?: Permissions;
  repositories?: string[];
}

/** A small persistent key/value memo a source may use (e.g. owner → installation id). */
export interface Memo {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export interface MintContext {
  deadline: Deadline;
  trace: Trace;
  now: () => number;
  /** At most this many HTTP attempts (1 when a usable token is already in hand). */
  maxAttempts: number;
  memo?: Memo;
}

export interface Source {
  /** Names the source in messages, e.g. "the broker at https://vers.sh". */
  readonly label: string;
  mint(scope: Scope, ctx: MintContext): Promise<Token>;
}
