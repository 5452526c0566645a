/**
 * Issue 15, items 1 and 9, through real git and `install`'s config: the fast path uses a daemon socket
 * only where the helper itself would use the cache folder, and a socket differs per HOME (the key may
 * come from ~/.vers/keys.json). The attacker listens on the predictable socket names (the fingerprint
 * with and without HOME: whichever the fast path computes), in a folder the helper refuses.
 */
import { chmod, chown, mkdir, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FAST_SOCKET_NAME } from "../../src/fast-path/lines";
import { HELPER_BIN, run, stopFastPathDaemons, type RunResult, type TestEnv } from "./harness";
import { ok, parseLines, tempEnvs, useServers } from "./fixtures";

const HOST = "github.com";
const OTHER_UID = 65534;
const ATTACKER_PASSWORD = "ghs_attackerPasswordFromAForeignDaemon000";
const isRoot = process.getuid?.() === 0;

const servers = useServers();
const env = tempEnvs(() => ({ brokerUrl: servers.broker.url, apiKey: servers.apiKey, hosts: [HOST], wireGit: false }));

/** A listener on a Unix socket that plays a credential-cache daemon: it answers a password, or accepts and never answers. */
interface FakeDaemon {
  connections: number;
  close(): Promise<void>;
}
const daemons: FakeDaemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

async function fakeDaemon(paths: string[], mode: "answers" | "hangs", owner?: number): Promise<FakeDaemon> {
  const held: Socket[] = [];
  const servers: Server[] = [];
  const d: FakeDaemon = {
    connections: 0,
    close: async () => {
      held.forEach((s) => s.destroy());
      await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
    },
  };
  for (const path of paths) {
    const server = createServer((s) => {
      d.connections++;
      held.push(s);
      s.on("error", () => undefined);
      // It answers under whatever username= it is asked with (the fingerprint is predictable without a key).
      let asked = "";
      s.on("data", (chunk: Buffer) => void (asked += chunk.toString()));
      s.on("end", () => {
        if (mode === "answers") s.end(`username=${/^username=(.*)$/m.exec(asked)?.[1] ?? "x-access-token"}\npassword=${ATTACKER_PASSWORD}\n`);
      });
    });
    await new Promise<void>((done, fail) => server.once("error", fail).listen(path, done));
    servers.push(server);
    if (owner !== undefined) await chown(path, owner, owner);
  }
  daemons.push(d);
  return d;
}

/** The socket the fast path may use in this folder: one per folder, fast.sock (the fingerprint goes in the request). */
async function predictableSockets(dir: string, _e: Record<string, string>): Promise<string[]> {
  return [join(dir, FAST_SOCKET_NAME)];
}

function credential(t: TestEnv, action: "fill" | "reject", extra = ""): Promise<RunResult> {
  return run("git", ["credential", action], { env: t.env, cwd: t.home, input: `protocol=https\nhost=${HOST}\n${extra}\n`, timeoutMs: 20_000 });
}

/** Three folders the helper refuses, each with the attacker's sockets in it. */
const setups: Array<{ what: string; make(sticky: string): Promise<string> }> = [
  {
    what: "another user's git-credential-vers/ in a sticky world-writable XDG_CACHE_HOME",
    make: async (sticky) => {
      const dir = join(sticky, "git-credential-vers");
      await mkdir(dir, { mode: 0o755 });
      await chown(dir, OTHER_UID, OTHER_UID);
      return dir;
    },
  },
  {
    what: "a git-credential-vers/ of this user's that others may write (0777)",
    make: async (sticky) => {
      const dir = join(sticky, "git-credential-vers");
      await mkdir(dir);
      await chmod(dir, 0o777);
      return dir;
    },
  },
  {
    what: "a git-credential-vers link of this user's to another user's folder",
    make: async (sticky) => {
      const target = join(sticky, "elsewhere");
      await mkdir(target, { mode: 0o700 });
      await chown(target, OTHER_UID, OTHER_UID);
      await symlink(target, join(sticky, "git-credential-vers"));
      return join(sticky, "git-credential-vers");
    },
  },
];

