/**
 * `npm run demo:fleet`: the fleet tier, end to end, on loopback only. One redis-server, a fake Vers
 * broker and a TLS git host start on 127.0.0.1; four simulated machines (each its own HOME and cache
 * folder: they share no disk, only Redis) are wired with the helper's own `install`; all four clone at
 * once, then each commits its own file, pulls and pushes. The demo shows the mints (1 in all) and each
 * machine's `status`. With `--cluster` (`npm run demo:fleet -- --cluster`) the same four machines share a
 * three-primary Redis Cluster instead, named by one node's redis:// URL (cluster mode is detected).
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HELPER_BIN, makeTestEnv, run, type RunResult, type TestEnv } from "../test/e2e/harness";
import { startFakeBroker, type FakeBroker } from "../test/servers/fake-broker";
import { startGitHost } from "../test/servers/git-host";
import { startRedis } from "../test/servers/redis";
import { startRedisCluster } from "../test/servers/redis-topologies";
import { TokenRegistry } from "../test/servers/token-registry";

const MACHINES = 4;
const CLUSTER = process.argv.includes("--cluster");
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

interface Machine {
  name: string;
  env: TestEnv;
  work: string;
}

async function main(): Promise<void> {
  const registry = new TokenRegistry();
  const apiKey = `vers_demo_${randomBytes(12).toString("hex")}`;
  const [broker, host, redis] = await Promise.all([startFakeBroker({ apiKey, registry }), startGitHost({ registry }), startShared()]);
  const machines: Machine[] = [];
  try {
    const remote = await host.createRepo("acme", "widgets");
    console.log(`redis-server       ${redis.url.replace(`:${redis.password}@`, ":***@")}   (loopback only, with a password${CLUSTER ? "; one node of a three-primary Redis Cluster" : ""})`);
    console.log(`fake Vers broker   ${broker.url}`);
    console.log(`TLS git host       ${host.url}   (git http-backend behind Basic auth)\n`);
    for (let i = 1; i <= MACHINES; i++) {
      const env = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [host.host], caFile: host.caFile, wireGit: false, extraEnv: { VERS_REDIS_URL: redis.url } });
      machines.push({ name: `machine-${i}`, env, work: join(env.home, "widgets") });
    }
    for (const m of machines) {
      await step(m, broker, "install", HELPER_BIN, ["install", "--global"]);
      await step(m, broker, "configure", "git", ["config", "--global", "user.name", m.name]);
      await step(m, broker, "configure", "git", ["config", "--global", "user.email", `${m.name}@example.invalid`]);
    }
    console.log(`\nAll ${MACHINES} machines clone at once (cold caches everywhere):`);
    await Promise.all(machines.map((m) => step(m, broker, "clone", "git", ["clone", "-q", remote, m.work])));
    console.log(`\nEach machine commits its own file, pulls and pushes:`);
    for (const m of machines) {
      await writeFile(join(m.work, `${m.name}.md`), `Pushed from ${m.name} with a token from git-credential-vers\n`);
      await step(m, broker, "commit", "git", ["-C", m.work, "add", `${m.name}.md`]);
      await step(m, broker, "commit", "git", ["-C", m.work, "commit", "-q", "-m", `Hello from ${m.name}`]);
      await step(m, broker, "pull", "git", ["-C", m.work, "pull", "-q", "--rebase", "origin", "main"]);
      await step(m, broker, "push", "git", ["-C", m.work, "push", "-q", "origin", "HEAD:main"]);
    }

    console.log(`\n${bold(`Tokens minted: ${broker.mints}`)} for ${MACHINES} machines that share no disk: one machine minted for the fleet,`);
    console.log(`the others found the token in Redis (encrypted, under HMAC names). The git host served ${host.served} authenticated requests.\n`);
    for (const m of machines) {
      const status = await run(HELPER_BIN, ["status"], { env: m.env.env, cwd: m.env.home });
      console.log(bold(`── ${m.name} ──`));
      process.stdout.write(status.stdout.replaceAll(m.env.home, "~"));
    }
  } finally {
    // Stop the fast-path daemons install started, then remove everything.
    for (const m of machines) await run(HELPER_BIN, ["uninstall", "--global"], { env: m.env.env, cwd: m.env.home });
    await Promise.all(machines.map((m) => m.env.cleanup()));
    await Promise.all([host.close(), broker.close(), redis.close()]);
  }
}

/** One redis-server, or with --cluster a three-primary cluster (the URL names its first node). */
async function startShared(): Promise<{ url: string; password?: string; close(): Promise<void> }> {
  if (!CLUSTER) return startRedis();
  const cluster = await startRedisCluster();
  return { url: cluster.url, password: cluster.password, close: () => cluster.close() };
}

async function step(m: Machine, broker: FakeBroker, label: string, cmd: string, args: string[]): Promise<RunResult> {
  const result = await run(cmd, args, { env: m.env.env, cwd: m.env.home });
  const shown = `${cmd === HELPER_BIN ? "git-credential-vers" : cmd} ${args.join(" ")}`.replaceAll(m.env.home, "~");
  if (result.code !== 0) {
    console.log(`✗ ${m.name}  ${label.padEnd(9)} ${shown}\n${result.stderr}`);
    throw new Error(`${m.name}: ${label} failed`);
  }
  console.log(`✓ ${m.name}  ${label.padEnd(9)} ${shown.padEnd(58)} tokens minted: ${broker.mints}`);
  return result;
}

main().catch((err: unknown) => {
  console.error(`demo:fleet failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
