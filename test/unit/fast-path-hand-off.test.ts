/**
 * src/fast-path/hand-off.ts and socket-folder.ts, in process: the seconds a daemon may keep a token
 * (the refresh point less a 5 s safety), and which VERS_FAST_PATH_SOCKET the helper hands off to.
 */
import { chmod, chown, mkdir, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { refreshLeadMs, type RefreshPolicy } from "../../src/cache/freshness";
import { daemonTimeoutSeconds, fastPathSocket, fastPathUser, handOff } from "../../src/fast-path/hand-off";
import { fastPathFolder } from "../../src/fast-path/socket-folder";
import { fakeIo, type FakeIo } from "./fake-io";

const NOW = 1_800_000_000_000;
const policy: RefreshPolicy = { marginMs: 300_000, machine: () => "build-7 02:00:00:00:00:07/10.0.0.7" };
const isRoot = process.getuid?.() === 0;

const made: FakeIo[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((io) => io.cleanup()));
});

/** A fake Io whose HOME is its temporary folder, so the script's folder is its cache folder, created 0700. */
async function ioWithFolder(mode = 0o700): Promise<FakeIo> {
  const io = await fakeIo({}, NOW);
  made.push(io);
  (io.env as Record<string, string>).HOME = io.homedir;
  await mkdir(io.cacheDir, { recursive: true });
  await chmod(io.cacheDir, mode);
  return io;
}

function withSocket(io: FakeIo, socket: string): FakeIo {
  return Object.assign(Object.create(io) as FakeIo, { env: { ...io.env, VERS_FAST_PATH_SOCKET: socket } });
}

describe("daemonTimeoutSeconds: until this machine's refresh point, less 5 s", () => {
  const lead = refreshLeadMs(policy);

  it("is the whole seconds to the refresh point, less 5", () => {
    for (const ms of [3_600_000, 600_000, 61_500]) {
      const expiresAt = NOW + lead + ms;
      expect(daemonTimeoutSeconds(expiresAt, NOW, policy)).toBe(Math.floor(ms / 1000) - 5);
    }
  });

  it("is 0 or less within 6 s of the refresh point, and past it", () => {
    expect(daemonTimeoutSeconds(NOW + lead + 6_000, NOW, policy)).toBe(1);
    expect(daemonTimeoutSeconds(NOW + lead + 5_999, NOW, policy)).toBe(0);
    expect(daemonTimeoutSeconds(NOW + lead, NOW, policy)).toBe(-5);
    expect(daemonTimeoutSeconds(NOW - 1_000, NOW, policy)).toBeLessThan(0);
  });

  it("handOff hands nothing over (and runs nothing) within the safety", async () => {
    const io = await ioWithFolder();
    const socket = join(io.cacheDir, "fast.sock");
    const traced: string[] = [];
    const served = { token: "ghs_tokenNearItsRefreshPoint0000000000000", expiresAt: NOW + refreshLeadMs(policy) + 5_999, origin: "cache" };
    await handOff(io, socket, "vers1:0:", { protocol: "https", host: "github.com", lists: {} }, served, policy, (m) => traced.push(m));
    expect(traced).toEqual(["not handing …0000 to the fast path: its refresh point is near"]);
  });
});

