import Redis from "ioredis";

/** Redis failed us (down, slow, wrong password, out of memory, not Redis at all): the tier steps aside. */
export class FleetUnavailable extends Error {}

export const CONNECT_MS = 1000;
export const COMMAND_MS = 500;

/** The few Redis operations the fleet tier needs, each bounded (a hung Redis accepts the connection and then says nothing). */
export interface FleetClient {
  /** The entry and the failure note (as stored), and how long the fleet lock has left (ms; ≤ 0: none). */
  look(entry: string, note: string, lock: string): Promise<{ entry: unknown; note: unknown; lockMs: number }>;
  /** SET lock value NX PX ttl: true when taken. An error (e.g. out of memory) throws: that is Redis failing, not a held lock. */
  takeLock(lock: string, value: string, ttlMs: number): Promise<boolean>;
  /** Compare-and-delete: removes the lock only if it still holds our value. */
  releaseLock(lock: string, value: string): Promise<void>;
  /** Writes the entry with a TTL, unless a (valid) entry there lives longer; `replaceAny` when what is there did not open. */
  writeEntry(entry: string, value: string, ttlMs: number, replaceAny: boolean): Promise<void>;
  writeNote(note: string, value: string, ttlMs: number): Promise<void>;
  exists(names: string[]): Promise<boolean[]>;
  /** Deletes every key under the prefix (SCAN + DEL); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  close(): void;
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const WRITE_IF_LONGER = `if ARGV[3] ~= '1' and redis.call('PTTL', KEYS[1]) > tonumber(ARGV[2]) then return 0 end redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1`;

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
    commandTimeout: COMMAND_MS,
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
  const run = <T>(work: Promise<T>, what: string) => bounded(work, COMMAND_MS, what);
  try {
    if (password !== undefined) await run(authenticate(redis, username, password), "authenticating");
    if (db !== undefined) await run(redis.select(db), "selecting the database");
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return {
    async look(entry, note, lock) {
      const replies = await run(redis.multi().get(entry).get(note).pttl(lock).exec(), "reading");
      const [e, n, l] = (replies ?? []).map(([err, value]) => {
        if (err) throw new FleetUnavailable(err.message);
        return value;
      });
      return { entry: e, note: n, lockMs: typeof l === "number" ? l : 0 };
    },
    takeLock: async (lock, value, ttlMs) => (await run(redis.set(lock, value, "PX", ttlMs, "NX"), "locking")) === "OK",
    releaseLock: async (lock, value) => void (await run(redis.eval(RELEASE, 1, lock, value), "unlocking")),
    writeEntry: async (entry, value, ttlMs, replaceAny) =>
      void (await run(redis.eval(WRITE_IF_LONGER, 1, entry, value, String(Math.max(1, Math.round(ttlMs))), replaceAny ? "1" : "0"), "writing")),
    writeNote: async (note, value, ttlMs) => void (await run(redis.set(note, value, "PX", ttlMs), "writing")),
    exists: async (names) => (await run(Promise.all(names.map((n) => redis.exists(n))), "reading")).map((n) => n > 0),
    async deletePrefix(prefix) {
      let cursor = "0";
      let deleted = 0;
      do {
        const [next, keys] = await run(redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 200), "scanning");
        cursor = next;
        if (keys.length) deleted += await run(redis.del(...keys), "deleting");
      } while (cursor !== "0");
      return deleted;
    },
    close: () => redis.disconnect(),
  };
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
