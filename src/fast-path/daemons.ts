import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../io";
import { runCommand } from "../run";
import { SOCKET_NAME } from "./lines";

/** Whether this git has `git credential-cache` (git built with Unix sockets): `exit` to a socket that does not exist succeeds quietly. */
export async function credentialCacheAvailable(env: Env, dir: string): Promise<boolean> {
  const r = await runCommand("git", ["credential-cache", "--socket", join(dir, "fast-0-0.sock.probe"), "exit"], { env, timeoutMs: 5000 });
  return r.code === 0;
}

/** Stops every fast-path daemon whose socket lies in the cache folder (`git credential-cache exit`); returns how many sockets there were. */
export async function stopDaemons(dir: string, env: Env): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => SOCKET_NAME.test(n));
  } catch {
    return 0;
  }
  await Promise.all(names.map((name) => runCommand("git", ["credential-cache", "--socket", join(dir, name), "exit"], { env, timeoutMs: 5000 })));
  return names.length;
}

/**
 * Asks a fast-path daemon line what it holds for https://host, exactly as git would (through sh, with
 * this environment): the token it answers with, or undefined (no daemon, or none for this host).
 */
export async function askFastPath(daemonLine: string, host: string, env: Env, cwd: string): Promise<string | undefined> {
  const r = await runCommand("sh", ["-c", `${daemonLine.slice(1)} get`], { env, cwd, input: `protocol=https\nhost=${host}\n\n`, timeoutMs: 5000 });
  return /^password=(.+)$/m.exec(r.stdout)?.[1];
}
