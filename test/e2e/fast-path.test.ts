/**
 * Issue 9, the fast path: `install` puts git's own `git credential-cache` daemon in front of this
 * helper, and the helper hands each token it serves to that daemon with a timeout ending before this
 * machine's refresh point. Real git, real `git credential-cache`, a fake broker and a TLS git host on
 * loopback. Daemons outlive the helper: every test stops the daemons of its HOME, and the file checks
 * at its end that none is left.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { chmod, chown, copyFile, mkdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { git, helper, HELPER_BIN, makeTestEnv, run, type RunResult, type TestEnv } from "./harness";
import { newApiKey, parseLines } from "./fixtures";
import { OLD_LINES } from "../unit/fast-path-old-lines";
import { startFakeBroker, type BrokerRequest, type FakeBroker } from "../servers/fake-broker";
import { startGitHost, type GitHost } from "../servers/git-host";
import { TokenRegistry } from "../servers/token-registry";

const apiKey = newApiKey();
/** A second broker, with its own key: a token from it proves the helper asked it. */
const apiKeyB = newApiKey();
let registry: TokenRegistry;
let broker: FakeBroker;
let brokerB: FakeBroker;
let gitHost: GitHost;
/** The host every test wires: the TLS git host's 127.0.0.1:port. */
let H: string;

beforeAll(async () => {
  registry = new TokenRegistry();
  [broker, brokerB, gitHost] = await Promise.all([
    startFakeBroker({ apiKey, registry }),
    startFakeBroker({ apiKey: apiKeyB, registry }),
    startGitHost({ registry }),
  ]);
  H = gitHost.host;
});

beforeEach(() => {
  for (const b of [broker, brokerB]) {
    b.setMode("ok");
    b.setLifetime(3600);
  }
});

// ---------------------------------------------------------------------------------------------
// Processes: git credential-cache daemons, found by the socket path in their command line.

const SOCKET = /^fast\.sock$/;
const DAEMON = "credential-cache--daemon";

interface Proc {
  pid: number;
  args: string[];
}

/** Live processes whose command line has an argument containing `text` (a zombie's command line is empty). */
function processesNaming(text: string): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      continue; // gone meanwhile
    }
    if (args.some((a) => a.includes(text))) found.push({ pid: Number(name), args });
  }
  return found;
}

/** The credential-cache daemons serving `socket` (or any socket under a folder, given a prefix). */
function daemonsFor(socketOrDir: string): Proc[] {
  return processesNaming(socketOrDir).filter((p) => p.args.some((a) => a.includes(DAEMON)));
}

/** Only for a daemon a test started and a broken build left running. */
function kill(p: Proc): void {
  try {
    process.kill(p.pid, "SIGKILL");
  } catch {
    // Gone meanwhile.
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

const pace = (ms: number) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------
// A temporary HOME per test, with a trace file and a Node-start probe, whose daemons are stopped after it.

interface Env extends TestEnv {
  trace: string;
  starts: string;
}

const made: Env[] = [];
/** Every HOME this file made: no daemon may name one when the file ends. */
const allHomes: string[] = [];

/**
 * A HOME with nothing wired (install does that). `NODE_OPTIONS=--require <preload>` logs every Node
 * start of the helper with its arguments, and VERS_CREDENTIAL_TRACE its decisions; neither is part of
 * the fast path's fingerprint.
 */
async function newEnv(extraEnv: Record<string, string> = {}): Promise<Env> {
  const base = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [H], caFile: gitHost.caFile, wireGit: false });
  allHomes.push(base.home);
  const preload = join(base.home, "node-start.cjs");
  const starts = join(base.home, "node-starts.jsonl");
  await writeFile(preload, `require("node:fs").appendFileSync(${JSON.stringify(starts)}, JSON.stringify(process.argv.slice(2)) + "\\n");\n`);
  const t: Env = {
    ...base,
    trace: join(base.home, "trace.log"),
    starts,
    env: { ...base.env, VERS_CREDENTIAL_TRACE: join(base.home, "trace.log"), NODE_OPTIONS: `--require ${preload}`, VERS_TIMEOUT: "15", ...extraEnv },
  };
  made.push(t);
  return t;
}

/** Stops the daemons of every socket in the HOME's cache folder, as `uninstall` would, and checks none is left. */
async function stopDaemons(t: Env): Promise<string[]> {
  for (const socket of sockets(t)) {
    await run("git", ["credential-cache", "--socket", socket, "exit"], { env: t.env, cwd: t.home, timeoutMs: 10_000 });
  }
  try {
    await waitFor(`the daemons under ${t.home} to exit`, () => daemonsFor(t.home).length === 0, 5_000);
    return [];
  } catch {
    // Left behind (only a broken build does this): kill them by pid so no test leaks, and fail.
    const left = daemonsFor(t.home);
    left.forEach(kill);
    return left.map((p) => p.args.join(" "));
  }
}

afterEach(async () => {
  const envs = made.splice(0);
  const left = (await Promise.all(envs.map(stopDaemons))).flat();
  await Promise.all(envs.map((t) => t.cleanup()));
  expect(left, "daemons still running after `git credential-cache exit`").toEqual([]);
});

