import Redis, { type Cluster } from "ioredis";

/** Redis failed us (down, slow, wrong password, out of memory, not Redis at all): the tier steps aside. */
export class FleetUnavailable extends Error {}

export const CONNECT_MS = 1000;
export const COMMAND_MS = 500;

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
  /** Deletes every key under the prefix (SCAN + DEL); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
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
 * Connects within CONNECT_MS, or throws FleetUnavailable. No retries, no offline queue: a failure is final for this run.
 * AUTH and SELECT are sent here rather than in ioredis's handshake, which prints a warning on the console (git's stderr)
 * when the server needs no password, and goes on in database 0 when SELECT fails.
 */
export async function connectFleet(url: string): Promise<FleetClient> {
  const { address, username, password, db } = splitUrl(url);
  const redis = new Redis(address, {
    lazyConnect: true,
    connectTimeout: CONNECT_MS,
    // No commandTimeout: each command is bounded by `run` below, and a blocking wait must outlive COMMAND_MS.
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    autoResubscribe: false,
    protocol: 2,
    disableClientInfo: true,
  });
  // ioredis reports the cause (ECONNREFUSED, WRONGPASS …) as an event, and rejects with "Connection is closed".
  let cause: Error | undefined;
  redis.on("error", (err: Error) => (cause = err));
  await bounded(redis.connect(), CONNECT_MS, "connecting").catch((err: unknown) => {
    redis.disconnect();
    throw cause ? new FleetUnavailable(`connecting: ${cause.message}`) : err;
  });
  try {
    if (password !== undefined) await run(authenticate(redis, username, password), "authenticating");
    if (db !== undefined) await run(redis.select(db), "selecting the database");
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return fleetClient(redis);
}

/** A running command bounded by `ms` (the client's own bound, whatever ioredis is told), every failure as FleetUnavailable. */
const run = <T>(work: Promise<T>, what: string, ms = COMMAND_MS) => bounded(work, ms, what);

/**
 * The tier's commands on a connected ioredis client, a single node or a Cluster alike: every command names keys of
 * one scope only. No `commandTimeout` should be set on the client for blocking commands to block: when one is, the
 * wait is cut to fit inside it (more rounds, still bounded).
 */
export function fleetClient(redis: Redis | Cluster): FleetClient {
  const ioTimeout = commandTimeoutOf(redis);
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
    async deletePrefix(prefix) {
      let cursor = "0";
      let deleted = 0;
      do {
        const [next, keys] = await run((redis as Redis).scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 200), "scanning");
        cursor = next;
        if (keys.length) deleted += await run(redis.del(...keys), "deleting");
      } while (cursor !== "0");
      return deleted;
    },
    close: () => redis.disconnect(),
  };
}

/** ioredis's own per-command timeout, if the client was made with one (it also cuts blocking commands short). */
function commandTimeoutOf(redis: Redis | Cluster): number | undefined {
  const options = redis.options as { commandTimeout?: unknown; redisOptions?: { commandTimeout?: unknown } };
  const ms = options.commandTimeout ?? options.redisOptions?.commandTimeout;
  return typeof ms === "number" && ms > 0 ? ms : undefined;
}

/** The URL without its credentials and database (for ioredis), and those apart. */
function splitUrl(url: string): { address: string; username?: string; password?: string; db?: number } {
  const u = new URL(url);
  const db = /^\/(\d+)$/.exec(u.pathname)?.[1];
  return {
    address: `${u.protocol}//${u.host}`,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: db === undefined ? undefined : Number(db),
  };
}

/** AUTH; a server that needs no password says so, which is not a failure. */
async function authenticate(redis: Redis, username: string | undefined, password: string): Promise<void> {
  try {
    await (username === undefined ? redis.auth(password) : redis.auth(username, password));
  } catch (err) {
    if (!/without any password configured|no password is set/i.test((err as Error).message)) throw err;
  }
}

/** `work` within `ms`, every failure as FleetUnavailable naming the step. */
async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FleetUnavailable(`no answer within ${ms} ms ${what}`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } catch (err) {
    if (err instanceof FleetUnavailable) throw err;
    throw new FleetUnavailable(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}
