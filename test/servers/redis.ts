import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants, rmSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { listenOnLoopback } from "./listen";

/** A real redis-server on loopback, in its own temporary folder, killed and removed by close(). */
export interface RedisServer {
  /** "redis://:<password>@127.0.0.1:<port>", "rediss://…" with TLS; no password part when there is none. */
  url: string;
  host: "127.0.0.1";
  port: number;
  /** Undefined when the server was started with `password: null`. */
  password?: string;
  /** The CA that signed the server's certificate (TLS only), for NODE_EXTRA_CA_CERTS or ioredis `tls: { ca }`. */
  caFile?: string;
  /** The server's temporary folder (its --dir, certificates); removed by close(). */
  readonly dir: string;
  /** The redis-server process id while it runs, undefined while stopped or closed. */
  readonly pid: number | undefined;
  /** The last few kilobytes the server printed, for failure messages. */
  readonly log: string;
  /** All keys with their values (strings; other types described), for asserting what Redis holds. */
  dump(): Promise<DumpEntry[]>;
  /** Runs one command (through a short-lived client) e.g. command("SET", "k", "garbage"). */
  command(...args: (string | number)[]): Promise<unknown>;
  /** Makes every write fail with Redis's own OOM error: CONFIG SET maxmemory 1 + noeviction (and back with restoreMemory). */
  fillMemory(): Promise<void>;
  restoreMemory(): Promise<void>;
  /**
   * Stops the server but keeps the port number and folder (Redis "down"); start() brings it back on the same port.
   * Nothing is persisted, so the server that start() brings back is empty and has its default settings.
   */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface DumpEntry {
  key: string;
  /** Redis's TYPE: "string", "hash", "list", "set", "zset", "stream"… */
  type: string;
  /** The string itself; JSON for hashes, lists, sets and sorted sets; a description for other types. */
  value: string;
  /** PTTL: milliseconds left, or -1 when the key never expires. */
  ttlMs: number;
}

export interface StartRedisOptions {
  /** The password (--requirepass): random when absent, none when null or "". */
  password?: string | null;
  /** Serve TLS only, with a certificate for 127.0.0.1 and localhost signed by a throwaway CA (caFile). */
  tls?: boolean;
  /** More redis-server arguments (cluster mode, replication), after the harness's own. */
  extraArgs?: string[];
  /**
   * Run as a sentinel (`redis-server <dir>/sentinel.conf --sentinel`) with these config lines: ready once it
   * prints "+monitor master". Its config file is rewritten by the sentinel, in the server's own folder.
   */
  sentinelConfig?: string[];
}

/** A TCP server on loopback that accepts connections and never answers (a hung Redis), counting connections. */
export interface HungServer {
  url: string;
  port: number;
  readonly connections: number;
  close(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? "redis-server";
const HOST = "127.0.0.1";
/** Bound on the wait for "Ready to accept connections" (redis is usually ready in a few milliseconds). */
const READY_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 5;
const LOG_TAIL_CHARS = 16_384;
/** Bounds for the harness's own short-lived clients (dump, command, fillMemory). */
const CLIENT_CONNECT_TIMEOUT_MS = 3_000;
const CLIENT_COMMAND_TIMEOUT_MS = 10_000;
/** What the junk server answers: a web server's reply, as when a client is pointed at the wrong port. */
const JUNK = Buffer.from("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>not redis</html>\r\n", "latin1");

// ---------------------------------------------------------------------------------------------
// Nothing left behind: servers still running when the test process exits are killed, their
// folders removed: on 'exit', and on SIGTERM/SIGINT/SIGHUP (vitest ends its fork workers with
// SIGTERM, which skips 'exit'), after which the signal is raised again to end the process as it
// would have. Where util-linux's setpriv exists, redis-server also gets SIGKILL from the kernel
// if the process that started it dies without running any hook (SIGKILL, crash).
// ---------------------------------------------------------------------------------------------

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
const EXIT_SIGNALS: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
let exitHookInstalled = false;

function cleanUpAtExit(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort: the process is exiting
    }
  }
}

function cleanUpOnSignal(signal: NodeJS.Signals): void {
  cleanUpAtExit();
  process.off(signal, cleanUpOnSignal);
  // Alone on this signal, this listener stopped its default action (ending the process): bring it back.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", cleanUpAtExit);
  for (const signal of EXIT_SIGNALS) process.on(signal, cleanUpOnSignal);
}

function trackChild(child: ChildProcess): void {
  installExitHook();
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  child.once("error", () => {
    if (child.pid === undefined) liveChildren.delete(child); // never started
  });
}

function trackDir(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
}

function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

let useSetpriv: boolean | undefined;

/**
 * The command line that runs redis-server, under `setpriv --pdeathsig KILL` when setpriv exists (it execs: same pid).
 * REDIS_HARNESS_NO_PDEATHSIG=1 turns that off, so that a test can check the exit hook on its own.
 */
function redisCommand(args: string[]): [string, string[]] {
  useSetpriv ??= process.platform === "linux" && process.env.REDIS_HARNESS_NO_PDEATHSIG !== "1" && onPath("setpriv");
  return useSetpriv ? ["setpriv", ["--pdeathsig", "KILL", "--", REDIS_SERVER, ...args]] : [REDIS_SERVER, args];
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

export interface RedisTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A throwaway CA and a server certificate it signed for IP:127.0.0.1 and DNS:localhost, valid one day. */
export async function makeCaSignedCert(dir: string): Promise<RedisTlsFiles> {
  const f = (name: string): string => join(dir, name);
  await openssl(["req", "-x509", ...EC_KEY, "-days", "1", "-subj", "/CN=redis test CA", "-keyout", f("ca-key.pem"), "-out", f("ca.pem")]);
  await openssl(["req", "-new", ...EC_KEY, "-subj", "/CN=127.0.0.1", "-keyout", f("server-key.pem"), "-out", f("server.csr")]);
  await writeFile(f("server.ext"), [
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = serverAuth",
    "subjectAltName = IP:127.0.0.1, DNS:localhost",
    "",
  ].join("\n"));
  await openssl([
    "x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca-key.pem"),
    "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-days", "1", "-extfile", f("server.ext"), "-out", f("server.pem"),
  ]);
  return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server-key.pem") };
}

// ---------------------------------------------------------------------------------------------
// Processes and ports
// ---------------------------------------------------------------------------------------------

/** Why redis-server did not come up; portTaken when another process bound the port first (worth another port). */
export class RedisLaunchError extends Error {
  constructor(message: string, readonly portTaken: boolean) {
    super(message);
    this.name = "RedisLaunchError";
  }
}

/** A port that was free a moment ago: the system picks it for a listener on 127.0.0.1:0, which is then closed. */
export async function pickFreePort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGKILLs the child and resolves once it has exited (and been reaped). */
function killAndWait(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || exited(child)) return Promise.resolve();
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  return gone;
}

