/**
 * The shared on-disk cache: refresh inside the margin, serving a token in hand while the broker is
 * down, never serving an expired one, surviving a killed lock holder, corrupt entries, file modes,
 * an untrusted folder and an unwritable cache root.
 */
import { spawn } from "node:child_process";
import { chmod, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { helper, HELPER_BIN } from "./harness";
import { brokerCounter, brokerEnvs, entryFiles, expectFailure, getToken, lines, onlyEntry, parseLines, request, useServers } from "./fixtures";

const HOST = "github.com";
const TIMEOUT_S = 3;
const servers = useServers();

const env = brokerEnvs(servers, { host: HOST, timeoutS: TIMEOUT_S });

const get = (t: Awaited<ReturnType<typeof env>>) => helper(t, ["get"], request(HOST));

describe("refresh margin", () => {
  it("a token with less than the 300 s margin left is refreshed on the next get", async () => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    servers.broker.setLifetime(200);
    const first = await getToken(t, HOST);
    expect(count.mints()).toBe(1);
    const second = await getToken(t, HOST);
    expect(count.mints()).toBe(2);
    expect(second.token).not.toBe(first.token);
    expect(servers.broker.registry.lookup(second.token)).toBeDefined();
    const expiry = Math.floor(servers.broker.registry.lookup(second.token)!.expiresAt / 1000);
    expect(parseLines(second.run.stdout).password_expiry_utc).toBe(String(expiry));
  });

  it("with the broker down, a cached token inside the margin is served after one attempt", async () => {
    const t = await env({ extraEnv: { VERS_TIMEOUT: "15" } });
    servers.broker.setLifetime(200);
    const first = await getToken(t, HOST);
    servers.broker.setMode("500");
    const trace = join(t.home, "trace.log");
    const count = brokerCounter(servers.broker);
    const r = await helper({ ...t, env: { ...t.env, VERS_CREDENTIAL_TRACE: trace } }, ["get"], request(HOST));
    expect(r.code).toBe(0);
    expect(parseLines(r.stdout).password).toBe(first.token);
    // One attempt, not retries until the 15 s deadline: the refresh gave up after its one try and the
    // token in hand was served.
    expect(count.requests()).toBe(1);
    expect(await readFile(trace, "utf8")).toMatch(/refresh failed \(the broker is unavailable \(HTTP 500 after 1 try\)[^\n]*; serving the cached token, \d+ s left/);
  });
});

describe("a cold cache and a failing broker", () => {
  it("HTTP 500: exit 1 with one line naming HTTP 500, within the deadline", async () => {
    const t = await env();
    servers.broker.setMode("500");
    const count = brokerCounter(servers.broker);
    const r = await get(t);
    expectFailure(r, /HTTP 500/);
    expect(count.requests()).toBeGreaterThanOrEqual(2); // 5xx is retried within the deadline
    expect(r.ms).toBeLessThan((TIMEOUT_S + 3) * 1000);
  });

  it("a hanging broker: exit 1 within the deadline, saying it did not answer in time", async () => {
    const t = await env();
    servers.broker.setMode("hang");
    const r = await get(t);
    expectFailure(r, /did not answer in time/);
    expect(r.ms).toBeLessThan((TIMEOUT_S + 3) * 1000);
  });
});

describe("expiry", () => {
  it("an expired cached token is never served, even when the broker is down", async () => {
    const t = await env();
    const { token } = await getToken(t, HOST);
    const entry = await onlyEntry(t.cacheDir);
    expect(entry.data.token).toBe(token);
    await writeFile(entry.path, JSON.stringify({ ...entry.data, expiresAt: Date.now() - 60_000 }) + "\n", { mode: 0o600 });
    servers.broker.setMode("500");
    const r = await get(t);
    expect(r.stdout).not.toContain(token);
    expect(r.stderr).not.toContain(token);
    expectFailure(r, /HTTP 500/);

    // The failure is noted for 10 s (other gets fail at once); let it lapse, as time would.
    const notes = (await readdir(t.cacheDir)).filter((n) => n.endsWith(".failed"));
    expect(notes).toHaveLength(1);
    await rm(join(t.cacheDir, notes[0]!));
    servers.broker.setMode("ok");
    const again = await getToken(t, HOST);
    expect(again.token).not.toBe(token);
  });
});

describe("locks", () => {
  it("a get killed with SIGKILL while holding the lock does not block the next one", async () => {
    const t = await env({ extraEnv: { VERS_TIMEOUT: "15" } });
    servers.broker.setMode("hang");
    const asked = servers.broker.onRequest();
    const child = spawn(HELPER_BIN, ["get"], { env: t.env, cwd: t.home, stdio: ["pipe", "ignore", "ignore"] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    child.stdin.on("error", () => undefined);
    child.stdin.end(request(HOST));
    await asked; // it holds the lock and waits on the broker
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const left = (await readdir(t.cacheDir)).filter((n) => n.endsWith(".lock"));
    expect(left).toHaveLength(1);

    servers.broker.setMode("ok");
    const count = brokerCounter(servers.broker);
    const r = await get(t);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(servers.broker.registry.lookup(parseLines(r.stdout).password!)).toBeDefined();
    expect(count.mints()).toBe(1);
    expect(r.ms).toBeLessThan(15_000);
  }, 30_000);
});

describe("damaged or untrusted cache", () => {
  it.each([
    ["truncated to half", async (path: string, text: string) => truncate(path, Math.floor(text.length / 2))],
    ["overwritten with {garbage", async (path: string) => writeFile(path, "{garbage")],
  ])("an entry %s is a miss: the next get mints again and rewrites it", async (_name, damage) => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const first = await getToken(t, HOST);
    const entry = await onlyEntry(t.cacheDir);
    await damage(entry.path, entry.text);
    const second = await getToken(t, HOST);
    expect(count.mints()).toBe(2);
    expect(second.token).not.toBe(first.token);
    const after = JSON.parse(await readFile(entry.path, "utf8")) as { token?: string };
    expect(after.token).toBe(second.token);
  });

  it("the cache folder is 0700, entries are 0600, and no temporary file or lock is left", async () => {
    const t = await env();
    await getToken(t, HOST);
    expect((await stat(t.cacheDir)).mode & 0o777).toBe(0o700);
    const files = await entryFiles(t.cacheDir);
    expect(files).toHaveLength(1);
    expect((await stat(files[0]!)).mode & 0o777).toBe(0o600);
    const names = await readdir(t.cacheDir);
    expect(names.filter((n) => n.endsWith(".tmp"))).toEqual([]);
    expect(names.filter((n) => n.endsWith(".lock"))).toEqual([]);
  });

  it("a group/world-writable cache folder is not used: one warning, a fresh mint, nothing written", async () => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const first = await getToken(t, HOST);
    await chmod(t.cacheDir, 0o777);
    const before = await snapshot(t.cacheDir);
    const r = await get(t);
    expect(r.code).toBe(0);
    const token = parseLines(r.stdout).password!;
    expect(token).not.toBe(first.token);
    expect(servers.broker.registry.lookup(token)).toBeDefined();
    expect(count.mints()).toBe(2);
    const warning = lines(r.stderr);
    expect(warning).toHaveLength(1);
    expect(warning[0]).toContain(t.cacheDir);
    expect(await snapshot(t.cacheDir)).toEqual(before);
  });

  it("an unwritable cache root (XDG_CACHE_HOME is a regular file) still serves tokens", async () => {
    const t = await env();
    const file = join(t.home, "not-a-folder");
    await writeFile(file, "just a file\n");
    t.env.XDG_CACHE_HOME = file;
    for (let i = 0; i < 2; i++) {
      const r = await get(t);
      expect(r.stderr).not.toContain("    at ");
      expect(r.code).toBe(0);
      expect(servers.broker.registry.lookup(parseLines(r.stdout).password!)).toBeDefined();
    }
    expect(await readFile(file, "utf8")).toBe("just a file\n");
  });
});

/** Names, sizes, modes, mtimes and contents of everything in a folder. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await stat(path);
    out[name] = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.isFile() ? await readFile(path, "utf8") : "(folder)"}`;
  }
  return out;
}
