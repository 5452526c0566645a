/**
 * `npm run bench`: a benchmark, not a test. Against the fake broker on loopback it reports paired
 * medians over interleaved runs (each helper run is paired with a `node -e 0` run next to it):
 * cache-hit get, store, erase and a non-matching get against `node -e 0`; a cache hit with VERS_REDIS_URL
 * set against one without; the single binary against bin/; cold get against the broker's own latency; a
 * cold get served from a loopback redis-server against a cold get that mints through it; and mints + wall
 * time for 64 concurrent cold gets. Prints the SPEC's targets beside each figure. BENCH_RUNS sets the
 * number of pairs (default 30).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { HELPER_BIN, makeTestEnv, type TestEnv } from "../test/e2e/harness";
import { startFakeBroker, type FakeBroker } from "../test/servers/fake-broker";
import { startRedis, type RedisServer } from "../test/servers/redis";
import { TokenRegistry } from "../test/servers/token-registry";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const BINARY = join(HELPER_BIN, "..", "..", "dist", "git-credential-vers");
const HOST = "github.com";
const REQUEST = `protocol=https\nhost=${HOST}\n\n`;

/** Runs a command to completion; returns wall milliseconds. */
function timed(cmd: string, args: string[], env: Record<string, string>, input = ""): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "ignore", "ignore"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`))));
    child.stdin.end(input);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Paired {
  base: number;
  subject: number;
  delta: number;
  /** subject − base, pair by pair. */
  deltas: number[];
}

/** Interleaves `RUNS` pairs (order alternating) and returns the medians and the paired median delta. */
async function paired(base: () => Promise<number>, subject: () => Promise<number>): Promise<Paired> {
  const b: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2) {
      s.push(await subject());
      b.push(await base());
    } else {
      b.push(await base());
      s.push(await subject());
    }
  }
  const deltas = s.map((v, i) => v - b[i]!);
  return { base: median(b), subject: median(s), delta: median(deltas), deltas };
}

/** A 95% interval for the median of paired deltas: percentile bootstrap, 2000 resamples, a fixed seed. */
function medianInterval(deltas: number[]): [number, number] {
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const medians = Array.from({ length: 2000 }, () => median(deltas.map(() => deltas[Math.floor(random() * deltas.length)]!))).sort((a, b) => a - b);
  return [medians[50]!, medians[1949]!];
}

async function brokerLatency(broker: FakeBroker, apiKey: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    const res = await fetch(`${broker.url}/api/github/installation-token`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` } });
    await res.text();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

const ms = (n: number) => `${n.toFixed(1)} ms`;
const signed = (n: number) => `${n >= 0 ? "+" : ""}${ms(n)}`;
const row = (what: string, figure: string, target: string, ok: boolean) => console.log(`${ok ? "✓" : "✗"} ${what.padEnd(38)} ${figure.padEnd(42)} target: ${target}`);

async function main(): Promise<void> {
  const apiKey = "vers_bench_key_0123456789";
  const broker = await startFakeBroker({ apiKey, registry: new TokenRegistry() });
  const redis = await startRedis();
  const t: TestEnv = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [HOST], wireGit: false });
  const env = t.env;
  const fleetEnv = { ...env, VERS_REDIS_URL: redis.url };
  const node0 = () => timed(process.execPath, ["-e", "0"], env);
  const get = (bin = HELPER_BIN) => () => timed(bin, ["get"], env, REQUEST);
  console.log(`node ${process.version}, ${RUNS} interleaved pairs each; broker ${broker.url}; redis-server on loopback\n`);
  try {
    await get()(); // warm the cache
    const hit = await paired(node0, get());
    row("cache-hit get vs node -e 0", `${ms(hit.subject)} vs ${ms(hit.base)}: +${ms(hit.delta)}`, "≤ +10 ms", hit.delta <= 10);
    const fleetHit = await paired(get(), () => timed(HELPER_BIN, ["get"], fleetEnv, REQUEST));
    const [low, high] = medianInterval(fleetHit.deltas);
    row("hit, VERS_REDIS_URL set vs unset", `${ms(fleetHit.subject)} vs ${ms(fleetHit.base)}: ${signed(fleetHit.delta)} (95%: ${signed(low)}…${signed(high)})`, "equal: 0 within the 95% interval", low <= 0 && 0 <= high);
    const store = await paired(node0, () => timed(HELPER_BIN, ["store"], env, REQUEST));
    row("store vs node -e 0", `${ms(store.subject)} vs ${ms(store.base)}: +${ms(store.delta)}`, "≤ +5 ms", store.delta <= 5);
    const erase = await paired(node0, () => timed(HELPER_BIN, ["erase"], env, `${REQUEST.trim()}\npassword=not-the-cached-token\n\n`));
    row("erase vs node -e 0", `${ms(erase.subject)} vs ${ms(erase.base)}: +${ms(erase.delta)}`, "≤ +5 ms", erase.delta <= 5);
    const other = await paired(node0, () => timed(HELPER_BIN, ["get"], env, "protocol=https\nhost=gitlab.com\n\n"));
    row("non-matching get vs node -e 0", `${ms(other.subject)} vs ${ms(other.base)}: +${ms(other.delta)}`, "≤ +5 ms", other.delta <= 5);
    if (existsSync(BINARY)) {
      const sea = await paired(get(), get(BINARY));
      row("single binary vs bin/ (cache hit)", `${ms(sea.subject)} vs ${ms(sea.base)}: ${sea.delta >= 0 ? "+" : ""}${ms(sea.delta)}`, "report", true);
    } else {
      console.log(`- single binary: not built (npm run build:binary)`);
    }
    const latency = await brokerLatency(broker, apiKey);
    const cold = await paired(
      () => brokerLatency(broker, apiKey),
      async () => {
        await rm(t.cacheDir, { recursive: true, force: true });
        return get()();
      },
    );
    row("cold get vs broker latency", `${ms(cold.subject)} vs ${ms(cold.base)}`, "report", true);
    const fleetCold = await coldFromRedis(redis, t.cacheDir, fleetEnv);
    row("cold get: from Redis vs minting", `${ms(fleetCold.subject)} vs ${ms(fleetCold.base)}: ${signed(fleetCold.delta)}`, "report", true);
    await rm(t.cacheDir, { recursive: true, force: true });
    const before = broker.mints;
    const started = performance.now();
    await Promise.all(Array.from({ length: 64 }, get()));
    const wall = performance.now() - started;
    const mints = broker.mints - before;
    const nodeStarted = performance.now();
    await Promise.all(Array.from({ length: 64 }, node0));
    const nodeWall = performance.now() - nodeStarted;
    const budget = nodeWall + latency + 250;
    row("64 concurrent cold gets", `${mints} mint, ${ms(wall)} (64× node -e 0: ${ms(nodeWall)})`, `1 mint, ≤ ${ms(budget)}`, mints === 1 && wall <= budget);
  } finally {
    await t.cleanup();
    await broker.close();
    await redis.close();
  }
}

/**
 * A cold get (no local cache) served from Redis, paired with a cold get that finds Redis empty and
 * mints through the fleet tier (lock, mint, write): each base run leaves the entry the next subject reads.
 */
function coldFromRedis(redis: RedisServer, cacheDir: string, env: Record<string, string>): Promise<Paired> {
  const cold = async (flush: boolean) => {
    await rm(cacheDir, { recursive: true, force: true });
    if (flush) await redis.command("FLUSHALL");
    return timed(HELPER_BIN, ["get"], env, REQUEST);
  };
  return cold(true).then(() => paired(() => cold(true), () => cold(false)));
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
