import Redis, { Cluster, type RedisOptions } from "ioredis";
import type { Deadline } from "../deadline";
import { bounded, COMMAND_MS, CONNECT_MS, FAILOVER_MS, FleetUnavailable, MINT_RESERVE_MS } from "./bounded";
import type { RedisTarget } from "./url";

/**
 * The ioredis client for a target: one node; a Redis Cluster when the node given says it is one
 * (`INFO cluster`: cluster_enabled:1, or a MOVED reply), through ioredis's own Cluster client; or the primary a set of
 * sentinels names, through ioredis's own Sentinel support. No hand-written cluster logic.
 *
 * Every connection is bounded (CONNECT_MS) and never retried, except across a failover: once a cluster
 * or Sentinel client loses a primary, its commands may wait for the promotion up to FAILOVER_MS, never
 * past the point where MINT_RESERVE_MS of the deadline is left (`failoverLeft`).
 */
export interface Connection {
  redis: Redis | Cluster;
  readonly kind: "node" | "cluster" | "sentinel";
  /** The primaries (each a Redis client), for SCAN; for a cluster, those its slot table names. */
  primaries(): Redis[];
  /** Milliseconds a step may still wait for a failover under way (0: none under way, or no time left). */
  failoverLeft(): number;
  close(): void;
}

export interface ConnectOptions {
  /** The get's deadline, which a failover never eats into beyond MINT_RESERVE_MS. */
  deadline?: Deadline;
  /**
   * Ask the node at once whether it is a cluster (INFO cluster), for `status` and `cache clear --fleet`, which
   * need every primary. Otherwise (the tier, counting its commands) the first MOVED reply tells.
   */
  detect?: boolean;
}

const BASE: RedisOptions = {
  lazyConnect: true,
  connectTimeout: CONNECT_MS,
  enableReadyCheck: false,
  autoResubscribe: false,
  protocol: 2,
  disableClientInfo: true,
};

