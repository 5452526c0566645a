import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../io";
import { runCommand } from "../run";
import { fastPathScriptWords, SOCKET_NAME } from "./lines";
import { isOldFastPathLine } from "./old-lines";

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
 * Asks the daemon of a fast-path line what it holds for https://host (an org-wide request, as git
 * sends it through the line): the token it answers with, or undefined (no daemon, none for this
 * configuration and host, or no socket the line would use). The script asks its daemon as the line
 * would (`vers-ask`, which never runs the helper; the fingerprint stays inside it); the first fast
 * path's daemon line is run as git would, through sh.
 */
export async function askFastPath(line: string, host: string, env: Env, cwd: string): Promise<string | undefined> {
  const input = `protocol=https\nhost=${host}\n\n`;
  const words = fastPathScriptWords(line);
  if (!words) {
    if (!isOldFastPathLine(line)) return undefined;
    const r = await runCommand("sh", ["-c", `${line.slice(1)} get`], { env, cwd, input, timeoutMs: 5000 });
    return /^password=(.+)$/m.exec(r.stdout)?.[1];
  }
  const r = await runCommand(words[0]!, [...words.slice(1), "vers-ask"], { env, cwd, input, timeoutMs: 5000 });
  return r.code === 0 ? /^password=(.+)$/m.exec(r.stdout)?.[1] : undefined;
}
