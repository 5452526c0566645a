/**
 * `npm run bench:fleet`: a benchmark, not a test. FLEET_MACHINES simulated machines (default 200), each
 * its own HOME and cache folder, wired to the helper; all start a cold `git credential fill` at once
 * against one loopback redis-server and a fake broker that answers after 500 ms. Prints the mints (goal:
 * 1 for the fleet), the time to served (p50/p95/p99/max) beside the same number of bare `node -e 0`
 * started at once, the Redis commands per machine (from MONITOR, per connection: each machine's helper
 * opens one) and in all (INFO commandstats), and the peak number of Redis connections (INFO clients,
 * sampled every 10 ms). FLEET_CONCURRENCY caps how many machines run at once (default: all of them);
 * with a cap, a machine starts as soon as another finishes, and the output says so.
 *
 * A second part computes the refresh points (src/cache/freshness.ts refreshLeadMs, margin 300 s) of 1,000
 * machine identities that differ only in their last characters (ci-runner-1 … ci-runner-1000) and prints
 * the busiest second against a uniform spread over the window the points cover.
 */
import { spawn } from "node:child_process";
import { copyFile, readFile } from "node:fs/promises";
import { setPriority } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { refreshLeadMs } from "../src/cache/freshness";
import { makeTestEnv, type TestEnv } from "../test/e2e/harness";
import { startFakeBroker } from "../test/servers/fake-broker";
import { startRedis } from "../test/servers/redis";
import { TokenRegistry } from "../test/servers/token-registry";

const MACHINES = Number(process.env.FLEET_MACHINES ?? 200);
const CONCURRENCY = Math.min(MACHINES, Number(process.env.FLEET_CONCURRENCY ?? MACHINES));
const BROKER_MS = 500;
const HOST = "github.com";
const IDENTITIES = 1000;
const MARGIN_MS = 300_000;

interface Run {
  ms: number;
  ok: boolean;
  /** The helper's error line, when it printed one. */
  error?: string;
}

async function main(): Promise<void> {
  console.log(`bench:fleet — ${MACHINES} machines, ${CONCURRENCY === MACHINES ? "all at once" : `at most ${CONCURRENCY} at once (FLEET_CONCURRENCY): each next machine starts when one finishes`}; node ${process.version}; broker answers after ${BROKER_MS} ms\n`);
  await burst();
  console.log("");
  refreshSpread();
}

async function burst(): Promise<void> {
  const apiKey = "vers_bench_fleet_key_0123456789";
  const broker = await startFakeBroker({ apiKey, registry: new TokenRegistry() });
  broker.setMode("slow", { delayMs: BROKER_MS });
  const redis = await startRedis();
  console.log(favour([process.pid, redis.pid!]));
  const machines: TestEnv[] = [];
  const watch = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, disableClientInfo: true });
  let monitor: Awaited<ReturnType<Redis["monitor"]>> | undefined;
  try {
    // A generous deadline: on two cores, a thousand processes take seconds just to start.
    const extraEnv = { VERS_REDIS_URL: redis.url, VERS_TIMEOUT: "120" };
    const first = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [HOST], extraEnv });
    machines.push(first);
    first.env.VERS_CREDENTIAL_TRACE = join(first.home, "trace.log");
    for (let i = 1; i < MACHINES; i++) {
      const t = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [HOST], extraEnv, wireGit: false });
      t.env.VERS_CREDENTIAL_TRACE = join(t.home, "trace.log");
      await copyFile(join(first.home, ".gitconfig"), join(t.home, ".gitconfig"));
      machines.push(t);
    }

    const bare = await pool(machines.map(() => () => spawnTimed(process.execPath, ["-e", "0"], first.env, "")));

    await watch.connect();
    const perClient = new Map<string, number>();
    const mixes = new Map<string, Map<string, number>>();
    monitor = await watch.monitor();
    // The bench's own sampler (INFO, CONFIG) is not a machine: helpers send neither.
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      // Nor is MONITOR's "lua" source: the commands scripts run inside an EVAL, which counts once for its machine.
      if (/^(info|config)$/i.test(args[0] ?? "") || /lua/.test(source)) return;
      perClient.set(source, (perClient.get(source) ?? 0) + 1);
      const mix = mixes.get(source) ?? new Map<string, number>();
      mix.set(String(args[0]).toLowerCase(), (mix.get(String(args[0]).toLowerCase()) ?? 0) + 1);
      mixes.set(source, mix);
    });
    await watch.call("CONFIG", "RESETSTAT");
    let peak = 0;
    const sampling = setInterval(() => {
      void watch.info("clients").then((info) => (peak = Math.max(peak, Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? 0))), () => undefined);
    }, 10);
    const fills = await pool(machines.map((t) => () => spawnTimed("git", ["credential", "fill"], t.env, `protocol=https\nhost=${HOST}\n\n`)));
    clearInterval(sampling);
    const stats = await watch.info("commandstats");
    // The watching connections are not machines: the monitor, and this one (INFO, CONFIG).
    const calls = [...stats.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)].filter(([, name]) => !/^(info|config|monitor)/.test(name!)).reduce((a, [, , n]) => a + Number(n), 0);
    const counts = [...perClient.values()].sort((a, b) => a - b);

    const failed = fills.filter((r) => !r.ok).length;
    console.log(`mints                                  ${broker.mints} for ${MACHINES} machines (target: 1 per scope)   ${broker.mints === 1 ? "✓" : "✗"}`);
    console.log(`served                                 ${MACHINES - failed} of ${MACHINES}${failed ? `   ✗ ${failed} failed` : "   ✓"}`);
    const errors = new Map<string, number>();
    for (const r of fills) if (!r.ok) errors.set((r.error ?? "(nothing on stderr)").replace(/\d+/g, "N"), (errors.get((r.error ?? "(nothing on stderr)").replace(/\d+/g, "N")) ?? 0) + 1);
    for (const [line, n] of errors) console.log(`  failed: ${String(n).padStart(4)} × ${line}`);
    console.log(`time to served   p50/p95/p99/max       ${percentiles(fills.map((r) => r.ms))}`);
    console.log(`bare node -e 0   p50/p95/p99/max       ${percentiles(bare.map((r) => r.ms))}   (the same ${MACHINES} started the same way)`);
    const med = pick(counts, 0.5);
    const p90 = pick(counts, 0.9);
    console.log(`Redis commands per machine             median ${med}, p90 ${p90}, max ${counts.at(-1) ?? 0} (MONITOR, per connection; AUTH not shown, an EVAL counted once)   target: median ≤ 10, p90 ≤ 20   ${med <= 10 && p90 <= 20 ? "✓" : "✗"}`);
    const busiest = [...perClient].sort((a, b) => b[1] - a[1])[0];
    if (busiest) console.log(`  the busiest connection: ${[...(mixes.get(busiest[0]) ?? [])].map(([c, n]) => `${c} ${n}`).join(", ")}`);
    console.log(`Redis commands in all                  ${calls} (INFO commandstats, AUTH included) over ${counts.length} connections`);
    console.log(`peak Redis connections                 ${Math.max(0, peak - 2)} (INFO clients every 10 ms, less the bench's own 2)`);
    await whyTheyMinted(machines);
  } finally {
    await monitor?.disconnect();
    watch.disconnect();
    await Promise.all(machines.map((t) => t.cleanup()));
    await broker.close();
    await redis.close();
  }
}