describe.skipIf(!isRoot)("a cache folder the helper refuses: no daemon is asked there (issue 15, item 1)", () => {
  for (const setup of setups) {
    for (const mode of ["answers", "hangs"] as const) {
      it(`${setup.what}; a socket there that ${mode === "answers" ? "answers a password" : "accepts and never answers"}`, async () => {
        const t = await env();
        const sticky = join(t.home, "shared");
        await mkdir(sticky);
        await chmod(sticky, 0o1777);
        t.env.XDG_CACHE_HOME = sticky;
        expect(ok(await run(HELPER_BIN, ["install", "--global", "--host", HOST], { env: t.env, cwd: t.home }), "install").stdout).toContain("the fast path");
        const dir = await setup.make(sticky);
        const attacker = await fakeDaemon(await predictableSockets(dir, t.env), mode, OTHER_UID);

        const filled = await credential(t, "fill");
        expect(filled.signal, `git credential fill blocked:\n${filled.stderr}`).toBeNull();
        expect(filled.code, filled.stderr).toBe(0);
        expect(filled.stdout).not.toContain(ATTACKER_PASSWORD);
        const token = parseLines(filled.stdout).password!;
        expect(servers.registry.lookup(token)).toBeDefined();
        expect(filled.stderr).toMatch(/not using the cache/);

        const rejected = await credential(t, "reject", `username=x-access-token\npassword=${token}\n`);
        expect(rejected.signal).toBeNull();
        expect(rejected.code, rejected.stderr).toBe(0);
        expect(attacker.connections, "connections to the attacker's sockets").toBe(0);
      });
    }
  }
});

describe.skipIf(!isRoot)("a folder the helper stamped, then opened to others (the script reads no mode: the helper's stamp)", () => {
  it("the daemon answers while nothing changed; once an attacker's socket replaces it, none is asked and the helper serves", async () => {
    const t = await env();
    ok(await run(HELPER_BIN, ["install", "--global", "--host", HOST], { env: t.env, cwd: t.home }), "install");
    const first = await credential(t, "fill");
    const token = parseLines(ok(first, "fill").stdout).password!;
    const mints = servers.broker.mints;
    expect(parseLines(ok(await credential(t, "fill"), "fill").stdout).password).toBe(token);
    expect(servers.broker.mints, "the daemon answered").toBe(mints);

    await chmod(t.cacheDir, 0o777);
    ok(await run("git", ["credential-cache", "--socket", join(t.cacheDir, FAST_SOCKET_NAME), "exit"], { env: t.env, cwd: t.home }), "exit");
    const attacker = await fakeDaemon([join(t.cacheDir, FAST_SOCKET_NAME)], "answers", OTHER_UID);

    const filled = await credential(t, "fill");
    expect(filled.code, filled.stderr).toBe(0);
    expect(filled.stdout).not.toContain(ATTACKER_PASSWORD);
    expect(servers.registry.lookup(parseLines(filled.stdout).password!)).toBeDefined();
    expect(filled.stderr).toMatch(/not using the cache/);
    ok(await credential(t, "reject", `username=x-access-token\npassword=${token}\n`), "reject");
    expect(attacker.connections, "connections to the attacker's socket").toBe(0);
  });
});

describe("HOME is part of the fast path's fingerprint (issue 15, item 9)", () => {
  it("one XDG_CACHE_HOME, two HOMEs whose ~/.vers/keys.json hold different keys: the second never gets the first key's token", async () => {
    const a = await env({ apiKey: undefined });
    const b = await env({ apiKey: undefined });
    const shared = join(a.home, "shared-cache");
    await mkdir(shared, { mode: 0o700 });
    for (const [t, key] of [
      [a, servers.apiKey],
      [b, "vers_test_anotherKeyTheBrokerRefuses0000"],
    ] as const) {
      await mkdir(join(t.home, ".vers"), { mode: 0o700 });
      await writeFile(join(t.home, ".vers", "keys.json"), JSON.stringify({ keys: { VERS_API_KEY: key } }), { mode: 0o600 });
      t.env.XDG_CACHE_HOME = shared;
      ok(await run(HELPER_BIN, ["install", "--global", "--host", HOST], { env: t.env, cwd: t.home }), "install");
    }

    try {
      await bothHomes(a, b);
    } finally {
      await stopFastPathDaemons(join(shared, "git-credential-vers"), a.env);
    }
  });
});

async function bothHomes(a: TestEnv, b: TestEnv): Promise<void> {
  const first = await credential(a, "fill");
  expect(first.code, first.stderr).toBe(0);
  const token = parseLines(first.stdout).password!;
  expect(servers.registry.lookup(token)).toBeDefined();
  // The daemon answers a's next fill: the fast path is in use.
  const mints = servers.broker.mints;
  expect(parseLines((await credential(a, "fill")).stdout).password).toBe(token);
  expect(servers.broker.mints).toBe(mints);

  const second = await credential(b, "fill");
  expect(second.stdout).not.toContain(token);
  expect(second.code).not.toBe(0);
  expect(second.stderr).toMatch(/the broker rejected VERS_API_KEY/);
}
