import type { Cluster, Redis } from "ioredis";
import { bounded, COMMAND_MS, FleetUnavailable } from "./bounded";
import { openConnection, type Connection, type ConnectOptions } from "./connect";
import { parseRedisUrl } from "./url";

export { CONNECT_MS, COMMAND_MS, FAILOVER_MS, FleetUnavailable } from "./bounded";

/** `cache clear --fleet` stops after this long, or this many SCAN rounds per primary, saying so. */
export const CLEAR_MS = 5000;
export const CLEAR_ROUNDS = 2000;

/** What `deletePrefix` did: how many names it deleted, and why it stopped before the end (undefined: it did not). */
export interface Cleared {
  deleted: number;
  stoppedEarly?: string;
}

/** What one claim saw: whether this machine took the lock, the note; taken, the entry read after taking it, else the lock's value. */
export interface Claim {
  taken: boolean;
  note: unknown;
  lock: unknown;
  entry: unknown;
}

/** The names of one scope the lock's commands touch (all in one hash slot). */
export interface LockNames {
  entry: string;
  note: string;
  lock: string;
  /** The waiters' count; `<wake>:<lock id>` is the wake list of one lock. */
  wake: string;
}

/**
 * The few Redis operations the fleet tier needs, each bounded (a hung Redis accepts the connection and then says
 * nothing), each on the names of one scope only (one hash slot: legal in a Redis Cluster), and few, as INFO
 * commandstats counts them (a Lua script: EVAL and each command it runs): a hit is one GET; a waiting machine
 * claims (EVAL SET GET INCR PEXPIRE GET) and blocks once (BLPOP).
 */
export interface FleetClient {
  /** GET of the entry alone (the hit). */
  read(entry: string): Promise<unknown>;
  /**
   * One Lua call: SET lock value NX PX ttl and the note; taken, it reads the entry (after the SET: nothing written
   * before it is missed); not taken, it reads the lock's value and counts this machine among the lock's waiters.
   */
  claim(names: LockNames, value: string, ttlMs: number): Promise<Claim>;
  /** BLPOP of one element from a wake list, for at most `ms`: the element, or null. */
  waitWake(list: string, ms: number): Promise<unknown>;
  /**
   * One Lua call: deletes the lock if it still holds our value (compare-and-delete), then pushes `payload` once for
   * each machine counted waiting on it onto its wake list (`<wake>:<id>`, expiring): each waiter pops one, none is left.
   */
  releaseLock(names: LockNames, value: string, id: string, payload: string): Promise<{ ours: boolean; waiters: number }>;
  /** Writes the entry with a TTL, unless a (valid) entry there lives longer; `replaceAny` when what is there did not open. */
  writeEntry(entry: string, value: string, ttlMs: number, replaceAny: boolean): Promise<void>;
  writeNote(note: string, value: string, ttlMs: number): Promise<void>;
  /** Compare-and-delete of the entry: removes it only if it still holds exactly `sealed` (for `erase`). */
  dropEntry(entry: string, sealed: string): Promise<boolean>;
  exists(names: string[]): Promise<boolean[]>;
  /** Deletes every key under the prefix (SCAN + DEL, on every primary), within CLEAR_MS and CLEAR_ROUNDS. */
  deletePrefix(prefix: string): Promise<Cleared>;
  /** "single node", "cluster, 3 of 3 primaries reached", "sentinel, master mymaster". */
  topology(): Promise<string>;
  close(): void;
}

/** How long unpopped wake elements (a waiter that gave up) outlive the lock they end. */
export const WAKE_MS = 15_000;

