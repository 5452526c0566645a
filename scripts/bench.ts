/**
 * `npm run bench`: a benchmark, not a test. Everything on loopback, against the fake broker, a real
 * redis-server and real git. Figures are paired medians over interleaved runs (each subject run beside
 * its base run, the order alternating). The hot path is measured in BENCH_ROUNDS rounds (default 3) of
 * BENCH_RUNS pairs (default 30): the row shows the median of the rounds' medians and their spread.
 * Prints the SPEC's targets beside each figure.
 */
import { existsSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HELPER_BIN, makeTestEnv, run, type TestEnv } from "../test/e2e/harness";
import { startFakeBroker, type FakeBroker } from "../test/servers/fake-broker";
import { startRedis, type RedisServer } from "../test/servers/redis";
import { TokenRegistry } from "../test/servers/token-registry";
import { interleaved, median, medianInterval, ms, paired, rounds, row, signed, timed, type Paired } from "./bench-tools";

const BINARY = join(HELPER_BIN, "..", "..", "dist", "git-credential-vers");
const PACKAGE_JSON = join(HELPER_BIN, "..", "..", "package.json");
/** `npm run release`'s x64 single executable: Node 24 LTS, beside bin/ on this Node (20). */
const RELEASE_X64 = join(HELPER_BIN, "..", "..", "release", `git-credential-vers-${(JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as { version: string }).version}-linux-x64`);
/** The Node 24 that npm run release embeds (packaging/node24.json); its unpacked `node` is kept in build/node/. */
const PINS = JSON.parse(readFileSync(join(HELPER_BIN, "..", "..", "packaging", "node24.json"), "utf8")) as { version: string };
const HOST = "github.com";
const REQUEST = `protocol=https\nhost=${HOST}\n\n`;
const APPROVE = (token: string) => `protocol=https\nhost=${HOST}\nusername=x-access-token\npassword=${token}\n\n`;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);

async function main(): Promise<void> {
  const apiKey = "vers_bench_key_0123456789";
  const broker = await startFakeBroker({ apiKey, registry: new TokenRegistry() });
  const redis = await startRedis();
  const t = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [HOST], wireGit: false });
  const env = t.env;
  const node0 = () => timed(process.execPath, ["-e", "0"], env);
  const get = (bin = HELPER_BIN, e = env) => () => timed(bin, ["get"], e, REQUEST);
  console.log(`node ${process.version}; loopback fake broker, redis-server, git ${(await run("git", ["version"], { env })).stdout.trim().split(" ").pop()}\n`);
  try {
    await get()(); // warm the cache
    console.log("The hot path, against node -e 0:");
    await hotRow("cache-hit get", node0, get(), "≤ +10 ms", 10);
    await hotRow("store", node0, () => timed(HELPER_BIN, ["store"], env, REQUEST), "≤ +5 ms", 5);
    await hotRow("erase", node0, () => timed(HELPER_BIN, ["erase"], env, `${REQUEST.trim()}\npassword=not-the-cached-token\n\n`), "≤ +5 ms", 5);
    await hotRow("get for a host that does not match", node0, () => timed(HELPER_BIN, ["get"], env, "protocol=https\nhost=gitlab.com\n\n"), "≤ +5 ms", 5);
    const fleetHit = await paired(get(), get(HELPER_BIN, { ...env, VERS_REDIS_URL: redis.url }));
    const [low, high] = medianInterval(fleetHit.deltas);
    row("hit, VERS_REDIS_URL set vs unset", `${ms(fleetHit.subject)} vs ${ms(fleetHit.base)}: ${signed(fleetHit.delta)} (95%: ${signed(low)}…${signed(high)})`, "equal: 0 within the 95% interval", low <= 0 && 0 <= high);
    if (existsSync(BINARY)) {
      const sea = await paired(get(), get(BINARY));
      row("single binary vs bin/ (cache hit)", `${ms(sea.subject)} vs ${ms(sea.base)}: ${signed(sea.delta)}`, "report", true);
    } else {
      console.log("- single binary: not built (npm run build:binary)");
    }
    if (existsSync(RELEASE_X64)) {
      await releaseRows(get, node0, env);
    } else {
      console.log("- Node 24 release binary: not built (npm run release)");
    }

    console.log("\nThrough git, with the config `install` writes, against git credential-store holding the same token:");
    await throughGit(broker, apiKey);

    console.log("\nMisses:");
    const cold = await paired(
      () => brokerLatency(broker, apiKey),
      async () => {
        await rm(t.cacheDir, { recursive: true, force: true });
        return get()();
      },
    );
    row("cold get vs the broker's own latency", `${ms(cold.subject)} vs ${ms(cold.base)}`, "report", true);
    const fleetCold = await coldFromRedis(redis, t.cacheDir, { ...env, VERS_REDIS_URL: redis.url });
    row("cold get: from Redis vs minting through it", `${ms(fleetCold.subject)} vs ${ms(fleetCold.base)}: ${signed(fleetCold.delta)}`, "report", true);
    await concurrentCold(t, broker, node0);
  } finally {
    await t.cleanup();
    await broker.close();
    await redis.close();
  }
}

