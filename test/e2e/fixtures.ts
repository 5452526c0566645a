/**
 * Shared setup for the end-to-end files: the servers a file runs against (a fake broker with its own
 * API key, the TLS git host and its repositories), a temporary HOME per test (removed after it), and
 * small readers for the helper's output, cache folder and loaded modules.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { helper, HELPER_BIN, makeTestEnv, shellQuote, type RunResult, type TestEnv, type TestEnvOptions } from "./harness";
import { startFakeBroker, type BrokerRequest, type FakeBroker } from "../servers/fake-broker";
import { startGitHost, type GitHost } from "../servers/git-host";
import { Plumbing } from "../servers/plumbing";
import { TokenRegistry } from "../servers/token-registry";

export const PREFIX = "git-credential-vers: ";

/** A Vers API key that is easy to search for in any output. */
export function newApiKey(): string {
  return `vers_test_${randomBytes(16).toString("hex")}`;
}

/** Puts the shared broker back to answering normally with hour-long tokens. */
export function resetBroker(broker: FakeBroker): void {
  broker.setMode("ok");
  broker.setLifetime(3600);
}

/** What a file (or a describe block) runs against; see `useServers`. */
export interface Servers {
  /** The Vers API key the broker accepts. */
  readonly apiKey: string;
  /** The token registry the broker and the git host share (a fake GitHub may join it). */
  readonly registry: TokenRegistry;
  readonly broker: FakeBroker;
  readonly gitHost: GitHost;
  /** The clone URL of a repository made at start, e.g. `repo("acme/a")`. */
  repo(path: string): string;
}

/**
 * Starts, before the tests of the file (or of the describe block it is called in), a fake broker with
 * a fresh API key and — when asked, or when repositories are — the TLS git host sharing its token
 * registry, with `repos` ("owner/name") on it; closes them after those tests. Before each test the
 * broker is put back to answering normally with hour-long tokens.
 */
export function useServers(o: { broker?: boolean; gitHost?: boolean; repos?: string[] } = {}): Servers {
  const apiKey = newApiKey();
  const registry = new TokenRegistry();
  const urls = new Map<string, string>();
  let broker: FakeBroker | undefined;
  let gitHost: GitHost | undefined;
  beforeAll(async () => {
    [broker, gitHost] = await Promise.all([
      o.broker === false ? undefined : startFakeBroker({ apiKey, registry }),
      o.gitHost || o.repos?.length ? startGitHost({ registry }) : undefined,
    ]);
    for (const path of o.repos ?? []) {
      const [owner, name] = path.split("/");
      urls.set(path, await gitHost!.createRepo(owner!, name!));
    }
  });
  afterAll(async () => {
    await Promise.all([broker?.close(), gitHost?.close()]);
  });
  beforeEach(() => {
    if (broker) resetBroker(broker);
  });
  const started = <T>(server: T | undefined, what: string): T => {
    if (server === undefined) throw new Error(`${what} is not started (useServers starts it before the tests, if asked)`);
    return server;
  };
  return {
    apiKey,
    registry,
    get broker() {
      return started(broker, "the fake broker");
    },
    get gitHost() {
      return started(gitHost, "the git host");
    },
    repo: (path) => started(urls.get(path), `repository ${path}`),
  };
}