afterAll(async () => {
  await Promise.all([broker?.close(), brokerB?.close(), gitHost?.close()]);
  const left = allHomes.flatMap((home) => daemonsFor(home));
  left.forEach(kill);
  expect(left.map((p) => p.args.join(" ")), "git credential-cache daemons left behind").toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// Small readers and git drivers.

function ok(r: RunResult, what: string): RunResult {
  expect(r.code, `${what} failed:\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

function sockets(t: Env): string[] {
  try {
    return readdirSync(t.cacheDir)
      .filter((n) => SOCKET.test(n))
      .map((n) => join(t.cacheDir, n));
  } catch {
    return [];
  }
}

function onlySocket(t: Env): string {
  const all = sockets(t);
  expect(all, "fast-path sockets in the cache folder").toHaveLength(1);
  return all[0]!;
}

/** Every Node start of the helper so far, as its arguments. */
function nodeStarts(t: Env): string[][] {
  let text = "";
  try {
    text = readFileSync(t.starts, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

/** How many `get`s the helper answered for a matching host so far (trace lines "matched …"). */
function matched(t: Env): number {
  try {
    return readFileSync(t.trace, "utf8")
      .split("\n")
      .filter((l) => / matched /.test(l)).length;
  } catch {
    return 0;
  }
}

function fieldsText(fields: Record<string, string>): string {
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n\n`;
}

/** The HOME's environment with some variables changed (undefined unsets one). */
type EnvChange = Record<string, string | undefined>;
function envWith(t: Env, change: EnvChange): Record<string, string> {
  const env: Record<string, string> = { ...t.env };
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** `git credential <action>` with the HOME's environment, changed by `envChange`. */
function credential(t: Env, action: "fill" | "approve" | "reject", fields: Record<string, string>, envChange: EnvChange = {}): Promise<RunResult> {
  return run("git", ["credential", action], { env: envWith(t, envChange), cwd: t.home, input: fieldsText(fields) });
}

interface Filled {
  token: string;
  /** Date.now() right after git returned. */
  returnedAt: number;
  /** Whether this fill started the helper (Node); false: git's daemon answered. */
  helperRan: boolean;
  run: RunResult;
}

/** A successful `git credential fill` for https://H (plus `extra` fields), and whether the helper ran for it. */
async function fill(t: Env, extra: Record<string, string> = {}, envChange: EnvChange = {}): Promise<Filled> {
  const before = nodeStarts(t).length;
  const r = await credential(t, "fill", { protocol: "https", host: H, ...extra }, envChange);
  const returnedAt = Date.now();
  expect(r.code, `git credential fill failed:\n${r.stderr}`).toBe(0);
  expect(r.stderr).toBe("");
  const filled = parseLines(r.stdout);
  expect(filled.username).toBe("x-access-token");
  expect(filled.password).toMatch(/^gh[sp]_/);
  return { token: filled.password!, returnedAt, helperRan: nodeStarts(t).length > before, run: r };
}

function served(token: string): Record<string, string> {
  return { protocol: "https", host: H, username: "x-access-token", password: token };
}

/** `git credential-cache exit` for one socket, and waits until its daemon is gone. */
async function exitDaemon(t: Env, socket: string): Promise<void> {
  ok(await run("git", ["credential-cache", "--socket", socket, "exit"], { env: t.env, cwd: t.home }), "git credential-cache exit");
  await waitFor("the daemon to exit", () => daemonsFor(socket).length === 0);
}

/** What a daemon holds for https://H (and `extra`), asked directly: its password, or undefined. */
async function daemonHolds(t: Env, socket: string, extra: Record<string, string> = {}): Promise<string | undefined> {
  const r = await run("git", ["credential-cache", "--socket", socket, "get"], { env: t.env, cwd: t.home, input: fieldsText({ protocol: "https", host: H, ...extra }) });
  expect(r.code).toBe(0);
  return parseLines(r.stdout).password;
}

async function install(t: Env, args: string[] = []): Promise<RunResult> {
  return ok(await helper(t, ["install", "--global", "--host", H, ...args]), `install ${args.join(" ")}`);
}

/** Every value of a key in the HOME's global config, empty values included. */
async function values(t: Env, key: string): Promise<string[]> {
  const r = await git(t, ["config", "--global", "-z", "--get-all", key]);
  if (r.code === 1) return [];
  ok(r, `git config --get-all ${key}`);
  return r.stdout.split("\0").slice(0, -1);
}

async function requestsDuring<T>(b: FakeBroker, fn: () => Promise<T>): Promise<{ value: T; requests: BrokerRequest[] }> {
  const before = b.requests.length;
  const value = await fn();
  return { value, requests: b.requests.slice(before) };
}

/** Warms the disk cache without the fast path (a raw `get` names no socket): returns the token, one mint. */
async function warmDisk(t: Env): Promise<string> {
  const r = ok(await helper(t, ["get"], fieldsText({ protocol: "https", host: H })), "get");
  const token = parseLines(r.stdout).password!;
  expect(token).toMatch(/^ghs_/);
  expect(sockets(t)).toEqual([]);
  return token;
}

// ---------------------------------------------------------------------------------------------

describe("install / uninstall write and remove the fast path", () => {
  it("writes the reset and one short line (the script beside the helper, with --host); idempotent; --no-fast-path writes the plain line", async () => {
    const t = await newEnv();
    const key = `credential.https://${H}.helper`;
    const r = await install(t);
    expect(r.stdout).toContain("fast path");
    const line = `!vers_helper=${HELPER_BIN}; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host ${H}`;
    expect(await values(t, key)).toEqual(["", line]);
    // git config --list: two short lines for the host, none spanning lines.
    const list = ok(await git(t, ["config", "--global", "--list"]), "git config --list").stdout.split("\n").filter((l) => l.includes(H));
    expect(list).toEqual([`${key}=`, `${key}=${line}`]);
    expect(list.every((l) => l.length < 200)).toBe(true);

    const first = await readFile(join(t.home, ".gitconfig"), "utf8");
    const again = await install(t);
    expect(again.stdout).toContain("already installed");
    expect(await readFile(join(t.home, ".gitconfig"), "utf8")).toBe(first);

    await install(t, ["--no-fast-path"]);
    expect(await values(t, key)).toEqual(["", `${HELPER_BIN} --host ${H}`]);
    const plain = await readFile(join(t.home, ".gitconfig"), "utf8");
    await install(t, ["--no-fast-path"]);
    expect(await readFile(join(t.home, ".gitconfig"), "utf8")).toBe(plain);

    // And back: the plain line is replaced, not kept beside the fast path.
    await install(t);
    expect(await readFile(join(t.home, ".gitconfig"), "utf8")).toBe(first);
  });

  for (const form of [[], ["--no-fast-path"]]) {
    it(`uninstall removes the ${form.length ? "plain" : "fast-path"} form and leaves the user's own helper lines`, async () => {
      const t = await newEnv();
      const key = `credential.https://${H}.helper`;
      ok(await git(t, ["config", "--global", "credential.helper", "store"]), "git config credential.helper");
      ok(await git(t, ["config", "--global", "--add", key, "!user_helper() { :; }; user_helper"]), "git config user line");
      const before = await readFile(join(t.home, ".gitconfig"), "utf8");

      await install(t, form);
      expect(await values(t, key)).toHaveLength(3);
      expect((await values(t, key))[0]).toBe("!user_helper() { :; }; user_helper");
      expect((await values(t, key))[1]).toBe("");

      ok(await helper(t, ["uninstall", "--global", "--host", H]), "uninstall");
      expect(await values(t, key)).toEqual(["!user_helper() { :; }; user_helper"]);
      expect(await values(t, "credential.helper")).toEqual(["store"]);
      expect(await readFile(join(t.home, ".gitconfig"), "utf8")).toBe(before);
    });
  }
});

describe("the script beside the helper", () => {
  /** A folder with the helper in it (bin/ finds dist/ through its real path, so a link; the single binary knows its own path, so a copy). */
  async function helperIn(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const linked = join(dir, "git-credential-vers");
    await (readFileSync(HELPER_BIN).subarray(0, 2).toString() === "#!" ? symlink(HELPER_BIN, linked) : copyFile(HELPER_BIN, linked));
    return linked;
  }

  it("install writes the script beside the helper (and again when it differs); the first fast path's two lines and the previous one-line form are replaced, and uninstall removes any form", async () => {
    const t = await newEnv();
    const key = `credential.https://${H}.helper`;
    const linked = await helperIn(join(t.home, "tools"));
    const script = join(t.home, "tools", "git-credential-vers-fast");
    // The first fast path's lines, as it wrote them (test/unit/fast-path-old-lines.ts), for this helper.
    for (const value of ["", ...OLD_LINES.plain.map((l) => l.replace("/usr/local/bin/git-credential-vers", linked).replace("github.com", H))]) {
      ok(await git(t, ["config", "--global", "--add", key, value]), "git config --add");
    }
    const runLinked = (args: string[]) => run(linked, args, { env: t.env, cwd: t.home });
    ok(await runLinked(["install", "--global", "--host", H]), "install");
    const line = `!vers_helper=${linked}; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host ${H}`;
    expect(await values(t, key)).toEqual(["", line]);
    expect(await readFile(script, "utf8")).toBe(await readFile(join(dirname(HELPER_BIN), "git-credential-vers-fast"), "utf8"));
    expect((await stat(script)).mode & 0o777).toBe(0o755);
    expect((await fill(t)).token).toMatch(/^ghs_/);
    expect((await fill(t)).helperRan).toBe(false);

    await writeFile(script, "#!/bin/sh\necho tampered\n");
    ok(await runLinked(["install", "--global", "--host", H]), "install again");
    expect(await readFile(script, "utf8")).not.toContain("tampered");

    // The previous form, which ran the script (a second shell): git still works through it, status
    // reads it, install replaces it, uninstall removes it.
    ok(await git(t, ["config", "--global", "--replace-all", key, `${script} --host ${H}`, "^!vers_helper="]), "git config previous form");
    expect(await values(t, key)).toEqual(["", `${script} --host ${H}`]);
    expect((await fill(t)).helperRan).toBe(false);
    ok(await runLinked(["uninstall", "--global", "--host", H]), "uninstall the previous form");
    expect(await values(t, key)).toEqual([]);
    for (const value of ["", `${script} --host ${H}`]) ok(await git(t, ["config", "--global", "--add", key, value]), "git config --add");
    ok(await runLinked(["install", "--global", "--host", H]), "install over the previous form");
    expect(await values(t, key)).toEqual(["", line]);

    ok(await runLinked(["uninstall", "--global", "--host", H]), "uninstall");
    expect(await values(t, key)).toEqual([]);
  });

  it("a helper in a folder that is not the user's: the plain line, and one line saying why", async () => {
    const t = await newEnv();
    const dir = join(t.home, "theirs");
    const linked = await helperIn(dir);
    await chown(dir, 65534, 65534).catch(() => undefined); // as root; otherwise the folder is not writable below
    await chmod(dir, 0o555);
    try {
      const r = ok(await run(linked, ["install", "--global", "--host", H], { env: t.env, cwd: t.home }), "install");
      expect(r.stdout).toMatch(/^the fast path's script cannot be put beside the helper \(.*(is not yours|is not writable)\): writing the plain helper line$/m);
      expect(await values(t, `credential.https://${H}.helper`)).toEqual(["", `${linked} --host ${H}`]);
      expect(existsSync(join(dir, "git-credential-vers-fast"))).toBe(false);
    } finally {
      await chmod(dir, 0o755);
    }
  });

  it("the helper beside the script is gone: git shows one line from us, and approve and reject go on", async () => {
    const t = await newEnv();
    const linked = await helperIn(join(t.home, "tools"));
    ok(await run(linked, ["install", "--global", "--host", H], { env: t.env, cwd: t.home }), "install");
    await rm(linked);
    const said = `git-credential-vers: the helper ${linked} is missing or not executable (run git-credential-vers install again)`;
    const filled = await credential(t, "fill", { protocol: "https", host: H });
    expect(filled.code).not.toBe(0);
    expect(filled.stderr.split("\n").filter((l) => !l.startsWith("fatal: "))).toEqual([said, ""]);
    for (const action of ["approve", "reject"] as const) {
      const r = await credential(t, action, served("ghs_whateverGitHadInHand000000000000000"));
      expect(r).toMatchObject({ code: 0, stdout: "" });
      expect(r.stderr).toBe(`${said}\n`);
    }
  });
});

describe("git's daemon answers hits without starting Node", () => {
  it("20 fills with a warm disk cache: 1 mint, the helper runs for the first only; approve runs nothing and leaves the daemon's entry", async () => {
    const t = await newEnv();
    await install(t);
    const mints = broker.mints;
    const token = await warmDisk(t);

    const fills: Filled[] = [];
    for (let i = 0; i < 20; i++) {
      const f = await fill(t);
      fills.push(f);
      const startsBefore = nodeStarts(t).length;
      // git's approve runs `store` on the script: a shell no-op, no Node, nothing for the daemon.
      ok(await credential(t, "approve", served(f.token)), "git credential approve");
      // Even a different password approved by git never reaches the daemon (git's own timeout would outlive the refresh point).
      ok(await credential(t, "approve", served("ghs_approvedByGitNotByTheHelper0000000000")), "git credential approve (other password)");
      expect(nodeStarts(t).length, `approve after fill ${i + 1} started the helper`).toBe(startsBefore);
    }
    expect(fills.map((f) => f.token)).toEqual(Array(20).fill(token));
    expect(fills.map((f) => f.helperRan)).toEqual([true, ...Array(19).fill(false)]);
    expect(broker.mints - mints).toBe(1);
    expect(matched(t)).toBe(2); // the warm-up get and the first fill
    expect(await daemonHolds(t, onlySocket(t))).toBe(token);
  });

  it("a profile set in the environment never receives another profile's token from the daemon", async () => {
    const t = await newEnv();
    await install(t);
    const first = await fill(t);
    expect(first.helperRan).toBe(true);
    expect((await fill(t)).helperRan).toBe(false); // warm: the daemon answers

    const { value: clone, requests } = await requestsDuring(broker, () => fill(t, {}, { VERS_GITHUB_PROFILE: "clone" }));
    expect(clone.helperRan).toBe(true);
    expect(requests.map((r) => r.json)).toEqual([{ permissions: { contents: "read" } }]);
    expect(clone.token).not.toBe(first.token);
    expect(registry.lookup(clone.token)?.permissions).toEqual({ contents: "read" });

    // One daemon for the folder holds both, each under its configuration's fingerprint: both are served from memory now, each its own token.
    const cloneAgain = await fill(t, {}, { VERS_GITHUB_PROFILE: "clone" });
    expect(cloneAgain).toMatchObject({ token: clone.token, helperRan: false });
    const defaultAgain = await fill(t);
    expect(defaultAgain).toMatchObject({ token: first.token, helperRan: false });
    expect(sockets(t)).toHaveLength(1);
  });

  it("one daemon for the folder, four configurations (profiles, keys): none is answered with another's token; git, status and the trace never see the fingerprint or a key", async () => {
    const t = await newEnv();
    await install(t);
    const configs: EnvChange[] = [{}, { VERS_GITHUB_PROFILE: "clone" }, { VERS_API_KEY: apiKeyB, VERS_BASE_URL: brokerB.url }, { VERS_API_KEY: apiKeyB, VERS_BASE_URL: brokerB.url, VERS_GITHUB_PROFILE: "clone" }];
    const seen: string[] = [];
    const tokens: string[] = [];
    for (const change of configs) {
      const f = await fill(t, {}, change);
      expect(f.helperRan, JSON.stringify(change)).toBe(true);
      tokens.push(f.token);
      seen.push(f.run.stdout, f.run.stderr);
    }
    expect(new Set(tokens).size).toBe(configs.length);
    // All held by the one daemon now, each under its own fingerprint: each configuration gets its own.
    for (const [i, change] of configs.entries()) {
      const f = await fill(t, {}, change);
      expect(f, JSON.stringify(change)).toMatchObject({ token: tokens[i], helperRan: false });
      seen.push(f.run.stdout, f.run.stderr);
    }
    expect(sockets(t)).toHaveLength(1);
    const s = await run(HELPER_BIN, ["status", "--json"], { env: t.env, cwd: t.home });
    expect((JSON.parse(s.stdout) as { git: unknown[] }).git).toEqual([expect.objectContaining({ host: H, fastPath: true, daemonToken: `…${tokens[0]!.slice(-4)}` })]);
    seen.push(s.stdout, s.stderr, readFileSync(join(t.home, "trace.log"), "utf8"));
    for (const text of seen) {
      expect(text).not.toContain("vers1:");
      expect(text).not.toContain(apiKey);
      expect(text).not.toContain(apiKeyB);
    }
  });

  it("the source, the broker URL and the key in the environment pick their own daemon too", async () => {
    const t = await newEnv();
    await install(t);
    const first = await fill(t);
    expect((await fill(t)).helperRan).toBe(false);

    // Only the key, or only the broker, changed (the broker refuses that key): the helper asks, and git gets
    // nothing — never the first token.
    for (const change of [{ VERS_API_KEY: apiKeyB }, { VERS_BASE_URL: brokerB.url }]) {
      const before = nodeStarts(t).length;
      const r = await credential(t, "fill", { protocol: "https", host: H }, change);
      expect(nodeStarts(t).length, JSON.stringify(change)).toBe(before + 1);
      expect(r.stdout).not.toContain(first.token);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/the broker rejected VERS_API_KEY \(HTTP 401\)/);
    }

    // Another key and its broker: that broker's token.
    const { value: b, requests: onB } = await requestsDuring(brokerB, () => fill(t, {}, { VERS_API_KEY: apiKeyB, VERS_BASE_URL: brokerB.url }));
    expect(b.helperRan).toBe(true);
    expect(onB).toHaveLength(1);
    expect(onB[0]!.authorization).toBe(`Bearer ${apiKeyB}`);
    expect(b.token).not.toBe(first.token);
    expect((await fill(t, {}, { VERS_API_KEY: apiKeyB, VERS_BASE_URL: brokerB.url })).token).toBe(b.token);

    // Another source (a static token): that token, not the broker's.
    const staticToken = "ghp_staticTokenFromTheEnvironment00000000";
    const s = await fill(t, {}, { VERS_TOKEN_SOURCE: "static", GITHUB_TOKEN: staticToken });
    expect(s).toMatchObject({ token: staticToken, helperRan: true });
  });
});

describe("reject, expiry and scope", () => {
  it("git credential reject drops the token from the daemon and the disk: the next fill mints anew", async () => {
    const t = await newEnv();
    await install(t);
    const mints = broker.mints;
    const first = await fill(t);
    const socket = onlySocket(t);
    expect(await daemonHolds(t, socket)).toBe(first.token);

    ok(await credential(t, "reject", served(first.token)), "git credential reject");
    expect(await daemonHolds(t, socket)).toBeUndefined();
    for (const name of readdirSync(t.cacheDir).filter((n) => n.endsWith(".json"))) {
      expect(readFileSync(join(t.cacheDir, name), "utf8")).not.toContain(first.token);
    }

    const second = await fill(t);
    expect(second.helperRan).toBe(true);
    expect(second.token).not.toBe(first.token);
    expect(broker.mints - mints).toBe(2);
    expect(await daemonHolds(t, socket)).toBe(second.token);
  });

  it("a reject while the folder's stamp does not hold still drops the token from the daemon: after another configuration restamps it, the rejected token never comes back", async () => {
    const t = await newEnv();
    await install(t);
    const clone = { VERS_GITHUB_PROFILE: "clone" };
    const first = await fill(t);
    expect((await fill(t, {}, clone)).helperRan).toBe(true);
    expect(await fill(t)).toMatchObject({ token: first.token, helperRan: false });
    // Something changes in the folder (as any mint or erase does): the stamp no longer holds.
    writeFileSync(join(t.cacheDir, "probe"), "");
    rmSync(join(t.cacheDir, "probe"));
    ok(await credential(t, "reject", served(first.token)), "git credential reject");
    // The other configuration's fill runs the helper, which hands off and stamps the folder again.
    expect((await fill(t, {}, clone)).helperRan).toBe(true);
    expect((await fill(t, {}, clone)).helperRan).toBe(false);
    const again = await fill(t);
    expect(again.token).not.toBe(first.token);
    expect(again.helperRan).toBe(true);
  });

  it("a short-lived token: served by the daemon, then by the helper, then refreshed; never expired, never past the refresh point", async () => {
    broker.setLifetime(20);
    // A 5 s margin: this machine's refresh point lies 5–10 s before expiry, leaving the daemon 5–10 s.
    const t = await newEnv({ VERS_REFRESH_MARGIN: "5" });
    await install(t);
    const mints = broker.mints;
    const fills: Filled[] = [];
    for (let i = 0; i < 120 && broker.mints - mints < 2; i++) {
      const f = await fill(t);
      const minted = registry.lookup(f.token);
      expect(minted, `fill ${i + 1} returned a token the broker never minted`).toBeDefined();
      expect(minted!.expiresAt, `fill ${i + 1} returned an expired token`).toBeGreaterThan(f.returnedAt);
      fills.push(f);
      await pace(250);
    }
    expect(broker.mints - mints, `${fills.length} fills`).toBe(2);
    const token1 = fills[0]!.token;
    const firstOf2 = fills.findIndex((f) => f.token !== token1);
    expect(fills[0]!.helperRan).toBe(true);
    expect(fills[firstOf2]!.helperRan).toBe(true);

    // The daemon never serves a token inside the refresh margin (this machine refreshes earlier still).
    const fromDaemon = fills.filter((f) => !f.helperRan);
    for (const f of fromDaemon) expect(registry.lookup(f.token)!.expiresAt - f.returnedAt).toBeGreaterThanOrEqual(5_000);
    const lastFromDaemon = fills.findLastIndex((f, i) => i < firstOf2 && !f.helperRan);
    expect(lastFromDaemon, "the first token was never served by the daemon").toBeGreaterThan(0);
    // It drops the token before the helper would refresh it: the helper serves it from disk (no mint) before the refresh.
    const fromDisk = fills.slice(lastFromDaemon + 1, firstOf2);
    expect(fromDisk.length, "the daemon served the first token until the helper refreshed it").toBeGreaterThan(0);
    for (const f of fromDisk) expect(f).toMatchObject({ token: token1, helperRan: true });
    // Past the refresh, the new token goes to the daemon in its turn.
    const after = await fill(t);
    expect(after).toMatchObject({ token: fills[firstOf2]!.token, helperRan: false });
  });

  it("per repository: each repository gets its own token, and the daemon never hands one repository's token to another", async () => {
    const t = await newEnv();
    await install(t, ["--per-repo"]);
    expect(await values(t, `credential.https://${H}.useHttpPath`)).toEqual(["true"]);
    const { value: widgets, requests: w } = await requestsDuring(broker, () => fill(t, { path: "acme/widgets.git" }));
    expect(w.map((r) => r.json)).toEqual([{ repositories: ["widgets"] }]);
    expect((await fill(t, { path: "acme/widgets.git" })).helperRan).toBe(false);

    const { value: gadgets, requests: g } = await requestsDuring(broker, () => fill(t, { path: "acme/gadgets.git" }));
    expect(g.map((r) => r.json)).toEqual([{ repositories: ["gadgets"] }]);
    expect(gadgets.helperRan).toBe(true);
    expect(gadgets.token).not.toBe(widgets.token);
    expect(registry.lookup(gadgets.token)?.repositories).toEqual(["gadgets"]);

    for (let i = 0; i < 3; i++) {
      expect(await fill(t, { path: "acme/gadgets.git" })).toMatchObject({ token: gadgets.token, helperRan: false });
      expect(await fill(t, { path: "acme/widgets.git" })).toMatchObject({ token: widgets.token, helperRan: false });
    }
    const socket = onlySocket(t);
    expect(await daemonHolds(t, socket, { path: "acme/other.git" })).toBeUndefined();

    // A request with no path (git's default) is org-wide: never a repository's token from the daemon.
    const org = await fill(t);
    expect(org.helperRan).toBe(true);
    expect([widgets.token, gadgets.token]).not.toContain(org.token);
    expect(registry.lookup(org.token)?.repositories).toBeNull();
    expect(await fill(t)).toMatchObject({ token: org.token, helperRan: false });
    expect(await fill(t, { path: "acme/widgets.git" })).toMatchObject({ token: widgets.token, helperRan: false });
  });
});

describe("the daemon's life", () => {
  it("8 concurrent fills against a cold cache, then against a warm one: 1 mint, one token, exactly one daemon", async () => {
    const t = await newEnv();
    await install(t);
    const mints = broker.mints;
    const all = await Promise.all(Array.from({ length: 8 }, () => fill(t)));
    expect(broker.mints - mints).toBe(1);
    expect(new Set(all.map((f) => f.token)).size).toBe(1);
    const socket = onlySocket(t);
    expect(daemonsFor(socket)).toHaveLength(1);
    expect(await daemonHolds(t, socket)).toBe(all[0]!.token);

    // Again with a warm disk cache (no lock to wait on: the processes hand off together) and no daemon.
    await exitDaemon(t, socket);
    const warm = await Promise.all(Array.from({ length: 16 }, () => fill(t)));
    expect(warm.map((f) => f.token)).toEqual(Array(16).fill(all[0]!.token));
    expect(broker.mints - mints).toBe(1);
    expect(daemonsFor(socket)).toHaveLength(1);
    expect(await daemonHolds(t, socket)).toBe(all[0]!.token);
  });

  it("one process at a time hands off: a fresh lock on the socket makes others skip, a stale one (a killed process's) does not", async () => {
    const t = await newEnv();
    await install(t);
    const token = (await fill(t)).token;
    const socket = onlySocket(t);
    await exitDaemon(t, socket);

    const gate = `${socket}.lock`;
    await mkdir(gate);
    expect(await fill(t)).toMatchObject({ token, helperRan: true });
    expect(daemonsFor(socket)).toEqual([]);
    expect(await readFile(t.trace, "utf8")).toContain("another process is handing a token to the fast path");
    expect(existsSync(gate)).toBe(true); // not ours to remove

    const past = new Date(Date.now() - 60_000);
    await utimes(gate, past, past);
    expect(await fill(t)).toMatchObject({ token, helperRan: true });
    expect(daemonsFor(socket)).toHaveLength(1);
    expect(existsSync(gate)).toBe(false);
    expect(await fill(t)).toMatchObject({ token, helperRan: false });
  });

  it("uninstall stops the daemon; cache clear does too, and the next fill mints anew", async () => {
    const t = await newEnv();
    await install(t);
    const first = await fill(t);
    const socket = onlySocket(t);
    const [daemon] = daemonsFor(socket);
    expect(daemon).toBeDefined();

    ok(await helper(t, ["uninstall", "--global", "--host", H]), "uninstall");
    await waitFor("the daemon to exit after uninstall", () => daemonsFor(socket).length === 0);
    expect(processesNaming(socket).map((p) => p.pid)).not.toContain(daemon!.pid);
    expect(sockets(t)).toEqual([]);

    await install(t);
    const second = await fill(t);
    expect(second).toMatchObject({ token: first.token, helperRan: true }); // the disk still held it
    expect(daemonsFor(socket)).toHaveLength(1);
    const mints = broker.mints;
    ok(await helper(t, ["cache", "clear"]), "cache clear");
    await waitFor("the daemon to exit after cache clear", () => daemonsFor(socket).length === 0);
    expect(sockets(t)).toEqual([]);
    const third = await fill(t);
    expect(third.helperRan).toBe(true);
    expect(third.token).not.toBe(first.token);
    expect(broker.mints - mints).toBe(1);
  });
});

describe("status", () => {
  interface Wiring {
    host: string;
    wired: boolean;
    fastPath: boolean;
    answersFor: string[];
    daemonToken: string | null;
  }
  interface StatusJson {
    ok: boolean;
    problems: Array<{ what: string; fix: string }>;
    git: Wiring[];
  }

  async function status(t: Env, args: string[] = [], envChange: EnvChange = {}): Promise<{ r: RunResult; s: StatusJson }> {
    const r = await run(HELPER_BIN, ["status", "--json", ...args], { env: envWith(t, envChange), cwd: t.home });
    return { r, s: JSON.parse(r.stdout) as StatusJson };
  }

  it("shows the fast path and what its daemon holds; a plain line is fine", async () => {
    const t = await newEnv();
    await install(t);
    const before = await status(t);
    expect(before.r.code, JSON.stringify(before.s.problems)).toBe(0);
    expect(before.s.git).toEqual([expect.objectContaining({ host: H, wired: true, fastPath: true, daemonToken: null })]);

    const f = await fill(t);
    const warm = await status(t);
    expect(warm.r.code, JSON.stringify(warm.s.problems)).toBe(0);
    expect(warm.s.git).toEqual([expect.objectContaining({ host: H, wired: true, fastPath: true, answersFor: [H], daemonToken: `…${f.token.slice(-4)}` })]);
    expect(warm.r.stdout).not.toContain(f.token);

    await install(t, ["--no-fast-path"]);
    const plain = await status(t);
    expect(plain.r.code, JSON.stringify(plain.s.problems)).toBe(0);
    expect(plain.s.git).toEqual([expect.objectContaining({ host: H, wired: true, fastPath: false, daemonToken: null })]);
  });

  it("flags a hand-written line that, as git runs it, does not answer for its host", async () => {
    const t = await newEnv();
    const ghe = "ghe.example.com";
    const key = `credential.https://${ghe}.helper`;
    ok(await git(t, ["config", "--global", "--add", key, ""]), "git config reset");
    ok(await git(t, ["config", "--global", "--add", key, HELPER_BIN]), "git config helper");
    const noHost = { VERS_GITHUB_HOST: undefined };

    // git runs the line with VERS_GITHUB_HOST unset: the helper answers only for github.com, git gets nothing.
    const r = await credential(t, "fill", { protocol: "https", host: ghe }, noHost);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain("password=");
    expect(await readFile(t.trace, "utf8")).toMatch(/not answering for https:\/\/ghe\.example\.com \(hosts: github\.com\)/);

    // status for that host, from the same environment, says so and exits 1.
    const bad = await status(t, ["--host", ghe], noHost);
    expect(bad.r.code).toBe(1);
    expect(bad.s.git).toEqual([expect.objectContaining({ host: ghe, wired: true, fastPath: false, answersFor: ["github.com"] })]);
    expect(bad.s.problems.map((p) => p.what)).toContainEqual(expect.stringMatching(/https:\/\/ghe\.example\.com.*answers only for github\.com/));

    // With VERS_GITHUB_HOST naming it, the same plain line answers: fine.
    const good = await status(t, [], { VERS_GITHUB_HOST: ghe });
    expect(good.r.code, JSON.stringify(good.s.problems)).toBe(0);

    // install --host writes a line that answers whatever the environment says.
    ok(await helper(t, ["install", "--global", "--host", ghe]), "install --host ghe.example.com");
    const fixed = await status(t, ["--host", ghe], noHost);
    expect(fixed.r.code, JSON.stringify(fixed.s.problems)).toBe(0);
    expect(fixed.s.git).toEqual([expect.objectContaining({ host: ghe, wired: true, fastPath: true, answersFor: [ghe] })]);
    const filled = await credential(t, "fill", { protocol: "https", host: ghe }, noHost);
    expect(filled.code, filled.stderr).toBe(0);
    expect(parseLines(filled.stdout).password).toMatch(/^ghs_/);
  });
});

describe("through the TLS git host", () => {
  it("clone, commit, push and fetch: 1 mint, and Node ran for the first request only", async () => {
    const t = await newEnv();
    for (const [k, v] of [["user.name", "Vers Test"], ["user.email", "vers-test@example.invalid"], ["init.defaultBranch", "main"]] as const) {
      ok(await git(t, ["config", "--global", k, v]), `git config ${k}`);
    }
    await install(t);
    const remote = await gitHost.createRepo("acme", `fast-${Date.now()}`);
    const work = join(t.home, "work");
    const mints = broker.mints;
    const starts = nodeStarts(t).length;
    const step = async (args: string[], cwd?: string) => ok(await git(t, args, cwd), `git ${args.join(" ")}`);
    await step(["clone", "--quiet", remote, work]);
    await writeFile(join(work, "FAST.md"), "served by git's own credential cache\n");
    await step(["add", "FAST.md"], work);
    await step(["commit", "--quiet", "-m", "Fast path"], work);
    await step(["push", "--quiet", "origin", "HEAD:main"], work);
    await step(["fetch", "--quiet", "origin"], work);
    expect((await step(["rev-parse", "origin/main"], work)).stdout).toBe((await step(["rev-parse", "HEAD"], work)).stdout);
    expect(broker.mints - mints).toBe(1);
    expect(nodeStarts(t).slice(starts)).toEqual([["--host", H, "get"]]);
    const authorized = gitHost.requests.filter((r) => r.status === 200 && r.token !== undefined);
    expect(authorized.length).toBeGreaterThan(2);
  });
});

describe("rough edges of these commands", () => {
  it("install --host store writes the config (only store as the action is git's store)", async () => {
    const t = await newEnv();
    const r = ok(await helper(t, ["install", "--global", "--host", "store"]), "install --host store");
    expect(r.stdout).toContain("store:");
    const lines = await values(t, "credential.https://store.helper");
    expect(lines).toEqual(["", `!vers_helper=${HELPER_BIN}; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host store`]);
    ok(await helper(t, ["uninstall", "--global", "--host", "store"]), "uninstall --host store");
    expect(await values(t, "credential.https://store.helper")).toEqual([]);
  });

  it("cache with no subcommand prints its help and exits 0", async () => {
    const t = await newEnv();
    const r = await helper(t, ["cache"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Usage: git-credential-vers cache/);
    expect(r.stdout).toMatch(/clear( \[options\])?\s+remove every cached token/);
  });

  it("install --help and token --help show --host and --profile", async () => {
    const t = await newEnv();
    for (const command of ["install", "token"]) {
      const r = await helper(t, [command, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\s+--host <host>/m);
      expect(r.stdout).toMatch(/^\s+--profile <name>/m);
    }
  });

  it("a mistyped command exits 0 silently when stdin is not a terminal; at a terminal, exit 2 and one hint line", async () => {
    const t = await newEnv();
    const piped = await helper(t, ["frobnicate"], "protocol=https\nhost=github.com\n\n");
    expect(piped).toMatchObject({ code: 0, stdout: "", stderr: "" });

    // At a terminal (script gives it a pty), exit 2 and one hint line (issue 18).
    const command = `${HELPER_BIN} frobnicate`;
    const tty = await run("script", ["-qec", command, "/dev/null"], { env: t.env, cwd: t.home });
    expect(tty.code).toBe(2);
    expect(tty.stdout.trim().split(/\r?\n/)).toEqual(['git-credential-vers: unknown command "frobnicate" (see git-credential-vers --help)']);
  });
});