/**
 * The Node 24 release binary beside bin/ on this Node (20), with both runtimes' own start (`node -e 0`
 * of npm run release's pinned Node 24, build/node/…): each round runs all four, the order rotating.
 * The first row is the whole difference; the second, the runtimes' alone; the third, what the
 * binary adds to its runtime's start against what bin/ adds to its own (paired per round).
 */
async function releaseRows(get: (bin?: string) => () => Promise<number>, node0: () => Promise<number>, env: Record<string, string>): Promise<void> {
  const node24Bin = join(HELPER_BIN, "..", "..", "build", "node", `x64-${PINS.version}`, "package", "bin", "node");
  if (!existsSync(node24Bin)) {
    const rel = await paired(get(), get(RELEASE_X64));
    const [lo, hi] = medianInterval(rel.deltas);
    row(`Node 24 release binary vs bin/ on node ${process.version} (cache hit)`, `${ms(rel.subject)} vs ${ms(rel.base)}: ${signed(rel.delta)} (95%: ${signed(lo)}…${signed(hi)})`, "no slower beyond the noise: 0 ≥ the 95% interval's low end", lo <= 0);
    return;
  }
  const node24 = () => timed(node24Bin, ["-e", "0"], env);
  const [bin, binary, n20, n24] = await interleaved([get(), get(RELEASE_X64), node0, node24]);
  const diff = (a: number[], b: number[]) => a.map((v, i) => v - b[i]!);
  const show = (a: number[], b: number[]) => {
    const d = diff(a, b);
    const [lo, hi] = medianInterval(d);
    return { figure: `${ms(median(a))} vs ${ms(median(b))}: ${signed(median(d))} (95%: ${signed(lo)}…${signed(hi)})`, lo };
  };
  const whole = show(binary!, bin!);
  row(`Node 24 release binary vs bin/ on node ${process.version} (cache hit)`, whole.figure, "no slower beyond the noise: 0 ≥ the 95% interval's low end", whole.lo <= 0);
  row(`node ${PINS.version} -e 0 vs node ${process.version} -e 0`, show(n24!, n20!).figure, "report: the runtimes alone", true);
  const ours24 = diff(binary!, n24!);
  const ours20 = diff(bin!, n20!);
  const added = diff(ours24, ours20);
  const [lo, hi] = medianInterval(added);
  row("what each adds to its runtime's start", `binary ${signed(median(ours24))} on Node 24, bin/ ${signed(median(ours20))} on Node 20: ${signed(median(added))} (95%: ${signed(lo)}…${signed(hi)})`, "level: 0 ≥ the 95% interval's low end", lo <= 0);
}

/** A hot-path row: BENCH_ROUNDS rounds of paired runs; the median of their medians and the spread. */
async function hotRow(what: string, base: () => Promise<number>, subject: () => Promise<number>, target: string, limit: number): Promise<void> {
  const each = await rounds(() => paired(base, subject));
  const deltas = each.map((p) => p.delta);
  const mid = median(deltas);
  const figure = `${ms(median(each.map((p) => p.subject)))} vs ${ms(median(each.map((p) => p.base)))}: ${signed(mid)} (rounds ${deltas.map(signed).join(", ")})`;
  row(`${what} vs node -e 0`, figure, target, mid <= limit);
}