// KEYS: lock, note, entry, wake count. ARGV: value, ttl ms.
const CLAIM = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, redis.call('GET', KEYS[2]), false, redis.call('GET', KEYS[3])} end
local held = redis.call('GET', KEYS[1])
if held then redis.call('INCR', KEYS[4]) redis.call('PEXPIRE', KEYS[4], ARGV[2]) end
return {0, redis.call('GET', KEYS[2]), held, false}`;
// KEYS: lock, wake count, wake list. ARGV: value, payload, wake ms.
const RELEASE = `local ours = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) ours = 1 end
local n = math.min(tonumber(redis.call('GETDEL', KEYS[2])) or 0, 1000)
if n > 0 then local items = {} for i = 1, n do items[i] = ARGV[2] end redis.call('RPUSH', KEYS[3], unpack(items)) redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
return {ours, n}`;
const WRITE_IF_LONGER = `if ARGV[3] ~= '1' and redis.call('PTTL', KEYS[1]) > tonumber(ARGV[2]) then return 0 end redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1`;
const DROP_IF_SAME = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Connects within CONNECT_MS (src/fleet/connect.ts: one node, a cluster detected from its answer, or Sentinel), or
 * throws FleetUnavailable. No retries: a failure is final for this run, except across a failover (connect.ts).
 */
export async function connectFleet(url: string, opts: ConnectOptions = {}): Promise<FleetClient> {
  const target = parseRedisUrl(url);
  if ("problem" in target) throw new FleetUnavailable(target.problem);
  const conn = await openConnection(target, opts);
  return fleetClient(conn.redis, { ...conn, master: target.master });
}

/**
 * The tier's commands on a connected ioredis client, a single node or a Cluster alike: every command names keys of
 * one scope only. No `commandTimeout` should be set on the client for blocking commands to block: when one is, the
 * wait is cut to fit inside it (more rounds, still bounded).
 */
export function fleetClient(redis: Redis | Cluster, conn?: Omit<Connection, "redis"> & { master?: string }): FleetClient {
  const ioTimeout = commandTimeoutOf(redis);
  /** A running command bounded by `ms` (the client's own bound, whatever ioredis is told), longer while a failover is under way. */
  const run = <T>(work: Promise<T>, what: string, ms = COMMAND_MS) => bounded(work, ms, what, conn?.failoverLeft);
  return {
    read: (entry) => run(redis.get(entry), "reading"),
    async claim(names, value, ttlMs) {
      const ttl = String(Math.max(1, Math.round(ttlMs)));
      const reply = await run(redis.eval(CLAIM, 4, names.lock, names.note, names.entry, names.wake, value, ttl), "claiming");
      if (!Array.isArray(reply) || reply.length !== 4) throw new FleetUnavailable("the claim's answer is not what the script returns");
      const [taken, note, lock, entry] = reply as unknown[];
      return { taken: taken === 1, note, lock, entry };
    },
    async waitWake(list, ms) {
      const blockMs = Math.max(10, Math.floor(ioTimeout === undefined ? ms : Math.min(ms, ioTimeout - 100)));
      const popped = await run(redis.blpop(list, (blockMs / 1000).toFixed(3)), "waiting", blockMs + COMMAND_MS);
      return popped === null ? null : popped[1];
    },
    async releaseLock(names, value, id, payload) {
      const reply = await run(redis.eval(RELEASE, 3, names.lock, names.wake, `${names.wake}:${id}`, value, payload, String(WAKE_MS)), "unlocking");
      const [ours, waiters] = Array.isArray(reply) ? (reply as unknown[]) : [];
      return { ours: ours === 1, waiters: typeof waiters === "number" ? waiters : 0 };
    },
    writeEntry: async (entry, value, ttlMs, replaceAny) =>
      void (await run(redis.eval(WRITE_IF_LONGER, 1, entry, value, String(Math.max(1, Math.round(ttlMs))), replaceAny ? "1" : "0"), "writing")),
    writeNote: async (note, value, ttlMs) => void (await run(redis.set(note, value, "PX", ttlMs), "writing")),
    dropEntry: async (entry, sealed) => (await run(redis.eval(DROP_IF_SAME, 1, entry, sealed), "erasing")) === 1,
    exists: async (names) => (await run(Promise.all(names.map((n) => redis.exists(n))), "reading")).map((n) => n > 0),
    deletePrefix: (prefix) => deleteOnEveryPrimary(conn?.primaries() ?? [redis as Redis], prefix),
    async topology() {
      if (conn?.kind === "sentinel") return `sentinel, master ${conn.master}`;
      if (conn?.kind !== "cluster") return "single node";
      const primaries = conn.primaries();
      const reached = await Promise.all(primaries.map((p) => bounded(p.ping(), COMMAND_MS, "pinging").then(() => 1, () => 0)));
      return `cluster, ${reached.reduce<number>((a, b) => a + b, 0)} of ${primaries.length} primaries reached`;
    },
    close: () => (conn ? conn.close() : redis.disconnect()),
  };
}

/** ioredis's own per-command timeout, if the client was made with one (it also cuts blocking commands short). */
function commandTimeoutOf(redis: Redis | Cluster): number | undefined {
  const options = redis.options as { commandTimeout?: unknown; redisOptions?: { commandTimeout?: unknown } };
  const ms = options.commandTimeout ?? options.redisOptions?.commandTimeout;
  return typeof ms === "number" && ms > 0 ? ms : undefined;
}

class Unending extends FleetUnavailable {}

/**
 * SCAN each primary for the prefix and DEL what it finds, one name at a time in a pipeline (names of several
 * slots never go in one DEL). Bounded: CLEAR_MS in all and CLEAR_ROUNDS per primary (a server whose SCAN never
 * ends); a primary that fails is skipped, and the first reason to stop is reported.
 */
async function deleteOnEveryPrimary(primaries: Redis[], prefix: string): Promise<Cleared> {
  const until = Date.now() + CLEAR_MS;
  let deleted = 0;
  let stoppedEarly: string | undefined;
  for (const [i, node] of primaries.entries()) {
    const where = primaries.length > 1 ? ` on primary ${i + 1} of ${primaries.length}` : "";
    let cursor = "0";
    let rounds = 0;
    try {
      do {
        if (rounds++ >= CLEAR_ROUNDS) throw new Unending(`SCAN did not end after ${CLEAR_ROUNDS} rounds${where}`);
        const left = until - Date.now();
        if (left <= 0) throw new Unending(`SCAN did not end within ${CLEAR_MS / 1000} s${where}`);
        const [next, keys] = await bounded(node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000), Math.min(COMMAND_MS, left), "scanning");
        cursor = String(next);
        if (keys.length) {
          const replies = await bounded(node.pipeline(keys.map((k) => ["del", k])).exec(), Math.min(COMMAND_MS * 4, Math.max(1, until - Date.now())), "deleting");
          for (const [err, n] of replies ?? []) if (!err && typeof n === "number") deleted += n;
        }
      } while (cursor !== "0");
    } catch (err) {
      // One node that fails is Redis failing (the caller says it could not clear); a bound, or one primary of several, is said in one line.
      if (primaries.length === 1 && !(err instanceof Unending)) throw err;
      stoppedEarly ??= err instanceof Unending ? err.message : `${(err as Error).message}${where}`;
      if (Date.now() >= until) break;
    }
  }
  return { deleted, stoppedEarly };
}
