import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from "vitest";
import { spawn } from "node:child_process";
import { connect as connectTcp, createServer, type Server } from "node:net";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Redis, type RedisOptions } from "ioredis";
import { RedisLaunchError, startHungServer, startJunkServer, startRedis, type HungServer, type RedisServer } from "./redis";

const HARNESS = fileURLToPath(new URL("./redis.ts", import.meta.url));
const PING = "*1\r\n$4\r\nPING\r\n";
const RESP_TYPE_BYTES = new Set("+-:$*_,#!=(%~>|".split(""));

const clients: Redis[] = [];
const NO_PDEATHSIG = { ...process.env, REDIS_HARNESS_NO_PDEATHSIG: "1" };

interface ChildExit { code: number | null; signal: NodeJS.Signals | null }
interface RunningChild {
  /** The child's redis-server. */
  pid: number;
  dir: string;
  exited: Promise<ChildExit>;
  kill(signal: NodeJS.Signals): void;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

/** A client that never retries and, unlike ioredis's own connect(), rejects with the error that stopped it. */
async function connectClient(url: string, extra: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    disableClientInfo: true,
    ...extra,
  });
  clients.push(client);
  let cause: Error | undefined;
  client.on("error", (err: Error) => (cause ??= err));
  await client.connect().catch((err: unknown) => {
    throw cause ?? err;
  });
  return client;
}

async function ping(url: string, extra: RedisOptions = {}): Promise<string> {
  const client = await connectClient(url, extra);
  return client.ping();
}

function withoutPassword(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.toString().replace(/\/$/, "");
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString().replace(/\/$/, "");
}

/** Sends `payload` on a raw TCP connection and collects what comes back until the server closes it. */
function rawExchangeUntilClosed(port: number, payload: string): Promise<{ received: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, "127.0.0.1", () => socket.write(payload));
    let received = "";
    let error: string | undefined;
    socket.on("data", (c: Buffer) => (received += c.toString("latin1")));
    socket.on("error", (err) => (error = err.message));
    socket.on("close", () => resolve({ received, error }));
  });
}

/** Connects, reads the first chunk, sends `payload`, reads the next chunk, then hangs up. */
function rawTwoChunks(port: number, payload: string): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1");
    const chunks: string[] = [];
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed after ${chunks.length} chunk(s)`)));
    socket.on("data", (c: Buffer) => {
      chunks.push(c.toString("latin1"));
      if (chunks.length === 1) return void socket.write(payload);
      socket.removeAllListeners("close");
      socket.destroy();
      resolve([chunks[0] ?? "", chunks[1] ?? ""]);
    });
  });
}

function isProcessGone(pid: number): Promise<boolean> {
  // A zombie (state Z) has exited; it only waits to be reaped by whoever adopted it.
  return readFile(`/proc/${pid}/stat`, "utf8").then(
    (stat) => /^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2)),
    () => true,
  );
}

/** Polls `check` with a short back-off, bounded by `limitMs` in total (for things no event reports). */
async function waitUntil(check: () => Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => existsSync(join(dir, name)));
}

describe("startRedis (plain TCP, random password)", () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.close();
  });
  beforeEach(async () => {
    await redis.start();
    await redis.command("FLUSHALL");
  });

  it("listens on loopback with a random password written into the url", () => {
    expect(redis.host).toBe("127.0.0.1");
    expect(redis.password).toMatch(/^[0-9a-f]{32}$/);
    expect(redis.url).toBe(`redis://:${redis.password}@127.0.0.1:${redis.port}`);
    expect(redis.caFile).toBeUndefined();
    expect(redis.pid).toEqual(expect.any(Number));
    expect(existsSync(redis.dir)).toBe(true);
  });

  it("answers PING with the password and refuses it without one or with a wrong one", async () => {
    expect(await ping(redis.url)).toBe("PONG");
    await expect(ping(withoutPassword(redis.url))).rejects.toThrow(/NOAUTH/);
    await expect(ping(withPassword(redis.url, "not-the-password"))).rejects.toThrow(/WRONGPASS/);
    // The same, said by Redis itself on a bare connection.
    const bare = await rawExchangeUntilClosed(redis.port, `${PING}*1\r\n$4\r\nQUIT\r\n`);
    expect(bare.received).toMatch(/^-NOAUTH /);
  });

  it("dump shows what was SET, with its TTL, and describes other types", async () => {
    await redis.command("SET", "session", "abc", "PX", 60_000);
    await redis.command("SET", "plain", "value");
    await redis.command("HSET", "h", "b", 2, "a", 1);
    await redis.command("RPUSH", "l", "x", "y");
    const dump = await redis.dump();
    expect(dump.map((e) => e.key)).toEqual(["h", "l", "plain", "session"]);
    expect(dump).toContainEqual({ key: "plain", type: "string", value: "value", ttlMs: -1 });
    expect(dump).toContainEqual({ key: "h", type: "hash", value: '{"a":"1","b":"2"}', ttlMs: -1 });
    expect(dump).toContainEqual({ key: "l", type: "list", value: '["x","y"]', ttlMs: -1 });
    const session = dump.find((e) => e.key === "session");
    expect(session).toMatchObject({ type: "string", value: "abc" });
    expect(session?.ttlMs).toBeGreaterThan(0);
    expect(session?.ttlMs).toBeLessThanOrEqual(60_000);
  });

  it("command passes Redis's own errors through", async () => {
    await redis.command("SET", "k", "garbage");
    expect(await redis.command("GET", "k")).toBe("garbage");
    await expect(redis.command("INCR", "k")).rejects.toThrow(/not an integer/);
  });

  it("fillMemory makes writes fail with Redis's OOM error; restoreMemory makes them work again", async () => {
    await redis.fillMemory();
    try {
      await expect(redis.command("SET", "k", "v")).rejects.toThrow(/^OOM command not allowed/);
      const client = await connectClient(redis.url);
      await expect(client.set("k", "v")).rejects.toThrow(/OOM/);
      expect(await client.ping()).toBe("PONG"); // reads and PING still work
    } finally {
      await redis.restoreMemory();
    }
    expect(await redis.command("SET", "k", "v")).toBe("OK");
    expect(await redis.dump()).toEqual([{ key: "k", type: "string", value: "v", ttlMs: -1 }]);
  });

  it("stop() makes connects fail; start() brings it back, empty, on the same port and url", async () => {
    const { port, url } = redis;
    const pid = redis.pid;
    await redis.command("SET", "k", "v");
    await redis.stop();
    expect(redis.pid).toBeUndefined();
    await expect(ping(url)).rejects.toThrow(/ECONNREFUSED/);
    await expect(redis.command("PING")).rejects.toThrow(/ECONNREFUSED/);
    await redis.start();
    expect(redis.port).toBe(port);
    expect(redis.url).toBe(url);
    expect(redis.pid).not.toBe(pid);
    expect(await ping(url)).toBe("PONG");
    expect(await redis.dump()).toEqual([]);
  });

  it("start() says the port was taken when something else holds it while Redis is down", async () => {
    await redis.stop();
    const squatter = await listenOn(redis.port);
    try {
      const err: unknown = await redis.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisLaunchError);
      expect((err as RedisLaunchError).portTaken).toBe(true);
      expect((err as Error).message).toMatch(/Address already in use/);
      expect(redis.pid).toBeUndefined();
    } finally {
      await closeServer(squatter);
    }
    await redis.start();
    expect(await ping(redis.url)).toBe("PONG");
  });
});