/**
 * `git credential fill` and `git credential approve` with the config `install` writes (the fast path:
 * git credential-cache, then this helper) and a warm daemon, paired with the same through
 * `git credential-store` holding the same token.
 */
async function throughGit(broker: FakeBroker, apiKey: string): Promise<void> {
  const ours = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [HOST], wireGit: false });
  const store = await makeTestEnv({ hosts: [HOST], wireGit: false });
  try {
    const install = await run(HELPER_BIN, ["install", "--global"], { env: ours.env, cwd: ours.home });
    if (install.code !== 0) throw new Error(`install failed: ${install.stderr}`);
    const filled = await run("git", ["credential", "fill"], { env: ours.env, cwd: ours.home, input: REQUEST });
    const token = /^password=(.+)$/m.exec(filled.stdout)?.[1];
    if (!token) throw new Error(`fill failed: ${filled.stderr}`);
    await writeFile(join(store.home, ".git-credentials"), `https://x-access-token:${token}@${HOST}\n`, { mode: 0o600 });
    for (const [key, value] of [[`credential.https://${HOST}.helper`, ""], [`credential.https://${HOST}.helper`, "store"]] as const) {
      await run("git", ["config", "--global", "--add", key, value], { env: store.env });
    }
    const git = (e: TestEnv, args: string[], input: string) => () => timed("git", args, e.env, input);
    for (const [what, args, input] of [
      ["git credential fill", ["credential", "fill"], REQUEST],
      ["git credential approve", ["credential", "approve"], APPROVE(token)],
    ] as const) {
      const each = await rounds(() => paired(git(store, [...args], input), git(ours, [...args], input)));
      const ratio = median(each.map((p) => p.subject / p.base));
      const figure = `${ms(median(each.map((p) => p.subject)))} vs ${ms(median(each.map((p) => p.base)))}: ${ratio.toFixed(2)}× (rounds ${each.map((p) => `${(p.subject / p.base).toFixed(2)}×`).join(", ")})`;
      row(what, figure, "≤ 1.3×", ratio <= 1.3);
    }
  } finally {
    await run(HELPER_BIN, ["uninstall", "--global"], { env: ours.env, cwd: ours.home });
    await ours.cleanup();
    await store.cleanup();
  }
}

/**
 * 64 concurrent cold gets with a 500 ms broker (SPEC): one mint, all served, and the wall time beside
 * 64 concurrent `node -e 0` + the broker's latency + 250 ms. BENCH_COLD_RUNS runs (default 5): the
 * median and the spread of the excess over that budget.
 */
async function concurrentCold(t: TestEnv, broker: FakeBroker, node0: () => Promise<number>): Promise<void> {
  const LATENCY = 500;
  broker.setMode("slow", { delayMs: LATENCY });
  const excess: number[] = [];
  const walls: number[] = [];
  let mintsOk = true;
  try {
    for (let i = 0; i < COLD_RUNS; i++) {
      await rm(t.cacheDir, { recursive: true, force: true });
      const before = broker.mints;
      const started = performance.now();
      await Promise.all(Array.from({ length: 64 }, () => timed(HELPER_BIN, ["get"], t.env, REQUEST)));
      const wall = performance.now() - started;
      mintsOk &&= broker.mints - before === 1;
      const nodeStarted = performance.now();
      await Promise.all(Array.from({ length: 64 }, node0));
      const nodeWall = performance.now() - nodeStarted;
      walls.push(wall);
      excess.push(wall - (nodeWall + LATENCY + 250));
    }
  } finally {
    broker.setMode("ok");
  }
  const mid = median(excess);
  const figure = `${mintsOk ? "1 mint each" : "MORE THAN 1 MINT"}, ${ms(median(walls))}; over budget ${signed(mid)} (runs ${excess.map(signed).join(", ")})`;
  row(`64 concurrent cold gets (${LATENCY} ms broker)`, figure, "1 mint, ≤ 64× node -e 0 + 500 + 250 ms (over budget ≤ 0)", mintsOk && mid <= 0);
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
