import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SOCKET_NAME } from "../../src/fast-path/lines";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const HELPER_BIN: string = resolve(process.env.VERS_HELPER_BIN ?? join(REPO_ROOT, "bin", "git-credential-vers"));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env: Record<string, string>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

/** Kills the child's whole process group (git runs helpers and remote-https as children). */
function killTree(child: ChildProcessWithoutNullStreams): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** Runs a command asynchronously with exactly `env`; stdin gets `input` (or nothing) then EOF. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[harness: killed after ${timeoutMs} ms]\n`;
      killTree(child);
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
    child.stdin.on("error", () => undefined); // the child may exit without reading its input
    child.stdin.end(opts.input ?? "");
  });
}

export interface TestEnv {
  home: string;
  env: Record<string, string>;
  cacheDir: string;
  cleanup(): Promise<void>;
}

export interface TestEnvOptions {
  brokerUrl?: string;
  apiKey?: string;
  hosts: string[];
  caFile?: string;
  extraEnv?: Record<string, string>;
  helperArgs?: string[];
  wireGit?: boolean;
}

function baseEnv(home: string, o: TestEnvOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_CONFIG_HOME: join(home, ".config"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: join(home, ".gitconfig"),
    GIT_TERMINAL_PROMPT: "0",
    LANG: "C",
    VERS_GITHUB_HOST: o.hosts.join(","),
  };
  if (o.brokerUrl !== undefined) env.VERS_BASE_URL = o.brokerUrl;
  if (o.apiKey !== undefined) env.VERS_API_KEY = o.apiKey;
  if (o.caFile !== undefined) env.GIT_SSL_CAINFO = o.caFile;
  return { ...env, ...o.extraEnv };
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./,:=+@%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The value for credential.<url>.helper. git runs an absolute path as is, but a value that
 * needs quoting no longer starts with "/", so it becomes a shell snippet ("!...").
 */
export function helperCommand(args: string[]): string {
  const words = [HELPER_BIN, ...args];
  const quoted = words.map(shellQuote);
  const plain = quoted.every((q, i) => q === words[i]);
  return plain ? quoted.join(" ") : `!${quoted.join(" ")}`;
}

async function gitConfigAdd(env: Record<string, string>, file: string, key: string, value: string): Promise<void> {
  const r = await run("git", ["config", "--file", file, "--add", key, value], { env });
  if (r.code !== 0) throw new Error(`git config --add ${key} failed (${r.code}): ${r.stderr}`);
}

async function wireGit(t: TestEnv, hosts: string[], helperArgs: string[]): Promise<void> {
  const file = join(t.home, ".gitconfig");
  const entries: Array<[string, string]> = [
    ["user.name", "Vers Test"],
    ["user.email", "vers-test@example.invalid"],
    ["init.defaultBranch", "main"],
  ];
  for (const host of hosts) {
    entries.push([`credential.https://${host}.helper`, ""]);
    entries.push([`credential.https://${host}.helper`, helperCommand(helperArgs)]);
  }
  for (const [key, value] of entries) await gitConfigAdd(t.env, file, key, value);
}

/**
 * Stops the git credential-cache daemons the fast path started for a HOME (they outlive the helper):
 * `git credential-cache --socket S exit` for fast.sock (and any older fast-*.sock) in its cache folder.
 */
export async function stopFastPathDaemons(cacheDir: string, env: Record<string, string>): Promise<void> {
  const sockets = (await readdir(cacheDir).catch(() => [] as string[])).filter((n) => SOCKET_NAME.test(n));
  await Promise.all(sockets.map((n) => run("git", ["credential-cache", "--socket", join(cacheDir, n), "exit"], { env, timeoutMs: 10_000 })));
}

/** A temporary HOME with an environment that holds only what the tests set. */
export async function makeTestEnv(o: TestEnvOptions): Promise<TestEnv> {
  const home = await mkdtemp(join(tmpdir(), "vers-home-"));
  const t: TestEnv = {
    home,
    env: baseEnv(home, o),
    cacheDir: join(home, ".cache", "git-credential-vers"),
    cleanup: async () => {
      await stopFastPathDaemons(join(home, ".cache", "git-credential-vers"), t.env);
      await rm(home, { recursive: true, force: true });
    },
  };
  if (o.wireGit ?? true) await wireGit(t, o.hosts, o.helperArgs ?? []);
  return t;
}

export function helper(t: TestEnv, args: string[], input?: string): Promise<RunResult> {
  return run(HELPER_BIN, args, { env: t.env, cwd: t.home, input });
}

export function git(t: TestEnv, args: string[], cwd?: string): Promise<RunResult> {
  return run("git", args, { env: t.env, cwd: cwd ?? t.home });
}

/** `git credential fill` with the given fields as key=value lines and a closing blank line. */
export function credentialFill(t: TestEnv, fields: Record<string, string>): Promise<RunResult> {
  const lines = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  return run("git", ["credential", "fill"], { env: t.env, cwd: t.home, input: `${lines.join("\n")}\n\n` });
}