/** Asserts that a command exited 0, showing its output when it did not; returns the result. */
export function ok(r: RunResult, what: string): RunResult {
  expect(r.code, `${what} failed:\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

/** The broker requests `fn` caused. */
export async function requestsDuring(broker: FakeBroker, fn: () => Promise<unknown>): Promise<BrokerRequest[]> {
  const before = broker.requests.length;
  await fn();
  return broker.requests.slice(before);
}

/** Counts what the broker does from now on. */
export function brokerCounter(broker: FakeBroker): { requests(): number; mints(): number } {
  const requests = broker.requests.length;
  const mints = broker.mints;
  return { requests: () => broker.requests.length - requests, mints: () => broker.mints - mints };
}

/**
 * `const env = tempEnvs(() => defaults)`; then `await env({...})` in a test makes a temporary HOME
 * with the defaults plus the overrides; every HOME made in a test is removed after it.
 */
export function tempEnvs(defaults: () => TestEnvOptions): (o?: Partial<TestEnvOptions>) => Promise<TestEnv> {
  const made: TestEnv[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((t) => t.cleanup()));
  });
  return async (o = {}) => {
    const d = defaults();
    const t = await makeTestEnv({ ...d, ...o, extraEnv: { ...d.extraEnv, ...o.extraEnv } });
    made.push(t);
    return t;
  };
}

/**
 * `tempEnvs` for a file whose gets go to the broker of `useServers`: its URL and API key, one host,
 * git not wired, and VERS_TIMEOUT `timeoutS`.
 */
export function brokerEnvs(servers: Servers, o: { host: string; timeoutS: number }): ReturnType<typeof tempEnvs> {
  return tempEnvs(() => ({
    brokerUrl: servers.broker.url,
    apiKey: servers.apiKey,
    hosts: [o.host],
    wireGit: false,
    extraEnv: { VERS_TIMEOUT: String(o.timeoutS) },
  }));
}

/** git's request for an https host (and optionally more fields), ended by a blank line. */
export function request(host: string, extra: Record<string, string> = {}): string {
  const fields = { protocol: "https", host, ...extra };
  return `${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join("\n")}\n\n`;
}

/** key=value lines into a record (the last value of a key wins). */
export function parseLines(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The helper's `get` for `host`; asserts success and returns the password it printed. */
export async function getToken(t: TestEnv, host: string, args: string[] = ["get"]): Promise<{ token: string; run: RunResult }> {
  const r = await helper(t, args, request(host));
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const token = parseLines(r.stdout).password;
  expect(token).toMatch(/^ghs_/);
  return { token: token!, run: r };
}

/** Lines of a stream without the final newline. */
export function lines(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/**
 * A failed `get`: exit 1, nothing on stdout (or only `quit=1` when strict), exactly one line on
 * stderr starting with the prefix, matching `pattern`, and never a stack trace.
 */
export function expectFailure(r: RunResult, pattern: RegExp, opts: { strict?: boolean } = {}): string {
  expect(r.stderr).not.toContain("    at ");
  expect(r.code).toBe(1);
  expect(r.stdout).toBe(opts.strict ? "quit=1\n" : "");
  expect(r.stderr.endsWith("\n")).toBe(true);
  const all = lines(r.stderr);
  expect(all).toHaveLength(1);
  const line = all[0]!;
  expect(line.startsWith(PREFIX)).toBe(true);
  expect(line).toMatch(pattern);
  return line;
}

/** Entry files (`<key>.json`) in a cache folder, without memos, locks or temporaries. */
export async function entryFiles(cacheDir: string): Promise<string[]> {
  const names = await readdir(cacheDir);
  return names.filter((n) => /^[0-9a-f]+\.json$/.test(n)).map((n) => join(cacheDir, n));
}

/** The one cache entry file, parsed. */
export async function onlyEntry(cacheDir: string): Promise<{ path: string; text: string; data: Record<string, unknown> }> {
  const files = await entryFiles(cacheDir);
  expect(files).toHaveLength(1);
  const path = files[0]!;
  const text = await readFile(path, "utf8");
  return { path, text, data: JSON.parse(text) as Record<string, unknown> };
}

/**
 * A `--require` preload that, when the helper exits, appends the paths in require.cache to a file:
 * which modules a run loaded. `env` goes into the helper's environment; `runs()` reads one list per run.
 */
export interface ModuleProbe {
  env: Record<string, string>;
  runs(): Promise<string[][]>;
  reset(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * The single binary (npm run build:binary) is one bundle: there are no chunks whose loading a
 * probe could observe, so the lazy-loading checks run against bin/git-credential-vers only.
 */
export const CHUNKS_OBSERVABLE: boolean = readFileSync(HELPER_BIN).subarray(0, 2).toString() === "#!";

export async function moduleProbe(): Promise<ModuleProbe> {
  const dir = await mkdtemp(join(tmpdir(), "vers-probe-"));
  const preload = join(dir, "preload.cjs");
  const out = join(dir, "modules.jsonl");
  await writeFile(
    preload,
    [
      '"use strict";',
      'const fs = require("node:fs");',
      `const out = ${JSON.stringify(out)};`,
      'process.on("exit", () => { fs.appendFileSync(out, JSON.stringify(Object.keys(require.cache)) + "\\n"); });',
      "",
    ].join("\n"),
  );
  return {
    env: { NODE_OPTIONS: `--require ${preload}` },
    async runs() {
      let text = "";
      try {
        text = await readFile(out, "utf8");
      } catch {
        return [];
      }
      return lines(text).map((l) => JSON.parse(l) as string[]);
    },
    reset: () => rm(out, { force: true }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Paths that are network or CLI code: none may load on a cache hit, `store` or a non-matching get. */
export function networkOrCliModules(paths: string[]): string[] {
  return paths.filter(
    (p) =>
      p.endsWith("lockfile.cjs") ||
      p.endsWith("sources.cjs") ||
      p.endsWith("cli.cjs") ||
      ["undici", "@octokit", "proper-lockfile", "commander"].some((name) => p.includes(name)),
  );
}

/** A bare HTTP server that answers every request with one status, JSON body (and extra headers), and counts requests. */
export interface StubServer {
  url: string;
  readonly requests: number;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startStub(status: number, body: unknown, headers: Record<string, string> = {}): Promise<StubServer> {
  let requests = 0;
  const plumbing = new Plumbing(
    createServer((req, res) => {
      requests++;
      req.resume();
      req.on("end", () => {
        res.writeHead(status, { "Content-Type": "application/json", ...headers });
        res.end(JSON.stringify(body));
      });
    }),
  );
  return {
    url: await plumbing.listen(),
    get requests() {
      return requests;
    },
    get connections() {
      return plumbing.connections;
    },
    close: () => plumbing.close(),
  };
}

/**
 * A proxy that fails every connection one way, and counts them: "drop" closes each at once,
 * "read-close" reads the CONNECT and closes without an answer, "hang" accepts and never answers.
 */
export interface BrokenProxy {
  url: string;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startBrokenProxy(mode: "drop" | "read-close" | "hang"): Promise<BrokenProxy> {
  const plumbing = new Plumbing(
    createTcpServer((s) => {
      s.on("error", () => undefined);
      if (mode === "drop") s.destroy();
      else if (mode === "read-close") s.once("data", () => s.destroy());
    }),
  );
  return {
    url: await plumbing.listen(),
    get connections() {
      return plumbing.connections;
    },
    close: () => plumbing.close(),
  };
}

/**
 * What `install` writes for one host, read back from git: the empty reset, then the fast path's one
 * line — which sources the script beside the helper (git-credential-vers-fast) with the helper's
 * flags — which runs exactly `helperWords` (path and flags). The helper's path must end in git-credential-vers.
 */
export function expectInstalled(values: string[], helperWords: string[]): void {
  const [helperPath, ...flags] = helperWords;
  expect(basename(helperPath!)).toBe("git-credential-vers");
  expect(values).toEqual(["", `!vers_helper=${shellQuote(helperPath!)}; vers_fast() { . "$vers_helper-fast"; }; vers_fast${flags.map((f) => ` ${shellQuote(f)}`).join("")}`]);
  expect(values[1]!.length).toBeLessThan(200);
}
