/**
 * Redis as fleets run it, from real redis-server processes on loopback (test/servers/redis.ts: free ports
 * picked through port 0, stopped by PID, killed with the test process): a three-primary Cluster, and a
 * primary with one replica behind three sentinels. Every wait is on a state the servers report
 * (cluster_state:ok, the sentinels seeing each other, +switch-master, ROLE), each bounded.
 * Also a fake cluster node that answers every data command with one error (CLUSTERDOWN, TRYAGAIN).
 */
import { createServer, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { listenOnLoopback } from "./listen";
import { startRedis, type RedisServer } from "./redis";

const HOST = "127.0.0.1";
const SLOTS = 16384;
/** Bound on every wait for a topology to settle (the machine may be shared and loaded). */
const SETTLE_MS = 30_000;
const CHECK_EVERY_MS = 50;

/** Polls `ready` (a cheap question to a server) until it holds, within SETTLE_MS; the error names `what`. */
async function until(what: string, ready: () => Promise<boolean>, ms = SETTLE_MS): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await ready()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms${last ? ` (${String(last)})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
  }
}

/** Redis Cluster's hash slot of a key (CRC16-XMODEM of its hash tag or whole name, mod 16384). */
export function slotOf(key: string): number {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  const tagged = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(tagged)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}

export interface RedisClusterSet {
  /** Any node's URL (the first primary's), with the password. */
  url: string;
  password: string;
  primaries: RedisServer[];
  /** The primary serving a key's slot (the slots are split in three even ranges). */
  ownerOf(key: string): RedisServer;
  /** How many keys each primary holds. */
  keyCounts(): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * Three primaries, no replicas, slots split in three ranges; a node unreachable for a second is marked failed
 * (cluster-node-timeout 1000) and the others go on serving their own slots (cluster-require-full-coverage no).
 */
export async function startRedisCluster(): Promise<RedisClusterSet> {
  const password = randomBytes(12).toString("hex");
  const args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no"];
  const primaries: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i++) primaries.push(await startRedis({ password, extraArgs: args }));
    const ranges = [[0, 5460], [5461, 10922], [10923, SLOTS - 1]] as const;
    await Promise.all(primaries.map((p, i) => p.command("CLUSTER", "ADDSLOTSRANGE", ranges[i]![0], ranges[i]![1])));
    for (const other of primaries.slice(1)) await primaries[0]!.command("CLUSTER", "MEET", HOST, other.port);
    for (const p of primaries) {
      await until(`cluster state ok on ${p.port}`, async () => {
        const info = String(await p.command("CLUSTER", "INFO"));
        return /cluster_state:ok/.test(info) && /cluster_known_nodes:3/.test(info) && /cluster_slots_ok:16384/.test(info);
      });
    }
  } catch (err) {
    await Promise.all(primaries.map((p) => p.close()));
    throw err;
  }
  const third = Math.ceil(SLOTS / 3);
  return {
    url: primaries[0]!.url,
    password,
    primaries,
    ownerOf: (key) => primaries[Math.min(2, Math.floor(slotOf(key) / third))]!,
    keyCounts: () => Promise.all(primaries.map(async (p) => (p.pid === undefined ? 0 : Number(await p.command("DBSIZE"))))),
    close: async () => void (await Promise.all(primaries.map((p) => p.close()))),
  };
}

export interface RedisSentinelSet {
  /** redis-sentinel://:<password>@127.0.0.1:<s1>,127.0.0.1:<s2>,127.0.0.1:<s3>#fleet */
  url: string;
  master: string;
  password: string;
  primary: RedisServer;
  replica: RedisServer;
  sentinels: RedisServer[];
  /** Resolves with the new primary's port on the next +switch-master a sentinel announces, once that node says ROLE master. */
  nextSwitch(): Promise<number>;
  close(): Promise<void>;
}

/** One primary, one replica, three sentinels (quorum 2, down after 1 s), all seeing each other before it resolves. */
export async function startRedisSentinels(): Promise<RedisSentinelSet> {
  const password = randomBytes(12).toString("hex");
  const master = "fleet";
  const started: RedisServer[] = [];
  try {
    const primary = await startRedis({ password, extraArgs: ["--masterauth", password] });
    started.push(primary);
    const replica = await startRedis({ password, extraArgs: ["--masterauth", password, "--replicaof", HOST, String(primary.port)] });
    started.push(replica);
    await until("the replica in sync", async () => /master_link_status:up/.test(String(await replica.command("INFO", "replication"))));
    const config = [
      `sentinel monitor ${master} ${HOST} ${primary.port} 2`,
      `sentinel auth-pass ${master} ${password}`,
      `sentinel down-after-milliseconds ${master} 1000`,
      `sentinel failover-timeout ${master} 10000`,
    ];
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await startRedis({ password: null, sentinelConfig: config });
      started.push(s);
      sentinels.push(s);
    }
    // A failover needs the sentinels to know each other (hello messages, every 2 s) and the replica.
    for (const s of sentinels) {
      await until(`sentinel ${s.port} seeing the others and the replica`, async () => {
        const flat = (await s.command("SENTINEL", "MASTER", master)) as string[];
        const field = (name: string) => flat[flat.indexOf(name) + 1];
        return field("num-other-sentinels") === "2" && field("num-slaves") === "1";
      });
    }
    const url = `redis-sentinel://:${password}@${sentinels.map((s) => `${HOST}:${s.port}`).join(",")}#${master}`;
    return {
      url,
      master,
      password,
      primary,
      replica,
      sentinels,
      nextSwitch: () => nextSwitch(sentinels[0]!, master, password),
      close: async () => void (await Promise.all(started.map((s) => s.close()))),
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
}

/** Subscribes at once; resolves on +switch-master for `master`, after the new primary answers ROLE master. */
function nextSwitch(sentinel: RedisServer, master: string, password: string): Promise<number> {
  const sub = new Redis({ host: HOST, port: sentinel.port, lazyConnect: true, maxRetriesPerRequest: 0, disableClientInfo: true });
  sub.on("error", () => undefined);
  const switched = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no +switch-master within ${SETTLE_MS} ms`)), SETTLE_MS);
    sub.on("message", (_channel: string, text: string) => {
      // "<master> <old ip> <old port> <new ip> <new port>"
      const [name, , , , port] = text.split(" ");
      if (name !== master) return;
      clearTimeout(timer);
      resolve(Number(port));
    });
  });
  return sub
    .connect()
    .then(() => sub.subscribe("+switch-master"))
    .then(() => switched)
    .then(async (port) => {
      const node = new Redis({ host: HOST, port, password, lazyConnect: true, maxRetriesPerRequest: 0, disableClientInfo: true });
      node.on("error", () => undefined);
      try {
        await node.connect();
        await until(`ROLE master on ${port}`, async () => ((await node.call("ROLE")) as unknown[])[0] === "master");
      } finally {
        node.disconnect();
      }
      return port;
    })
    .finally(() => sub.disconnect());
}

export interface FakeRedis {
  url: string;
  /** Commands answered by `reply` (not the built-in AUTH/SELECT/INFO/CLUSTER answers). */
  readonly answered: number;
  close(): Promise<void>;
}

const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;

/**
 * A RESP server on loopback: AUTH and SELECT are OK, INFO says whether it is a cluster, CLUSTER INFO/SLOTS
 * describe a one-node cluster owning every slot; every other command gets `reply(args)` (raw RESP).
 */
export async function startFakeRedis(o: { cluster: boolean; reply: (args: string[]) => string }): Promise<FakeRedis> {
  let answered = 0;
  const sockets = new Set<Socket>();
  let port = 0;
  const answer = (args: string[]): string => {
    const [name = "", sub = ""] = args.map((a) => a.toUpperCase());
    if (name === "AUTH" || name === "SELECT" || name === "READONLY") return "+OK\r\n";
    if (name === "INFO") return bulk(`# Cluster\r\ncluster_enabled:${o.cluster ? 1 : 0}\r\n`);
    if (o.cluster && name === "CLUSTER" && sub === "INFO") return bulk("cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_known_nodes:1\r\n");
    if (o.cluster && name === "CLUSTER" && sub === "SLOTS") return `*1\r\n*3\r\n:0\r\n:${SLOTS - 1}\r\n*3\r\n${bulk(HOST)}:${port}\r\n${bulk("f".repeat(40))}`;
    answered++;
    return o.reply(args);
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = "";
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      for (;;) {
        const parsed = parseCommand(buffered);
        if (!parsed) break;
        buffered = buffered.slice(parsed.used);
        socket.write(answer(parsed.args));
      }
    });
  });
  port = await listenOnLoopback(server);
  return {
    url: `redis://${HOST}:${port}`,
    get answered() {
      return answered;
    },
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
}

/** A one-node "cluster" that answers every data command with `error` ("CLUSTERDOWN …", "TRYAGAIN …"). */
export function startFakeClusterNode(error: string): Promise<FakeRedis> {
  return startFakeRedis({ cluster: true, reply: () => `-${error}\r\n` });
}

/** One RESP command (an array of bulk strings) from the start of `text`, or undefined when incomplete. */
function parseCommand(text: string): { args: string[]; used: number } | undefined {
  const head = /^\*(\d+)\r\n/.exec(text);
  if (!head) return undefined;
  let at = head[0].length;
  const args: string[] = [];
  for (let i = 0; i < Number(head[1]); i++) {
    const len = /^\$(\d+)\r\n/.exec(text.slice(at));
    if (!len) return undefined;
    at += len[0].length;
    if (text.length < at + Number(len[1]) + 2) return undefined;
    args.push(text.slice(at, at + Number(len[1])));
    at += Number(len[1]) + 2;
  }
  return { args, used: at };
}
