/**
 * Issue 12, the cache folder and its files: never through a link, never relative to where git runs,
 * never someone else's folder, never blocked by a FIFO or a lock from the future, never serving an entry
 * others could read, and a read-only folder said plainly. Built helper, temporary HOMEs.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { helper, HELPER_BIN, run, type RunResult, type TestEnv } from "./harness";
import { brokerCounter, brokerEnvs, CHUNKS_OBSERVABLE, entryFiles, expectFailure, getToken, lines, parseLines, request, useServers } from "./fixtures";

const HOST = "github.com";
/** An unprivileged user: as root, chmod stops nobody, so read-only folders are tried as this user. */
const NOBODY = 65534;
const servers = useServers();

const env = brokerEnvs(servers, { host: HOST, timeoutS: 3 });

const get = (t: TestEnv) => helper(t, ["get"], request(HOST));
/** A run the harness kills after 20 s: one that hangs fails on its exit code, not by timing out the test. */
const bounded = (t: TestEnv, args: string[], input?: string) => run(HELPER_BIN, args, { env: t.env, cwd: t.home, input, timeoutMs: 20_000 });

interface StatusJson {
  ok: boolean;
  problems: Array<{ what: string; fix: string }>;
  cache: { dir: string; usable: boolean; entries: unknown[]; unreadable: string[] };
}

function statusOf(r: RunResult): StatusJson {
  expect(r.signal, r.stderr).toBeNull();
  return JSON.parse(r.stdout) as StatusJson;
}

const problemText = (s: StatusJson) => s.problems.map((p) => `${p.what} (${p.fix})`).join("\n");

/** The path of the one entry a first get wrote, and that entry's token. */
async function firstEntry(t: TestEnv): Promise<{ path: string; token: string }> {
  const { token } = await getToken(t, HOST);
  const files = await entryFiles(t.cacheDir);
  expect(files).toHaveLength(1);
  return { path: files[0]!, token };
}