describe("startRedis options", () => {
  it("takes a chosen password", async () => {
    const redis = await startRedis({ password: "open sesame/:@" });
    try {
      expect(redis.password).toBe("open sesame/:@");
      expect(redis.url).toBe(`redis://:${encodeURIComponent("open sesame/:@")}@127.0.0.1:${redis.port}`);
      expect(await ping(redis.url)).toBe("PONG");
      await expect(ping(withoutPassword(redis.url))).rejects.toThrow(/NOAUTH/);
    } finally {
      await redis.close();
    }
  });

  it("gives each server its own port and random password", async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.password).not.toBe(b.password);
      expect(a.dir).not.toBe(b.dir);
      await expect(ping(withPassword(a.url, b.password as string))).rejects.toThrow(/WRONGPASS/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("runs without a password when given null, and close() kills it (by pid) and removes its folder", async () => {
    const redis = await startRedis({ password: null });
    const { pid, dir } = redis;
    try {
      expect(redis.password).toBeUndefined();
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await ping(redis.url)).toBe("PONG");
      expect(pid).toEqual(expect.any(Number));
      expect(await isProcessGone(pid as number)).toBe(false);
    } finally {
      await redis.close();
    }
    expect(await isProcessGone(pid as number)).toBe(true);
    expect(() => process.kill(pid as number, 0)).toThrow(/ESRCH/);
    expect(existsSync(dir)).toBe(false);
    expect(redis.pid).toBeUndefined();
    await redis.close(); // twice is fine
    await expect(redis.start()).rejects.toThrow(/closed/);
  });
});

describe("startRedis with TLS", () => {
  let redis: RedisServer;
  let ca: Buffer;

  beforeAll(async () => {
    redis = await startRedis({ tls: true });
    ca = await readFile(redis.caFile as string);
  });
  afterAll(async () => {
    await redis?.close();
  });

  it("serves rediss:// with a CA file", () => {
    expect(redis.url).toBe(`rediss://:${redis.password}@127.0.0.1:${redis.port}`);
    expect(redis.caFile).toBe(join(redis.dir, "ca.pem"));
  });

  it("accepts a TLS client that trusts caFile, and not one that does not", async () => {
    expect(await ping(redis.url, { tls: { ca } })).toBe("PONG");
    await expect(ping(redis.url)).rejects.toThrow(/self[- ]signed certificate/);
  });

  it("refuses a plain-TCP PING", async () => {
    const plain = await rawExchangeUntilClosed(redis.port, PING);
    expect(plain.received).not.toMatch(/PONG|NOAUTH/);
    await expect(ping(redis.url.replace(/^rediss:/, "redis:"))).rejects.toThrow();
  });

  it("dump and command work over TLS", async () => {
    await redis.command("SET", "k", "v", "EX", 100);
    const [entry] = await redis.dump();
    expect(entry).toMatchObject({ key: "k", type: "string", value: "v" });
    expect(entry?.ttlMs).toBeGreaterThan(0);
  });
});

