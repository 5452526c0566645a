import envPaths from "env-paths";
import { fstatSync, readSync, writeSync } from "node:fs";
import { homedir, hostname, networkInterfaces } from "node:os";
import { resolve } from "node:path";

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The only door to the process: everything the helper reads from the world (environment, home,
 * cache folder, clock, user id, streams) comes through an `Io`, so tests can fake any of it.
 */
export interface Io {
  env: Env;
  /** $HOME as given; may be empty or relative, which callers must refuse. */
  homedir: string;
  /** This helper's cache folder as env-paths derives it ($XDG_CACHE_HOME or ~/.cache); may be relative. */
  cacheDir: string;
  /** This user's id, or undefined where the platform has none. */
  uid: number | undefined;
  pid: number;
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** What tells this machine from its clones: host name and network addresses (not /etc/machine-id, which clones share). */
  machineIdentity(): string;
  /** Reads standard input up to `limit` bytes, or until `stop` returns true for what was read so far. */
  readStdin(limit: number, stop: (sofar: string) => boolean): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  cwd: string;
  /** How to run this helper again (for `install`): the single binary, or the entry script. */
  helperPath: string;
}

export function processIo(): Io {
  return {
    env: process.env,
    homedir: process.env.HOME ?? homedir(),
    cacheDir: envPaths("git-credential-vers", { suffix: "" }).cache,
    uid: process.getuid?.(),
    pid: process.pid,
    now: () => Date.now(),
    sleep: (ms) => new Promise((done) => setTimeout(done, Math.max(0, ms))),
    machineIdentity,
    readStdin,
    stdout: (text) => writeAll(1, text),
    stderr: (text) => writeAll(2, text),
    // node:tty costs ~2 ms (it loads net); only the CLI and the unknown-action hint ask, so ask lazily.
    get stdinIsTTY() {
      return terminal(0);
    },
    get stdoutIsTTY() {
      return terminal(1);
    },
    cwd: process.cwd(),
    helperPath: helperPath(),
  };
}

function machineIdentity(): string {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal)
    .map((a) => `${a!.mac}/${a!.address}`)
    .sort();
  return [hostname(), ...addresses].join(" ");
}

/** A real terminal (not /dev/null, which is a character device too). */
function terminal(fd: number): boolean {
  return process.getBuiltinModule("node:tty").isatty(fd);
}

/**
 * A character device, without loading node:tty (which pulls in net, ~2 ms): enough for readStdin,
 * which must not block on a terminal and reads nothing from /dev/null either way.
 */
function isatty(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

function helperPath(): string {
  const entry = process.argv[1];
  return !entry || entry === process.execPath ? process.execPath : resolve(entry);
}

/**
 * Reads fd 0 directly: creating process.stdin costs ~4 ms at start, and git runs us on every
 * operation. Falls back to the stream if the descriptor is non-blocking.
 */
async function readStdin(limit: number, stop: (sofar: string) => boolean): Promise<string> {
  if (isatty(0)) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") return Buffer.concat(chunks).toString("utf8") + (await readStream(limit - size, stop));
      if (code === "EOF" || code === "EBADF") break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    size += n;
    if (size > limit || stop(Buffer.concat(chunks).toString("latin1"))) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function readStream(limit: number, stop: (sofar: string) => boolean): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (Buffer.byteLength(text) > limit || stop(text)) break;
  }
  return text;
}

/** Synchronous writes: nothing is lost if the process exits right after, and no stream is set up. */
function writeAll(fd: number, text: string): void {
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return;
    }
  }
}
