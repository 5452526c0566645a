/**
 * A fake `Io` for in-process tests: a temporary HOME and cache folder, a clock the test moves,
 * captured stdout/stderr, and stdin given as a string. Sleeping advances the fake clock and yields
 * to the event loop once, so a waiting loop runs as fast as the test lets it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Io } from "../../src/io";

export interface FakeIo extends Io {
  out: string;
  err: string;
  /** Moves the fake clock. */
  advance(ms: number): void;
  /** Sets what `readStdin` returns. */
  input: string;
  cleanup(): Promise<void>;
}

export async function fakeIo(env: Record<string, string> = {}, start = Date.now()): Promise<FakeIo> {
  const home = await mkdtemp(join(tmpdir(), "vers-fake-io-"));
  let clock = start;
  const io: FakeIo = {
    env,
    homedir: home,
    cacheDir: join(home, ".cache", "git-credential-vers"),
    uid: process.getuid?.(),
    pid: 4242,
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
    machineIdentity: () => "fake-machine 02:00:00:00:00:01/10.0.0.1",
    input: "",
    readStdin: async () => io.input,
    out: "",
    err: "",
    stdout: (text) => void (io.out += text),
    stderr: (text) => void (io.err += text),
    stdinIsTTY: false,
    stdoutIsTTY: false,
    cwd: home,
    helperPath: "/usr/local/bin/git-credential-vers",
    advance: (ms) => void (clock += ms),
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
  return io;
}