describe("fastPathUser: the script's fingerprint, only in its form", () => {
  it("accepts vers1: fingerprints up to 8 KiB without control characters; refuses anything else", () => {
    const fp = "vers1:16:--host github.com,7:/home/u,0:,0:,0:,10:vers_key_1";
    expect(fastPathUser({ VERS_FAST_PATH_USER: fp })).toBe(fp);
    expect(fastPathUser({ VERS_FAST_PATH_USER: `vers1:${"x".repeat(8186)}` })).toBeDefined();
    for (const bad of [undefined, "", "x-access-token", `vers1:${"x".repeat(8187)}`, "vers1:3:a\nb", "vers1:3:a\rb", "vers1:1:\x7f", "vers1:1:\t"]) {
      expect(fastPathUser({ VERS_FAST_PATH_USER: bad }), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe("fastPathSocket: only fast.sock in the script's folder, which is the helper's and fit for one", () => {
  it("accepts the socket the script names in the helper's own 0700 folder", async () => {
    const io = await ioWithFolder();
    const socket = join(io.cacheDir, "fast.sock");
    expect(fastPathSocket(withSocket(io, socket))).toBe(socket);
    expect(fastPathSocket(io)).toBeUndefined();
  });

  it("refuses a socket outside the cache folder, or not named as ours", async () => {
    const io = await ioWithFolder();
    for (const socket of ["/tmp/elsewhere/fast-1-2.sock", join(io.cacheDir, "sub", "fast.sock"), join(io.cacheDir, "evil.sock"), join(io.cacheDir, "fast-1-2.sock.lock"), `${io.cacheDir}/../git-credential-vers/fast-1-2.sock`, "fast.sock"]) {
      expect(fastPathSocket(withSocket(io, socket)), socket).toBeUndefined();
    }
  });

  it("refuses a folder with group or other bits, a link, a missing folder", async () => {
    for (const mode of [0o750, 0o755, 0o701, 0o777]) {
      const io = await ioWithFolder(mode);
      expect(fastPathSocket(withSocket(io, join(io.cacheDir, "fast.sock"))), mode.toString(8)).toBeUndefined();
    }
    const linked = await ioWithFolder();
    const real = join(linked.homedir, "real");
    await mkdir(real, { mode: 0o700 });
    await rm(linked.cacheDir, { recursive: true });
    await symlink(real, linked.cacheDir);
    expect(fastPathSocket(withSocket(linked, join(linked.cacheDir, "fast.sock")))).toBeUndefined();
    const missing = await ioWithFolder();
    await rm(missing.cacheDir, { recursive: true });
    expect(fastPathSocket(withSocket(missing, join(missing.cacheDir, "fast.sock")))).toBeUndefined();
  });

  it.skipIf(!isRoot)("refuses another user's folder", async () => {
    const io = await ioWithFolder();
    await chown(io.cacheDir, 65534, 65534);
    expect(fastPathSocket(withSocket(io, join(io.cacheDir, "fast.sock")))).toBeUndefined();
  });

  it("refuses a folder in a parent others may replace it in (world-writable, not sticky)", async () => {
    const io = await ioWithFolder();
    await chmod(join(io.cacheDir, ".."), 0o777);
    expect(fastPathSocket(withSocket(io, join(io.cacheDir, "fast.sock")))).toBeUndefined();
    await chmod(join(io.cacheDir, ".."), 0o1777);
    expect(fastPathSocket(withSocket(io, join(io.cacheDir, "fast.sock")))).toBeDefined();
  });

  it("refuses where the script's folder is not the helper's cache folder (another XDG_CACHE_HOME, an empty HOME)", async () => {
    const io = await ioWithFolder();
    const socket = join(io.cacheDir, "fast.sock");
    expect(fastPathSocket(withSocket(Object.assign(Object.create(io) as FakeIo, { env: { ...io.env, XDG_CACHE_HOME: "/somewhere/else" } }), socket))).toBeUndefined();
    expect(fastPathSocket(withSocket(Object.assign(Object.create(io) as FakeIo, { env: { ...io.env, HOME: "" } }), socket))).toBeUndefined();
  });
});

describe("fastPathFolder: the script's ${XDG_CACHE_HOME:-$HOME/.cache}/git-credential-vers, from absolute clean paths only", () => {
  it.each([
    [{ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" }, "/x/cache/git-credential-vers"],
    [{ XDG_CACHE_HOME: "/x/cache/", HOME: "/home/u" }, "/x/cache/git-credential-vers"],
    [{ XDG_CACHE_HOME: "/" }, "/git-credential-vers"],
    [{ XDG_CACHE_HOME: "", HOME: "/home/u" }, "/home/u/.cache/git-credential-vers"],
    [{ HOME: "/home/u" }, "/home/u/.cache/git-credential-vers"],
    [{ HOME: "/" }, "/.cache/git-credential-vers"],
    [{ HOME: "/home/u/" }, "/home/u/.cache/git-credential-vers"],
    [{ HOME: "" }, undefined],
    [{}, undefined],
    [{ HOME: "home/u" }, undefined],
    [{ HOME: "." }, undefined],
    [{ XDG_CACHE_HOME: "cache", HOME: "/home/u" }, undefined],
    [{ XDG_CACHE_HOME: "/x//cache" }, undefined],
    [{ XDG_CACHE_HOME: "/x/./cache" }, undefined],
    [{ XDG_CACHE_HOME: "/x/../cache" }, undefined],
    [{ XDG_CACHE_HOME: "/x/.." }, undefined],
    [{ HOME: "/home/u//" }, undefined],
  ])("%j → %s", (env, folder) => {
    expect(fastPathFolder(env)).toBe(folder);
  });
});
