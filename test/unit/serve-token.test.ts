/**
 * The serve/miss path in process, table-driven (in the manner of cli/cli's Test_helperRun): a fake Io
 * (fake clock, temporary HOME and cache folder), a fake network source that counts mints and fails on
 * demand, and the real cache, acquire loop and lock library. Each row says what the cache and lock
 * hold before, what the source does, and asserts what was served, how many mints, and what was written.
 */
import { chownSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { mkdir, readFile, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquire } from "../../src/cache/acquire";
import type { CacheEntry } from "../../src/cache/entry";
import { refreshLeadMs, refreshPolicy } from "../../src/cache/freshness";
import { scopeKey } from "../../src/cache/key";
import type { HeldLock } from "../../src/cache/lock";
import { CacheStore } from "../../src/cache/store";
import { chooseSource, type NetworkSource } from "../../src/choose-source";
import { Deadline } from "../../src/deadline";
import { errorLine, HelperError } from "../../src/errors";
import { mintOnMiss } from "../../src/mint-on-miss";
import type { Scope } from "../../src/scope";
import type { Network } from "../../src/serve-context";
import { serveToken } from "../../src/serve-token";
import { resolveSettings } from "../../src/settings";
import type { Served } from "../../src/token";
import { startRedis } from "../servers/redis";
import { fakeIo, type FakeIo } from "./fake-io";

const API_KEY = "vers_test_serve_token_key_0001";
const SCOPE: Scope = { host: "github.com", repositories: [] };
const CACHED = "ghs_cachedTokenCachedTokenCachedToken01";
const OTHER = "ghs_otherProcessOtherProcessOtherProc02";
const STATIC = "ghp_staticStaticStaticStaticStatic0003";

type SourceBehaviour = "ok" | "unavailable" | "unauthorized";

interface Row {
  name: string;
  env?: Record<string, string>;
  /** Seconds left on the token the cache holds before (negative: expired); undefined: nothing cached. */
  cached?: number;
  lock?: "live" | "stale" | "future";
  /** A failure another process noted, this long ago. */
  noteAgoMs?: number;
  source: SourceBehaviour;
  /** Runs once the serve is waiting on the lock (its trace says so). */
  whileWaiting?: (t: Harness) => Promise<void>;
  /** Replaces the cache folder before the serve. */
  folder?: "a file" | "a symlink";
  served: "cached" | "minted" | "other" | "static" | RegExp;
  mints: number;
  /** What the entry file holds afterwards: a token name, or "none". */
  written: "cached" | "minted" | "other" | "none";
  stderr?: RegExp;
  noteWritten?: boolean;
  /** A trace line that must (true) or must not (false) appear, e.g. that a hit took no lock. */
  traced?: [RegExp, boolean];
}

interface Harness {
  io: FakeIo;
  store: CacheStore;
  key: string;
  entryPath: string;
  mints: number;
  minted: string[];
  traced: string[];
}

const ROWS: Row[] = [
  { name: "a cache hit, without taking the lock", cached: 3000, source: "ok", served: "cached", mints: 0, written: "cached", traced: [/took the lock|cache miss/, false] },
  { name: "nothing cached: mint and write", source: "ok", served: "minted", mints: 1, written: "minted" },
  { name: "inside the refresh margin: mint and replace", cached: 100, source: "ok", served: "minted", mints: 1, written: "minted" },
  { name: "token in hand while the source fails: serve it, note the failure", cached: 100, source: "unavailable", served: "cached", mints: 1, written: "cached", noteWritten: true },
  { name: "an expired entry is replaced", cached: -10, source: "ok", served: "minted", mints: 1, written: "minted" },
  { name: "an expired entry is never served, even when the source fails", cached: -10, source: "unavailable", served: /the fake source is unavailable/, mints: 1, written: "cached", noteWritten: true },
  {
    name: "lock held by a live process: wait for its entry, mint nothing",
    lock: "live",
    source: "ok",
    whileWaiting: async (t) => {
      writeEntry(t, OTHER, 3600);
      await releaseLock(t);
    },
    served: "other",
    mints: 0,
    written: "other",
  },
  {
    name: "lock freed without an entry: take it and mint",
    lock: "live",
    source: "ok",
    whileWaiting: (t) => releaseLock(t),
    served: "minted",
    mints: 1,
    written: "minted",
  },
  {
    name: "lock freed after the holder failed: fail with its note, mint nothing",
    lock: "live",
    source: "ok",
    whileWaiting: async (t) => {
      t.store.writeFailure(t.key, { at: t.io.now(), code: "unauthorized", what: "the broker rejected VERS_API_KEY (HTTP 401)", hint: "check the key", status: 401 });
      await releaseLock(t);
    },
    served: /the broker rejected VERS_API_KEY \(HTTP 401\)/,
    mints: 0,
    written: "none",
  },
  { name: "a stale lock (its holder was killed) is taken over", lock: "stale", source: "ok", served: "minted", mints: 1, written: "minted" },
  { name: "a lock from the future (clock stepped back) is taken over", lock: "future", source: "ok", served: "minted", mints: 1, written: "minted" },
  { name: "token in hand while another process refreshes: serve it at once", cached: 100, lock: "live", source: "ok", served: "cached", mints: 0, written: "cached" },
  { name: "a failure noted 3 s ago, no token in hand: fail at once", noteAgoMs: 3000, source: "ok", served: /the broker rejected VERS_API_KEY/, mints: 0, written: "none" },
  { name: "a failure noted 11 s ago has lapsed: ask again", noteAgoMs: 11_000, source: "ok", served: "minted", mints: 1, written: "minted" },
  { name: "a failure noted 3 s ago, token in hand: serve it without asking", cached: 100, noteAgoMs: 3000, source: "ok", served: "cached", mints: 0, written: "cached" },
  { name: "a final failure is noted for other processes", source: "unauthorized", served: /rejected VERS_API_KEY/, mints: 1, written: "none", noteWritten: true },
  { name: "static source: served as is, never cached", env: { VERS_TOKEN_SOURCE: "static", GITHUB_TOKEN: STATIC }, source: "ok", served: "static", mints: 0, written: "none" },
  {
    name: "static fallback when the source fails, with one warning",
    env: { VERS_FALLBACK: "static", GITHUB_TOKEN: STATIC },
    source: "unauthorized",
    served: "static",
    mints: 1,
    written: "none",
    stderr: /^git-credential-vers: the broker rejected VERS_API_KEY \(HTTP 401\); using GITHUB_TOKEN instead \(fallback static\)\n$/,
  },
  {
    name: "a static fallback that cannot be printed: no warning, one error naming the source's failure and the variable",
    env: { VERS_FALLBACK: "static", GITHUB_TOKEN: `${STATIC}\nhost=evil.example` },
    source: "unauthorized",
    served: /^git-credential-vers: the broker rejected VERS_API_KEY \(HTTP 401\), and the fallback in GITHUB_TOKEN cannot be printed: it holds a control character .*\(set GITHUB_TOKEN to the token alone\)\n$/,
    mints: 1,
    written: "none",
  },
  { name: "a file in the cache folder's place: warn, go on uncached", folder: "a file", source: "ok", served: "minted", mints: 1, written: "none", stderr: /not using the cache: .* is not a folder/ },
  { name: "a symlinked cache folder: warn, write nothing through it", folder: "a symlink", source: "ok", served: "minted", mints: 1, written: "none", stderr: /not using the cache: .* is a symbolic link/ },
  {
    name: "a lock never released: time out at the deadline, mint nothing",
    env: { VERS_TIMEOUT: "1" },
    lock: "live",
    source: "ok",
    served: /timed out after 1\.\d s waiting for another git-credential-vers/,
    mints: 0,
    written: "none",
  },
];

let current: FakeIo | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

describe("serveToken", () => {
  it.each(ROWS)("$name", async (row) => {
    const t = await setUp(row);
    const network = fakeNetwork(t, row.source);
    const settings = resolveSettings({}, t.io.env);
    const serving = serveToken({ io: t.io, settings, trace: (m) => t.traced.push(m), network: async () => network }, SCOPE).then(
      (served): Served | Error => served,
      (err: unknown) => err as Error,
    );
    if (row.whileWaiting) {
      await until(() => t.traced.some((m) => m.includes("waiting for its token")));
      await row.whileWaiting(t);
    }
    const result = await serving;

    if (row.served instanceof RegExp) {
      expect(result).toBeInstanceOf(HelperError);
      expect(errorLine(result)).toMatch(row.served);
    } else {
      expect(result).not.toBeInstanceOf(Error);
      expect((result as Served).token).toBe(tokenNamed(t, row.served));
    }
    expect(t.mints).toBe(row.mints);
    expect(await entryToken(t)).toBe(row.written === "none" ? undefined : tokenNamed(t, row.written));
    if (row.stderr) expect(t.io.err).toMatch(row.stderr);
    else expect(t.io.err).toBe("");
    if (row.noteWritten !== undefined) expect(t.store.readFailure(t.key) !== undefined).toBe(row.noteWritten);
    if (row.traced) expect(t.traced.some((m) => row.traced![0].test(m))).toBe(row.traced[1]);
  });

  it("a served entry keeps the scope's repository and the token's permissions", async () => {
    const t = await setUp({ name: "", source: "ok", served: "minted", mints: 1, written: "minted" });
    const scope: Scope = { host: "github.com", owner: "Acme", repositories: ["Widgets"], permissions: { contents: "read" }, profile: "clone" };
    const network = fakeNetwork(t, "ok");
    const served = await serveToken({ io: t.io, settings: resolveSettings({}, t.io.env), trace: () => {}, network: async () => network }, scope);
    const key = scopeKey(identityOf(t), scope);
    const entry = t.store.read(key)!;
    expect(entry.token).toBe(served.token);
    expect(entry).toMatchObject({ host: "github.com", owner: "Acme", repositories: ["Widgets"], permissions: { contents: "write" }, source: "broker" });
    expect(t.store.read(t.key)).toBeUndefined();
  });
});

describe("the refresh margin through the pipeline", () => {
  it("a 303 s token with a 300 s margin: minted and served, served again a second later, refreshed once 299 s are left", async () => {
    const t = await setUp({ name: "", source: "ok", served: "minted", mints: 1, written: "minted" });
    const settings = resolveSettings({}, t.io.env);
    const network: Network = {
      mintFrom: async () => {
        t.mints++;
        return { token: `ghs_short${t.mints}Short${t.mints}ShortShortShortShort`, expiresAt: t.io.now() + 303_000 };
      },
    };
    const serve = () => serveToken({ io: t.io, settings, trace: () => {}, network: async () => network }, SCOPE);
    const first = await serve();
    t.io.advance(1000);
    expect((await serve()).token).toBe(first.token);
    expect(t.mints).toBe(1);
    t.io.advance(3000);
    expect((await serve()).token).not.toBe(first.token);
    expect(t.mints).toBe(2);
  });
});

describe("the refresh point with a fleet tier (a real redis-server)", () => {
  it("the machine first past its point refreshes for the fleet: the fleet's copy of the token it holds is due too", async () => {
    const redis = await startRedis();
    const ios: FakeIo[] = [];
    try {
      // Two machines of one fleet (one key, one Redis), each with its own cache: the one that refreshes
      // earliest of 50 clones, and the one that refreshes latest.
      const byLead = Array.from({ length: 50 }, (_, i) => `ci-runner-${i + 1}`).sort((a, b) => leadOf(a) - leadOf(b));
      const start = Date.now();
      const machine = async (identity: string) => {
        const io = await fakeIo({ VERS_API_KEY: API_KEY, VERS_REDIS_URL: redis.url }, start);
        io.machineIdentity = () => identity;
        ios.push(io);
        return io;
      };
      const [early, late] = [await machine(byLead.at(-1)!), await machine(byLead[0]!)];
      let mints = 0;
      const network: Network = {
        mintFrom: async () => {
          mints++;
          return { token: `ghs_fleet${mints}Fleet${mints}FleetFleetFleetFleet`, expiresAt: start + 3600_000 * mints };
        },
      };
      const serve = (io: FakeIo) => serveToken({ io, settings: resolveSettings({}, io.env), trace: () => {}, network: async () => network }, SCOPE);
      const first = await serve(early);
      expect((await serve(late)).token).toBe(first.token);
      expect(mints).toBe(1);
      // Between the two machines' points: the early one refreshes (its point holds for the fleet's copy
      // too), the late one still serves the first token; past its point, it finds the new one in Redis.
      const between = Math.round((leadOf(byLead.at(-1)!) + leadOf(byLead[0]!)) / 2);
      for (const io of ios) io.advance(3600_000 - between);
      const refreshed = await serve(early);
      expect(mints).toBe(2);
      expect(refreshed.token).not.toBe(first.token);
      expect((await serve(late)).token).toBe(first.token);
      for (const io of ios) io.advance(between - leadOf(byLead[0]!));
      expect((await serve(late)).token).toBe(refreshed.token);
      expect(mints).toBe(2);
    } finally {
      await Promise.all(ios.map((io) => io.cleanup()));
      await redis.close();
    }
  });
});

describe("the lock's guards", () => {
  it("an entry another process wrote between our first look and our lock is served: read again under the lock, no second mint", async () => {
    const t = await setUp({ name: "", source: "ok", served: "other", mints: 0, written: "other" });
    t.store.ensureDir();
    // The other process mints and releases its lock just after our first read.
    let reads = 0;
    const store = Object.assign(new CacheStore(t.io.cacheDir, t.io.uid), {
      read(this: CacheStore, key: string) {
        const entry = CacheStore.prototype.read.call(this, key);
        if (++reads === 1) writeEntry(t, OTHER, 3600);
        return entry;
      },
    });
    const acquired = await acquire({ store, key: t.key, policy: refreshPolicy(resolveSettings({}, t.io.env), t.io), deadline: Deadline.in(15_000, t.io.now), now: t.io.now, sleep: t.io.sleep, trace: (m) => t.traced.push(m) });
    expect(acquired.kind).toBe("fresh");
    expect(acquired.kind === "fresh" && acquired.entry.token).toBe(OTHER);
    expect(reads).toBe(2);
    expect(readdirSync(t.io.cacheDir).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });

  it("a lock taken over while minting: the token is served, the entry the new holder wrote is not overwritten, the lock let go", async () => {
    const t = await setUp({ name: "", source: "ok", served: "minted", mints: 1, written: "other" });
    t.store.ensureDir();
    writeEntry(t, OTHER, 3600);
    let released = 0;
    const lock: HeldLock = { stillHeld: () => false, release: async () => void released++ };
    const settings = resolveSettings({}, t.io.env);
    const source = chooseSource(settings, t.io) as NetworkSource;
    const ctx = { io: t.io, settings, trace: (m: string) => t.traced.push(m), network: async () => fakeNetwork(t, "ok") };
    const served = await mintOnMiss(ctx, { source, scope: SCOPE, key: t.key, store: t.store, acquired: { kind: "locked", lock }, deadline: Deadline.in(15_000, t.io.now) });
    expect(served.token).toBe(t.minted[0]);
    expect(t.mints).toBe(1);
    expect(await entryToken(t)).toBe(OTHER);
    expect(released).toBe(1);
    expect(t.traced.join("\n")).toMatch(/the lock was taken over while minting; not writing the cache/);
  });
});

describe.skipIf(process.getuid?.() !== 0)("the cache folder's creation race (needs root to make a folder another uid owns)", () => {
  it("a folder another user makes between the check and the creation gets no token: checked again after creating it", async () => {
    const t = await setUp({ name: "", source: "ok", served: "minted", mints: 1, written: "none" });
    // openCache reads the uid twice: for the folder check, then for the store. Between the two, the
    // check has passed (no folder yet) and nothing is created: the attacker's moment.
    let reads = 0;
    const uid = t.io.uid;
    Object.defineProperty(t.io, "uid", {
      get() {
        if (++reads === 2) {
          mkdirSync(t.io.cacheDir, { recursive: true, mode: 0o700 });
          chownSync(t.io.cacheDir, 65534, 65534);
        }
        return uid;
      },
    });
    const network = fakeNetwork(t, "ok");
    const served = await serveToken({ io: t.io, settings: resolveSettings({}, t.io.env), trace: (m) => t.traced.push(m), network: async () => network }, SCOPE);
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(served.token).toBe(t.minted[0]);
    expect(statSync(t.io.cacheDir).uid).toBe(65534);
    expect(readdirSync(t.io.cacheDir)).toEqual([]);
    expect(t.traced.join("\n")).toMatch(/cannot lock the cache \(.*owned by uid 65534/);
  });
});

async function setUp(row: Row): Promise<Harness> {
  const io = await fakeIo({ VERS_API_KEY: API_KEY, ...row.env });
  current = io;
  const store = new CacheStore(io.cacheDir, io.uid);
  const key = scopeKey(identityOf({ io } as Harness), SCOPE);
  const t: Harness = { io, store, key, entryPath: store.entryPath(key), mints: 0, minted: [], traced: [] };
  if (row.folder === "a file") {
    await mkdir(join(io.cacheDir, ".."), { recursive: true });
    await writeFile(io.cacheDir, "not a folder");
  } else if (row.folder === "a symlink") {
    const target = join(io.homedir, "elsewhere");
    await mkdir(target, { recursive: true, mode: 0o700 });
    await mkdir(join(io.cacheDir, ".."), { recursive: true });
    await symlink(target, io.cacheDir);
  }
  if (row.cached !== undefined) writeEntry(t, CACHED, row.cached);
  if (row.noteAgoMs !== undefined) {
    store.writeFailure(key, { at: io.now() - row.noteAgoMs, code: "unauthorized", what: "the broker rejected VERS_API_KEY (HTTP 401)", hint: "check the key", status: 401 });
  }
  if (row.lock) {
    store.ensureDir();
    await mkdir(`${t.entryPath}.lock`);
    const at = row.lock === "stale" ? io.now() - 8000 : row.lock === "future" ? io.now() + 3600_000 : io.now();
    await utimes(`${t.entryPath}.lock`, at / 1000, at / 1000);
  }
  return t;
}

function leadOf(machine: string): number {
  return refreshLeadMs({ marginMs: 300_000, machine: () => machine });
}

function identityOf(t: Pick<Harness, "io">): string {
  return (chooseSource(resolveSettings({}, t.io.env), t.io) as NetworkSource).identity;
}

function fakeNetwork(t: Harness, behaviour: SourceBehaviour): Network {
  return {
    async mintFrom() {
      t.mints++;
      if (behaviour === "unavailable") throw new HelperError("unavailable", "the fake source is unavailable (HTTP 503 after 1 try)", "try again later", 503);
      if (behaviour === "unauthorized") throw new HelperError("unauthorized", "the broker rejected VERS_API_KEY (HTTP 401)", "check the key", 401);
      const token = `ghs_minted${t.mints}Minted${t.mints}MintedMintedMinted`;
      t.minted.push(token);
      return { token, expiresAt: t.io.now() + 3600_000, permissions: { contents: "write" } };
    },
  };
}

function writeEntry(t: Harness, token: string, secondsLeft: number): void {
  const entry: CacheEntry = { version: 2, key: t.key, host: "github.com", repositories: [], token, expiresAt: t.io.now() + secondsLeft * 1000, mintedAt: t.io.now(), source: "broker" };
  t.store.write(entry);
}

async function releaseLock(t: Harness): Promise<void> {
  const { rmdir } = await import("node:fs/promises");
  await rmdir(`${t.entryPath}.lock`);
}

function tokenNamed(t: Harness, name: "cached" | "minted" | "other" | "static"): string {
  return { cached: CACHED, other: OTHER, static: STATIC, minted: t.minted.at(-1) ?? "(nothing minted)" }[name];
}

/** The token in the entry file, read raw (not through the store's freshness rules). */
async function entryToken(t: Harness): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(t.entryPath, "utf8")) as { token?: string }).token;
  } catch {
    return undefined;
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
