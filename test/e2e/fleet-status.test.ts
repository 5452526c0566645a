/**
 * The fleet tier seen from the commands: `status` shows the URL (password hidden), whether Redis
 * answers and which entries it holds, and exits 1 naming the problem when it cannot be used; `cache
 * clear --fleet` removes this secret's entries only; a local hit never loads the fleet chunk.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { helper, type RunResult, type TestEnv } from "./harness";
import { CHUNKS_OBSERVABLE, expectFailure, moduleProbe, networkOrCliModules, newApiKey, resetBroker, tempEnvs, type ModuleProbe } from "./fixtures";
import { fleetNames, get, HOST, machines, ours, requestsWith, served, type Machine } from "./fleet-fixtures";
import { startFakeBroker, type FakeBroker } from "../servers/fake-broker";
import { startHungServer, startRedis, type RedisServer } from "../servers/redis";

interface FleetStatus {
  ok: boolean;
  problems: Array<{ what: string; fix: string }>;
  cache: { entries: Array<{ repositories: string[]; inFleet: boolean | null }> };
  fleet: { url: string; reachable: boolean; problem: string | null } | null;
}

const apiKey = newApiKey();
const otherKey = newApiKey();
let broker: FakeBroker;
let redis: RedisServer;
let probe: ModuleProbe;

beforeAll(async () => {
  [broker, redis, probe] = await Promise.all([startFakeBroker({ apiKey, moreApiKeys: [otherKey] }), startRedis(), moduleProbe()]);
});

afterAll(async () => {
  await Promise.all([redis?.close(), broker?.close(), probe?.dispose()]);
});

beforeEach(async () => {
  resetBroker(broker);
  await redis.command("FLUSHALL");
});

const env = tempEnvs(() => ({ brokerUrl: broker.url, apiKey, hosts: [HOST], wireGit: false, extraEnv: { VERS_REDIS_URL: redis.url, VERS_TIMEOUT: "30" } }));
const shownUrl = () => redis.url.replace(`:${redis.password}@`, ":***@");

/** A machine wired by the helper's own `install` (so that `status` has nothing else to complain about). */
async function installed(o: Parameters<typeof env>[0] = {}): Promise<Machine> {
  const [m] = await machines(1, env, o);
  const r = await helper(m!, ["install", "--global"]);
  expect(r.code, r.stderr).toBe(0);
  return m!;
}

async function status(t: TestEnv): Promise<{ r: RunResult; s: FleetStatus }> {
  const r = await helper(t, ["status", "--json"]);
  expect(r.stderr).toBe("");
  expect(r.stdout).not.toContain(redis.password!);
  return { r, s: JSON.parse(r.stdout) as FleetStatus };
}