export async function openConnection(target: RedisTarget, opts: ConnectOptions = {}): Promise<Connection> {
  let lostAt: number | undefined;
  const failoverLeft = (): number => {
    if (lostAt === undefined) return 0;
    const byFailover = lostAt + FAILOVER_MS - Date.now();
    const byDeadline = opts.deadline ? opts.deadline.remaining() - MINT_RESERVE_MS : byFailover;
    return Math.max(0, Math.min(byFailover, byDeadline));
  };
  let wasReady = false;
  const lost = (): void => {
    if (wasReady) lostAt ??= Date.now();
  };

  const tls = target.tls ? {} : undefined;
  const first = target.nodes[0]!;
  // A Sentinel client reconnects (to the promoted replica) while a failover may be under way; a single node never.
  const redis = target.kind === "sentinel"
    ? new Redis({
        ...BASE,
        sentinels: target.nodes,
        name: target.master,
        role: "master",
        sentinelUsername: target.sentinelUsername,
        sentinelPassword: target.sentinelPassword,
        sentinelCommandTimeout: COMMAND_MS,
        // Asking the sentinels again only while a failover is under way (not on the first connection).
        sentinelRetryStrategy: () => (failoverLeft() > 0 ? 100 : null),
        enableTLSForSentinelMode: target.tls,
        sentinelTLS: tls,
        tls,
        // Not ioredis's failoverDetector: on +switch-master it ends the client (commands fail "Connection is closed");
        // the reconnection loop below finds the promoted primary by asking the sentinels again.
        failoverDetector: false,
        enableOfflineQueue: true,
        // Commands wait in the offline queue while ioredis asks the sentinels for the promoted primary, bounded by `run`.
        maxRetriesPerRequest: null,
        // The sentinels named a primary that cannot be reached (a connection lost, or refused even on the first
        // try): a failover is under way or about to be, so wait for it (bounded), also when this process starts.
        retryStrategy: () => {
          lostAt ??= Date.now();
          return failoverLeft() > 0 ? 100 : null;
        },
        reconnectOnError: (err) => (/^READONLY/.test(err.message) ? 2 : false),
      })
    : new Redis({ ...BASE, host: first.host, port: first.port, tls, maxRetriesPerRequest: 0, retryStrategy: () => null, reconnectOnError: () => false, enableOfflineQueue: false });
  // ioredis reports the cause (ECONNREFUSED, WRONGPASS …) as an event, and rejects with "Connection is closed".
  let cause: Error | undefined;
  redis.on("error", (err: Error) => (cause = err));
  await bounded(connected(redis), CONNECT_MS, "connecting", failoverLeft).catch((err: unknown) => {
    redis.disconnect();
    throw cause ? new FleetUnavailable(`connecting: ${cause.message}`) : err;
  });
  const run = <T>(work: Promise<T>, what: string) => bounded(work, COMMAND_MS, what);
  let needed = false;
  try {
    // AUTH and SELECT are sent here rather than in ioredis's handshake, which prints a warning on the console
    // (git's stderr) when the server needs no password, and goes on in database 0 when SELECT fails. Once they
    // are known to work, reconnections (a Sentinel failover) send them in the handshake.
    needed = target.password !== undefined && (await run(authenticate(redis, target.username, target.password), "authenticating"));
    if (target.kind === "node" && opts.detect && isCluster(await run(redis.info("cluster"), "asking whether it is a cluster"))) {
      redis.disconnect();
      if (target.db) throw new FleetUnavailable(`a Redis Cluster has only database 0, not ${target.db}`);
      wasReady = true;
      return await openCluster(target, needed, failoverLeft, lost);
    }
    if (target.db !== undefined) await run(redis.select(target.db), "selecting the database");
    if (needed) Object.assign(redis.options, { username: target.username, password: target.password });
    if (target.db !== undefined) redis.options.db = target.db;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  wasReady = true;
  if (target.kind === "sentinel") {
    redis.on("close", lost);
    return { redis, kind: target.kind, primaries: () => [redis], failoverLeft, close: () => redis.disconnect() };
  }
  return clusterOnMoved(redis, () => openCluster(target, needed, failoverLeft, lost), failoverLeft);
}

/** The commands the tier sends; on a node that answers MOVED they are sent again through the Cluster client. */
const FORWARDED: ReadonlySet<string> = new Set(["get", "set", "eval", "blpop", "exists", "del", "ping"]);

/**
 * A single node's client that becomes a Cluster client the first time the node answers MOVED (a cluster node
 * that does not own the slot): detection at no cost in commands, since every command of one scope names one slot
 * (its hash tag). A scope in the first node's own slots never needs the Cluster client at all.
 */
function clusterOnMoved(redis: Redis, openCluster: () => Promise<Connection>, failoverLeft: () => number): Connection {
  let cluster: Connection | undefined;
  let switching: Promise<Connection> | undefined;
  let closed = false;
  const call = (client: Redis | Cluster, name: string, args: unknown[]): Promise<unknown> => (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!(...args);
  const toCluster = (): Promise<Connection> =>
    (switching ??= openCluster().then((c) => {
      cluster = c;
      redis.disconnect();
      if (closed) c.close();
      return c;
    }));
  const proxy = new Proxy(redis, {
    get(target, prop, receiver) {
      if (typeof prop !== "string" || !FORWARDED.has(prop)) return Reflect.get(target, prop, receiver) as unknown;
      return (...args: unknown[]) => {
        if (switching) return switching.then((c) => call(c.redis, prop, args));
        return call(target, prop, args).catch((err: unknown) => {
          if (!/^MOVED /.test((err as Error)?.message ?? "")) throw err;
          return toCluster().then((c) => call(c.redis, prop, args));
        });
      };
    },
  });
  return {
    redis: proxy,
    get kind() {
      return cluster ? "cluster" : "node";
    },
    primaries: () => (cluster ? cluster.primaries() : [redis]),
    // While the Cluster client connects, a step may take that long on top of its own bound.
    failoverLeft: () => (switching && !cluster ? CONNECT_MS : failoverLeft()),
    close: () => {
      closed = true;
      redis.disconnect();
      cluster?.close();
    },
  };
}

async function openCluster(target: RedisTarget, needsPassword: boolean, failoverLeft: () => number, lost: () => void): Promise<Connection> {
  const tls = target.tls ? {} : undefined;
  const cluster = new Cluster([target.nodes[0]!], {
    lazyConnect: true,
    // No ready check: ioredis sends its CLUSTER INFO to a random node, and one lost primary would fail the
    // whole connection; a command for a slot that cannot be served fails on its own (a miss for that scope).
    enableReadyCheck: false,
    enableOfflineQueue: true,
    clusterRetryStrategy: () => null,
    // A few quick retries (a slot moving, a failover), well inside one step's bound, so the reply's own error is reported.
    maxRedirections: 6,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
    slotsRefreshTimeout: COMMAND_MS,
    // Node names as given (TLS checks the certificate against the name); plain connections too.
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      ...BASE,
      tls,
      maxRetriesPerRequest: 1,
      username: needsPassword ? target.username : undefined,
      password: needsPassword ? target.password : undefined,
    },
  });
  let cause: Error | undefined;
  cluster.on("error", (err: Error) => (cause = err));
  cluster.on("node error", (err: Error) => (cause = err));
  cluster.on("-node", lost);
  await bounded(cluster.connect(), CONNECT_MS + COMMAND_MS, "connecting to the cluster").catch((err: unknown) => {
    cluster.disconnect();
    throw cause ? new FleetUnavailable(`connecting to the cluster: ${cause.message}`) : err;
  });
  return { redis: cluster, kind: "cluster", primaries: () => cluster.nodes("master"), failoverLeft, close: () => cluster.disconnect() };
}

/**
 * Resolves when the client is ready; rejects when it gives up. Not connect()'s own promise, which rejects at
 * the first closed connection even while a Sentinel client reconnects to the primary a failover promotes.
 */
function connected(redis: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    redis.once("ready", () => resolve());
    redis.once("end", () => reject(new Error("Connection is closed.")));
    redis.connect().catch(() => undefined);
  });
}

function isCluster(info: string): boolean {
  return /^cluster_enabled:1\s*$/m.test(info);
}

/** AUTH; true when the server wanted it. A server that needs no password says so, which is not a failure. */
async function authenticate(redis: Redis, username: string | undefined, password: string): Promise<boolean> {
  try {
    await (username === undefined ? redis.auth(password) : redis.auth(username, password));
    return true;
  } catch (err) {
    if (/without any password configured|no password is set/i.test((err as Error).message)) return false;
    throw err;
  }
}