/** Every path under `dir` (links not followed) with its type, mode, owner and content. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await lstat(path);
    const what = st.isDirectory() ? "folder" : st.isSymbolicLink() ? "link" : await readFile(path, "utf8");
    out[name] = `${(st.mode & 0o7777).toString(8)} ${st.uid} ${what}`;
    if (st.isDirectory()) for (const [k, v] of Object.entries(await tree(path))) out[`${name}/${k}`] = v;
  }
  return out;
}

describe("a symlinked cache folder", () => {
  it("gets no token written through it, and cache clear deletes nothing in the link's target", async () => {
    const t = await env();
    const target = join(t.home, "elsewhere");
    await mkdir(join(target, "keep", "0123456789abcdef.json.lock"), { recursive: true, mode: 0o700 });
    await chmod(target, 0o700);
    await writeFile(join(target, "notes.txt"), "mine\n");
    await writeFile(join(target, "0123456789abcdef.json"), "named like an entry\n", { mode: 0o600 });
    await writeFile(join(target, "keep", "inner.txt"), "mine too\n");
    await mkdir(join(target, "fedcba9876543210.json.lock"), { mode: 0o700 });
    await mkdir(join(t.home, ".cache"), { mode: 0o700 });
    await symlink(target, t.cacheDir);
    const before = await tree(target);

    const r = await get(t);
    expect(r.code, r.stderr).toBe(0);
    expect(servers.broker.registry.lookup(parseLines(r.stdout).password!)).toBeDefined();
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/symbolic link/);

    const clear = await helper(t, ["cache", "clear"]);
    expect(clear.code).toBe(1);
    expect(clear.stderr).toMatch(/symbolic link/);
    expect(await tree(target)).toEqual(before);
    expect((await lstat(t.cacheDir)).isSymbolicLink()).toBe(true);
  });
});

describe("a HOME that is not an absolute path", () => {
  it.each(["", "."])("HOME=%j, no XDG_CACHE_HOME: no .cache in the folder git runs in, and its ./.vers/keys.json is not read", async (home) => {
    const t = await env();
    const work = await mkdtemp(join(tmpdir(), "vers-repo-"));
    try {
      await mkdir(join(work, ".vers"), { mode: 0o700 });
      await writeFile(join(work, ".vers", "keys.json"), JSON.stringify({ keys: { VERS_API_KEY: servers.apiKey } }), { mode: 0o600 });
      const rest = without(t.env, "XDG_CACHE_HOME");
      const inRepo = (extra: Record<string, string>) => run(HELPER_BIN, ["get"], { env: { ...rest, HOME: home, ...extra }, cwd: work, input: request(HOST) });

      // With the key in the environment: served, one warning, nothing cached in the repository.
      const served = await inRepo({});
      expect(served.code, served.stderr).toBe(0);
      expect(servers.broker.registry.lookup(parseLines(served.stdout).password!)).toBeDefined();
      expect(lines(served.stderr)).toHaveLength(1);
      expect(served.stderr).toMatch(/not an absolute path/);
      expect(existsSync(join(work, ".cache"))).toBe(false);

      // Without it: the planted ./.vers/keys.json is not used, nothing is sent.
      const noKey = without(rest, "VERS_API_KEY");
      const count = brokerCounter(servers.broker);
      const refused = await run(HELPER_BIN, ["get"], { env: { ...noKey, HOME: home }, cwd: work, input: request(HOST) });
      expectFailure(refused, /no Vers API key was found.*HOME is not an absolute path/);
      expect(count.requests()).toBe(0);
      expect(await readdir(work)).toEqual([".vers"]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe("an XDG_CACHE_HOME that is not an absolute path", () => {
  it("is not used: a warning, a token, and no cache in the folder git runs in", async () => {
    const t = await env({ extraEnv: { XDG_CACHE_HOME: ".cache" } });
    const work = await mkdtemp(join(tmpdir(), "vers-repo-"));
    try {
      const r = await run(HELPER_BIN, ["get"], { env: t.env, cwd: work, input: request(HOST) });
      expect(r.code, r.stderr).toBe(0);
      expect(servers.broker.registry.lookup(parseLines(r.stdout).password!)).toBeDefined();
      expect(r.stderr).toMatch(/not an absolute path/);
      expect(await readdir(work)).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe("a cache folder someone else made", () => {
  it("created by another uid before the first get: not used, no token written in it", async () => {
    const t = await env();
    await mkdir(t.cacheDir, { recursive: true, mode: 0o700 });
    await chown(t.cacheDir, NOBODY, NOBODY);
    const r = await get(t);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`owned by uid ${NOBODY}`));
    expect(await readdir(t.cacheDir)).toEqual([]);
  });
});

describe("a FIFO in place of an entry", () => {
  it("get and status finish: the FIFO is a miss, listed as unreadable", async () => {
    const t = await env();
    const { path, token } = await firstEntry(t);
    const plant = async () => {
      await rm(path);
      execFileSync("mkfifo", ["-m", "600", path]);
    };
    await plant();
    const count = brokerCounter(servers.broker);
    const r = await bounded(t, ["get"], request(HOST));
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(parseLines(r.stdout).password).not.toBe(token);
    expect(count.mints()).toBe(1);

    await plant();
    const s = statusOf(await bounded(t, ["status", "--json"]));
    expect(s.cache.unreadable).toContain(path.split("/").pop());
  });
});

describe("a FIFO in the trace file's place", () => {
  it("get still answers: nothing waits for a reader, nothing is written to it", async () => {
    const t = await env();
    const fifo = join(t.home, "trace.fifo");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    const r = await bounded({ ...t, env: { ...t.env, VERS_CREDENTIAL_TRACE: fifo } }, ["get"], request(HOST));
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(servers.broker.registry.lookup(parseLines(r.stdout).password!)).toBeDefined();
  });
});

describe("a lock from the future (a clock stepped back)", () => {
  it("a lock folder an hour ahead: a cold get mints once and succeeds", async () => {
    const t = await env();
    const { path } = await firstEntry(t);
    await rm(path);
    await mkdir(`${path}.lock`);
    const hourAhead = Date.now() / 1000 + 3600;
    await utimes(`${path}.lock`, hourAhead, hourAhead);
    const count = brokerCounter(servers.broker);
    const r = await get(t);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(count.mints()).toBe(1);
  });

  it("a live lock never released: the timeout names the time really waited", async () => {
    const t = await env({ extraEnv: { VERS_TIMEOUT: "1" } });
    const { path } = await firstEntry(t);
    await rm(path);
    await mkdir(`${path}.lock`);
    const count = brokerCounter(servers.broker);
    const line = expectFailure(await get(t), /timed out after \d+(\.\d+)? s waiting for another/);
    const waited = Number(/timed out after (\d+(?:\.\d+)?) s/.exec(line)![1]);
    expect(waited).toBeGreaterThanOrEqual(0.5); // of the 1 s deadline; never "0 s"
    expect(count.requests()).toBe(0);
  });
});

describe("an entry with a wider mode than 0600", () => {
  it("is not served (a new mint), status reports it, and the new entry is 0600", async () => {
    const t = await env();
    const { path, token } = await firstEntry(t);
    await chmod(path, 0o644);
    const s = statusOf(await helper(t, ["status", "--json"]));
    expect(problemText(s)).toContain(path.split("/").pop());
    expect(problemText(s)).toMatch(/644/);

    const count = brokerCounter(servers.broker);
    const again = await getToken(t, HOST);
    expect(again.token).not.toBe(token);
    expect(count.mints()).toBe(1);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});

describe.skipIf(!onPath("setpriv") || process.getuid?.() !== 0)("a read-only cache folder (run as an unprivileged user: needs root and setpriv)", () => {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => chmod(dir, 0o700).catch(() => undefined)));
  });

  /**
   * A copy of the helper inside the HOME (the checkout may lie where uid 65534 cannot reach, e.g. a
   * 0700 temporary folder): the single binary, or bin/ with dist/'s chunks and code caches.
   */
  async function helperInside(t: TestEnv): Promise<string> {
    if (!CHUNKS_OBSERVABLE) {
      const copy = join(t.home, "git-credential-vers");
      await copyFile(HELPER_BIN, copy);
      return copy;
    }
    const root = join(HELPER_BIN, "..", "..");
    for (const dir of ["bin", "dist"]) await mkdir(join(t.home, "helper", dir), { recursive: true });
    await copyFile(HELPER_BIN, join(t.home, "helper", "bin", "git-credential-vers"));
    for (const name of (await readdir(join(root, "dist"))).filter((n) => /\.cjs(\.cache)?$/.test(n))) await copyFile(join(root, "dist", name), join(t.home, "helper", "dist", name));
    return join(t.home, "helper", "bin", "git-credential-vers");
  }

  /** The helper as uid 65534, on a HOME that user owns. */
  let bin = HELPER_BIN;
  const asNobody = (t: TestEnv, args: string[], input?: string) =>
    run("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", bin, ...args], { env: t.env, cwd: t.home, input, timeoutMs: 20_000 });

  it("status names the problem and its fix; cache clear says what it could not remove; get still serves", async () => {
    const t = await env();
    bin = await helperInside(t);
    await chmod(bin, 0o755);
    execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, t.home]);
    const first = await asNobody(t, ["get"], request(HOST));
    expect(first.code, first.stderr).toBe(0);
    const [entry] = await entryFiles(t.cacheDir);
    expect(entry).toBeDefined();
    await chmod(t.cacheDir, 0o500);
    made.push(t.cacheDir);

    const status = await asNobody(t, ["status", "--json"]);
    const s = statusOf(status);
    expect(status.code).toBe(1);
    expect(s.cache.usable).toBe(false);
    expect(problemText(s)).toMatch(/not writable/);
    expect(problemText(s)).toContain(`chmod u+w ${t.cacheDir}`);

    const clear = await asNobody(t, ["cache", "clear"]);
    expect(clear.code).toBe(1);
    expect(clear.stderr).not.toMatch(/unexpected error|report it/);
    expect(clear.stderr).toContain(`could not remove ${entry!.split("/").pop()} (EACCES)`);
    expect(existsSync(entry!)).toBe(true);

    const served = await asNobody(t, ["get"], request(HOST));
    expect(served.code, served.stderr).toBe(0);
    expect(servers.broker.registry.lookup(parseLines(served.stdout).password!)).toBeDefined();
  });
});

function without(env: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k !== name));
}

function onPath(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