describe("status", () => {
  it("--json: the URL with its password hidden, reachable, and for each cached scope whether Redis holds it", async () => {
    const m = await installed();
    served(await get(m));
    served(await get(m, "acme/widgets.git"));
    const { r, s } = await status(m);
    expect(r.code, r.stdout).toBe(0);
    expect(s.fleet).toEqual({ url: shownUrl(), reachable: true, problem: null });
    expect(s.cache.entries.map((e) => e.inFleet)).toEqual([true, true]);

    await redis.command("DEL", fleetNames(m).entry); // the org-wide entry leaves Redis (evicted, expired, cleared)
    const after = (await status(m)).s;
    const inFleet = Object.fromEntries(after.cache.entries.map((e) => [e.repositories.join(",") || "org", e.inFleet]));
    expect(inFleet).toEqual({ org: false, widgets: true });

    const human = await helper(m, ["status"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("IN REDIS");
    expect(human.stdout).toContain(`${shownUrl()}  reachable`);
  });

  it("Redis down: exit 1, reachable false, a problem naming the refused connection", async () => {
    const m = await installed();
    await redis.stop();
    try {
      const { r, s } = await status(m);
      expect(r.code).toBe(1);
      expect(s.fleet).toMatchObject({ url: shownUrl(), reachable: false, problem: expect.stringMatching(/ECONNREFUSED/) });
      expect(s.problems.map((p) => p.what)).toEqual([expect.stringMatching(new RegExp(`^the fleet tier at ${escape(shownUrl())} is not usable: .*ECONNREFUSED`))]);
    } finally {
      await redis.start();
    }
  });

  it("a wrong password: exit 1, a problem naming it, and neither password shown", async () => {
    const m = await installed({ extraEnv: { VERS_REDIS_URL: redis.url.replace(/:[^:@/]+@/, ":not-the-password@") } });
    const { r, s } = await status(m);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("not-the-password");
    expect(s.fleet).toMatchObject({ url: shownUrl(), reachable: false, problem: expect.stringMatching(/WRONGPASS/) });
    expect(s.problems).toHaveLength(1);
  });
});

describe("cache clear --fleet", () => {
  it("removes this secret's entries from Redis (and the local cache), and not another secret's", async () => {
    const [mine, other] = [await installed(), await installed({ apiKey: otherKey })];
    served(await get(mine));
    served(await get(mine, "acme/widgets.git"));
    served(await get(other));
    expect(ours(await redis.dump())).toHaveLength(3);

    const r = await helper(mine, ["cache", "clear", "--fleet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed 2 fleet entries (tokens, locks, notes) from ${shownUrl()}`);
    expect(r.stdout).not.toContain(redis.password!);
    expect(ours(await redis.dump()).map((e) => e.key)).toEqual([fleetNames(other).entry]);

    const asked = requestsWith(broker, apiKey);
    served(await get(mine));
    expect(asked()).toBe(1);
  });

  it("with Redis down: exit 1 and one line saying the fleet's entries could not be cleared", async () => {
    const m = await installed();
    await redis.stop();
    try {
      const r = await helper(m, ["cache", "clear", "--fleet"]);
      expectFailure({ ...r, stdout: "" }, /could not clear the fleet's entries at .*ECONNREFUSED/);
      expect(r.stdout).toMatch(/^removed 0 cached tokens/);
    } finally {
      await redis.start();
    }
  });
});

describe.skipIf(!CHUNKS_OBSERVABLE)("lazy loading with a fleet tier (bin/ only)", () => {
  async function loaded(m: Machine): Promise<string[]> {
    await probe.reset();
    served(await helper({ ...m, env: { ...m.env, ...probe.env } }, ["get"], `protocol=https\nhost=${HOST}\n\n`));
    const runs = await probe.runs();
    expect(runs).toHaveLength(1);
    return runs[0]!;
  }
  const fleetChunk = (paths: string[]) => paths.filter((p) => p.endsWith("fleet.cjs") || p.includes("ioredis"));

  it("a local miss with VERS_REDIS_URL loads the fleet chunk (the probe sees it)", async () => {
    const [m] = await machines(1, env);
    expect(fleetChunk(await loaded(m!))).toHaveLength(1);
  });

  it("a local hit with VERS_REDIS_URL set loads no fleet or network chunk, and never connects", async () => {
    const [m] = await machines(1, env);
    served(await get(m!));
    const hung = await startHungServer();
    try {
      m!.env.VERS_REDIS_URL = hung.url;
      const paths = await loaded(m!);
      expect(fleetChunk(paths)).toEqual([]);
      expect(networkOrCliModules(paths)).toEqual([]);
      expect(hung.connections).toBe(0);
    } finally {
      await hung.close();
    }
  });

  it("a local miss without VERS_REDIS_URL loads no fleet chunk", async () => {
    const [m] = await machines(1, env, { extraEnv: { VERS_REDIS_URL: "" } });
    const paths = await loaded(m!);
    expect(paths.some((p) => p.endsWith("sources.cjs"))).toBe(true);
    expect(fleetChunk(paths)).toEqual([]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
