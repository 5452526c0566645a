import { fstatSync, readSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";

/**
 * The only module that touches `process`. Everything else receives an `Io`,
 * so tests can drive commands with fake streams, environments and clocks.
 */
export interface Io {
  env: Readonly<Record<string, string | undefined>>;
  /** Reads standard input up to `limit` bytes, or until `stop` returns true for what was read so far. */
  readStdin(limit: number, stop: (sofar: string) => boolean): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Milliseconds since the epoch. */
  now(): number;
  stdoutIsTTY: boolean;
  cwd: string;
  homedir: string;
  /** How to run this helper again (for `install`): the single binary, or the entry script. */
  helperPath: string;
}

export function processIo(): Io {
  return {
    env: process.env,
    readStdin,
    stdout: (text) => writeAll(1, text),
    stderr: (text) => writeAll(2, text),
    now: () => Date.now(),
    stdoutIsTTY: isatty(1),
    cwd: process.cwd(),
    homedir: process.env.HOME || homedir(),
    helperPath: helperPath(),
  };
}

/** A terminal, without loading node:tty (which pulls in net, ~2 ms). */
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