/**
 * In a fleet, Redis and the broker have machines of their own; here they share two cores with hundreds of
 * helpers, and the kernel's fair share would give redis-server (and this process, which is the broker) a
 * few percent of a core. They run at nice -10 instead, as close to "a machine of their own" as one box gets.
 */
function favour(pids: number[]): string {
  try {
    for (const pid of pids) setPriority(pid, -10);
    return "redis-server and the fake broker run at nice -10 (in a fleet they have machines of their own)\n";
  } catch (err) {
    return `redis-server and the fake broker share the CPU evenly with the helpers (nice -10 refused: ${(err as NodeJS.ErrnoException).code ?? String(err)})\n`;
  }
}

/** From the machines' traces: how many were served from Redis, and why the others went on without it. */
async function whyTheyMinted(machines: TestEnv[]): Promise<void> {
  const reasons = new Map<string, number>();
  let hits = 0;
  for (const t of machines) {
    const trace = await readFile(join(t.home, "trace.log"), "utf8").catch(() => "");
    if (/fleet hit/.test(trace)) hits++;
    const why = /fleet tier unavailable \((.*?)\); going on/.exec(trace)?.[1] ?? (/timed out waiting for another machine/.test(trace) ? "timed out waiting for the fleet" : undefined);
    if (why) reasons.set(why.replace(/\d+/g, "N"), (reasons.get(why.replace(/\d+/g, "N")) ?? 0) + 1);
  }
  console.log(`served from Redis                      ${hits} machines (trace: fleet hit)`);
  for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`  went on without Redis: ${String(n).padStart(4)} × ${why}`);
}

function refreshSpread(): void {
  const leads = Array.from({ length: IDENTITIES }, (_, i) => refreshLeadMs({ marginMs: MARGIN_MS, machine: () => `ci-runner-${i + 1}` }));
  const seconds = new Map<number, number>();
  for (const lead of leads) seconds.set(Math.floor(lead / 1000), (seconds.get(Math.floor(lead / 1000)) ?? 0) + 1);
  const low = Math.min(...leads) / 1000;
  const high = Math.max(...leads) / 1000;
  const window = Math.max(1, Math.ceil(high) - Math.floor(low));
  const busiest = Math.max(...seconds.values());
  const uniform = IDENTITIES / window;
  console.log(`refresh points of ci-runner-1 … ci-runner-${IDENTITIES} (margin ${MARGIN_MS / 1000} s): ${seconds.size} distinct seconds over ${low.toFixed(0)}…${high.toFixed(0)} s before expiry`);
  console.log(`busiest second                         ${busiest} machines vs ${uniform.toFixed(1)} for a uniform spread over ${window} s: ${(busiest / uniform).toFixed(2)}×   target: ≤ 2×   ${busiest <= 2 * uniform ? "✓" : "✗"}`);
}

/** Runs every task, at most CONCURRENCY at once (all at once without a cap), each started as soon as a slot frees. */
async function pool<T>(tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return out;
}

function spawnTimed(cmd: string, args: string[], env: Record<string, string>, input: string): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", () => resolve({ ms: performance.now() - started, ok: false }));
    child.on("close", (code) => {
      const error = /^git-credential-vers: .*$/m.exec(err)?.[0] ?? err.trim().split("\n")[0];
      resolve({ ms: performance.now() - started, ok: code === 0 && (cmd !== "git" || /^password=ghs_/m.test(out)), error: error || undefined });
    });
    child.stdin.end(input);
  });
}

function pick(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0;
}

function percentiles(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return [0.5, 0.95, 0.99, 1].map((q) => `${pick(s, q).toFixed(0)} ms`).join(" / ");
}

main().catch((err: unknown) => {
  console.error(`bench:fleet failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