function lastLines(text: string, count = 12): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

/**
 * Spawns redis-server and resolves once it prints "Ready to accept connections" (an event, bounded by
 * READY_TIMEOUT_MS); rejects, with the child killed, if it exits or errors first. `onOutput` gets all its output.
 */
function launch(args: string[], onOutput: (text: string) => void, ready = /Ready to accept connections/): Promise<ChildProcess> {
  const [command, argv] = redisCommand(args);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  child.stdout.on("data", (c: Buffer) => onOutput(c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => onOutput(c.toString("utf8")));
  return new Promise((resolve, reject) => {
    let seen = "";
    const finish = (err?: RedisLaunchError): void => {
      clearTimeout(timer);
      child.stdout.off("data", watch);
      child.stderr.off("data", watch);
      child.off("close", onClose);
      child.off("error", onError);
      if (err === undefined) return resolve(child);
      void killAndWait(child).then(() => reject(err));
    };
    const watch = (c: Buffer): void => {
      seen += c.toString("utf8");
      if (ready.test(seen)) finish();
    };
    const fail = (why: string): void => {
      const portTaken = /Address already in use/i.test(seen);
      finish(new RedisLaunchError(`redis-server ${why}${seen.trim() ? `:\n${lastLines(seen)}` : ""}`, portTaken));
    };
    const onClose = (code: number | null, signal: string | null): void => fail(`exited (${signal ?? `code ${code}`}) before it was ready`);
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(err.code === "ENOENT" ? `not found (${command}): install Debian's redis-server package` : `could not start: ${err.message}`);
    const timer = setTimeout(() => fail(`was not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.stdout.on("data", watch);
    child.stderr.on("data", watch);
    child.once("close", onClose);
    child.once("error", onError);
  });
}

function randomPassword(): string {
  return randomBytes(16).toString("hex");
}

function configValue(reply: unknown): string | undefined {
  return Array.isArray(reply) && typeof reply[1] === "string" ? reply[1] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading what Redis holds
// ---------------------------------------------------------------------------------------------

async function scanKeys(client: Redis): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "COUNT", 1000);
    for (const key of batch) keys.add(key);
    cursor = next;
  } while (cursor !== "0");
  return [...keys].sort();
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

async function readValue(client: Redis, key: string, type: string): Promise<string> {
  switch (type) {
    case "string": return (await client.get(key)) ?? "";
    case "hash": return JSON.stringify(Object.fromEntries(Object.entries(await client.hgetall(key)).sort()));
    case "list": return JSON.stringify(await client.lrange(key, 0, -1));
    case "set": return JSON.stringify((await client.smembers(key)).sort());
    case "zset": return JSON.stringify(pairs(await client.zrange(key, "0", "-1", "WITHSCORES")));
    case "stream": return `stream of ${await client.xlen(key)} entries`;
    default: return `(${type})`;
  }
}

/** One key as DumpEntry, or undefined when it expired or was deleted since it was listed. */
async function readEntry(client: Redis, key: string): Promise<DumpEntry | undefined> {
  const type = await client.type(key);
  if (type === "none") return undefined;
  const value = await readValue(client, key, type);
  const ttlMs = await client.pttl(key);
  return ttlMs === -2 ? undefined : { key, type, value, ttlMs };
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

class RedisProcess implements RedisServer {
  readonly host = HOST;
  url = "";
  port = 0;
  readonly password: string | undefined;
  caFile: string | undefined;
  private tlsFiles: RedisTlsFiles | undefined;
  private ca: string | undefined;
  private child: ChildProcess | undefined;
  private output = "";
  private savedPolicy: string | undefined;
  private closed = false;
  private starting: Promise<void> | undefined;

  constructor(readonly dir: string, password: string | undefined, private readonly tls: boolean, private readonly extra: StartRedisOptions = {}) {
    this.password = password;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }

  async prepareTls(): Promise<void> {
    if (!this.tls) return;
    this.tlsFiles = await makeCaSignedCert(this.dir);
    this.caFile = this.tlsFiles.caFile;
    this.ca = await readFile(this.caFile, "utf8");
  }

  /** Starts on a fresh free port, trying another one when some other process took it first. */
  async listenOnFreePort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.setPort(await pickFreePort());
      try {
        return await this.start();
      } catch (err) {
        if (!(err instanceof RedisLaunchError && err.portTaken) || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("this Redis server was closed"));
    if (this.child !== undefined) return Promise.resolve();
    this.starting ??= this.spawnServer().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async spawnServer(): Promise<void> {
    const sentinel = this.extra.sentinelConfig;
    if (sentinel) await writeFile(join(this.dir, "sentinel.conf"), [...sentinel, ""].join("\n"));
    const child = await launch(this.args(), (text) => this.record(text), sentinel ? /\+monitor master/ : undefined);
    if (this.closed) {
      await killAndWait(child); // closed while it was starting
      throw new Error("this Redis server was closed while it was starting");
    }
    this.savedPolicy = undefined;
    this.child = child;
    child.once("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.record(`[redis-server exited on its own: ${signal ?? `code ${code}`}]\n`);
    });
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const child = this.child;
    this.child = undefined;
    if (child !== undefined) await killAndWait(child);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }

  dump(): Promise<DumpEntry[]> {
    return this.withClient(async (client) => {
      const entries: DumpEntry[] = [];
      for (const key of await scanKeys(client)) {
        const entry = await readEntry(client, key);
        if (entry !== undefined) entries.push(entry);
      }
      return entries;
    });
  }

  command(...args: (string | number)[]): Promise<unknown> {
    const [name, ...rest] = args;
    if (name === undefined) return Promise.reject(new Error("command() needs a command name"));
    return this.withClient((client) => client.call(String(name), rest));
  }

  fillMemory(): Promise<void> {
    return this.withClient(async (client) => {
      this.savedPolicy ??= configValue(await client.call("CONFIG", "GET", "maxmemory-policy"));
      await client.call("CONFIG", "SET", "maxmemory-policy", "noeviction", "maxmemory", "1");
    });
  }

  restoreMemory(): Promise<void> {
    return this.withClient(async (client) => {
      await client.call("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", this.savedPolicy ?? "noeviction");
      this.savedPolicy = undefined;
    });
  }

  private setPort(port: number): void {
    this.port = port;
    const auth = this.password === undefined ? "" : `:${encodeURIComponent(this.password)}@`;
    this.url = `${this.tls ? "rediss" : "redis"}://${auth}${HOST}:${port}`;
  }

  private args(): string[] {
    const args = [
      "--bind", HOST, "--protected-mode", "yes", "--daemonize", "no",
      "--save", "", "--appendonly", "no", "--dir", this.dir,
    ];
    if (this.extra.sentinelConfig) return [join(this.dir, "sentinel.conf"), "--sentinel", "--port", String(this.port), "--bind", HOST, "--dir", this.dir];
    if (this.password !== undefined) args.push("--requirepass", this.password);
    args.push(...(this.extra.extraArgs ?? []));
    const t = this.tlsFiles;
    if (t === undefined) return [...args, "--port", String(this.port)];
    return [
      ...args, "--port", "0", "--tls-port", String(this.port),
      "--tls-cert-file", t.certFile, "--tls-key-file", t.keyFile, "--tls-ca-cert-file", t.caFile, "--tls-auth-clients", "no",
    ];
  }

  private record(text: string): void {
    this.output = (this.output + text).slice(-LOG_TAIL_CHARS);
  }

  private clientOptions(): RedisOptions {
    return {
      host: HOST,
      port: this.port,
      password: this.password,
      tls: this.ca === undefined ? undefined : { ca: this.ca },
      lazyConnect: true,
      connectTimeout: CLIENT_CONNECT_TIMEOUT_MS,
      commandTimeout: CLIENT_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      disableClientInfo: true,
    };
  }

  /** Runs `use` with a fresh client, disconnected afterwards; connect failures reject at once (no retries), with their cause. */
  private async withClient<T>(use: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(this.clientOptions());
    let cause: Error | undefined;
    client.on("error", (err: Error) => (cause ??= err)); // connect() itself only says "Connection is closed."
    try {
      await client.connect().catch((err: unknown) => {
        const why = cause ?? err;
        throw new Error(`cannot reach Redis at ${HOST}:${this.port}: ${why instanceof Error ? why.message : String(why)}`, { cause: why });
      });
      return await use(client);
    } finally {
      client.disconnect();
    }
  }
}

/**
 * Starts a real redis-server on 127.0.0.1 and a free port, in its own temporary folder, with nothing persisted.
 * Resolves once it is ready to accept connections.
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const password = opts.password === undefined ? randomPassword() : opts.password === null || opts.password === "" ? undefined : opts.password;
  const dir = await mkdtemp(join(tmpdir(), "redis-"));
  trackDir(dir);
  const server = new RedisProcess(dir, password, opts.tls === true, opts);
  try {
    await server.prepareTls();
    await server.listenOnFreePort();
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

// ---------------------------------------------------------------------------------------------
// Servers that are not Redis
// ---------------------------------------------------------------------------------------------

class NotRedisServer implements HungServer {
  url = "";
  port = 0;
  private count = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  /** `answer` undefined: read and ignore everything; otherwise send it on connect and after every chunk received. */
  constructor(answer: Buffer | undefined) {
    this.server = createServer((socket) => {
      this.count++;
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined); // clients that give up reset the connection
      if (answer === undefined) return void socket.resume();
      socket.write(answer);
      socket.on("data", () => socket.write(answer));
    });
  }

  get connections(): number {
    return this.count;
  }

  async listen(): Promise<void> {
    this.port = await listenOnLoopback(this.server);
    this.url = `redis://${HOST}:${this.port}`;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}

/** A TCP server on loopback that accepts connections and never answers (a hung Redis), counting connections. */
export async function startHungServer(): Promise<HungServer> {
  const server = new NotRedisServer(undefined);
  await server.listen();
  return server;
}

/** A TCP server that answers every connection with junk bytes (not RESP), then keeps it open. */
export async function startJunkServer(): Promise<HungServer> {
  const server = new NotRedisServer(JUNK);
  await server.listen();
  return server;
}