describe("servers that are not Redis", () => {
  let hung: HungServer | undefined;

  afterEach(async () => {
    await hung?.close();
    hung = undefined;
  });

  it("hung server: a client with a 300 ms command timeout fails, and the connection was counted", async () => {
    hung = await startHungServer();
    expect(hung.url).toBe(`redis://127.0.0.1:${hung.port}`);
    expect(hung.connections).toBe(0);
    const client = new Redis(hung.url, { commandTimeout: 300, maxRetriesPerRequest: 0, retryStrategy: () => null });
    clients.push(client);
    client.on("error", () => undefined);
    await expect(client.ping()).rejects.toThrow(/timed out/i);
    expect(hung.connections).toBe(1);
  });

  it("junk server: answers with bytes that are not RESP, keeps the connection open, and a client fails", async () => {
    hung = await startJunkServer();
    const [first, second] = await rawTwoChunks(hung.port, PING);
    expect(RESP_TYPE_BYTES.has(first.charAt(0))).toBe(false);
    expect(second).toBe(first);
    expect(hung.connections).toBe(1);
    await expect(ping(hung.url, { commandTimeout: 300 })).rejects.toThrow();
    expect(hung.connections).toBe(2);
  });
});

describe("nothing left behind when the test process ends", () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "redis-exit-test-"));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** Bundles a small program that starts a server, prints its pid and folder, then runs `after`. */
  async function bundleChild(name: string, after: string): Promise<string> {
    const outfile = join(work, `${name}.cjs`);
    const contents = [
      `import { startRedis } from ${JSON.stringify(HARNESS)};`,
      `startRedis().then((r) => { process.stdout.write(JSON.stringify({ pid: r.pid, dir: r.dir }) + "\\n"); ${after} });`,
    ].join("\n");
    await build({ stdin: { contents, loader: "ts", resolveDir: work }, bundle: true, platform: "node", format: "cjs", outfile, logLevel: "silent" });
    return outfile;
  }

  /** What a failing check would leave behind is cleaned up here, so that a failure does not leak a server. */
  async function sweep(pid: number, dir: string): Promise<void> {
    if (!(await isProcessGone(pid))) process.kill(pid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }

  /** Runs a bundled program in a child node; resolves once it has printed its server's pid and folder. */
  async function runChild(program: string, env: NodeJS.ProcessEnv): Promise<RunningChild> {
    const child = spawn(process.execPath, [program], { env, stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<ChildExit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString("utf8");
        if (out.includes("\n")) resolve(out);
      });
      void exited.then(({ code, signal }) => reject(new Error(`child ended (${signal ?? code}) before starting redis`)));
    });
    const server = JSON.parse(line) as { pid: number; dir: string };
    return { ...server, exited, kill: (signal) => child.kill(signal) };
  }

  it("process exit kills redis-server and removes its folder (the exit hook alone, no parent-death signal)", async () => {
    const child = await runChild(await bundleChild("exits", "process.exit(0);"), NO_PDEATHSIG);
    try {
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(child.dir)).toBe(false); // removed synchronously before the process ended
      await waitUntil(() => isProcessGone(child.pid), `redis-server ${child.pid} to die`);
    } finally {
      await sweep(child.pid, child.dir);
    }
  });

  it("SIGTERM (how vitest ends its workers) kills redis-server, removes its folder, then still ends the process", async () => {
    const child = await runChild(await bundleChild("terminated", "setInterval(() => undefined, 1000);"), NO_PDEATHSIG);
    try {
      expect(await isProcessGone(child.pid)).toBe(false);
      child.kill("SIGTERM");
      expect(await child.exited).toEqual({ code: null, signal: "SIGTERM" });
      expect(existsSync(child.dir)).toBe(false);
      await waitUntil(() => isProcessGone(child.pid), `redis-server ${child.pid} to die`);
    } finally {
      child.kill("SIGKILL");
      await sweep(child.pid, child.dir);
    }
  });

  it.skipIf(!onPath("setpriv"))("a SIGKILLed test process takes its redis-server with it (parent-death signal)", async () => {
    const child = await runChild(await bundleChild("killed", "setInterval(() => undefined, 1000);"), process.env);
    try {
      expect(await isProcessGone(child.pid)).toBe(false);
      child.kill("SIGKILL");
      expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
      await waitUntil(() => isProcessGone(child.pid), `redis-server ${child.pid} to die`);
    } finally {
      child.kill("SIGKILL");
      await sweep(child.pid, child.dir); // no hook ran: the folder is ours to remove
    }
  });
});
