/**
 * The fleet tier seen from the commands: `status` shows the URL (password hidden), whether Redis
 * answers and which entries it holds, and exits 1 naming the problem when it cannot be used; `cache
 * clear --fleet` removes this secret's entries only; a local hit never loads the fleet chunk.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { helper, type RunResult, type TestEnv } from "./harness";
import { CHUNKS_OBSERVABLE, expectFailure, moduleProbe, networkOrCliModules, newApiKey, resetBroker, tempEnvs, type ModuleProbe } from "./fixtures";
import { fleetNames, get, HOST, machines, ours, requestsWith, served, traced, type Machine } from "./fleet-fixtures";
import { startFakeBroker, type FakeBroker } from "../servers/fake-broker";
import { startHungServer, startRedis, type RedisServer } from "../servers/redis";
import { startFakeRedis } from "../servers/redis-topologies";

interface FleetStatus {
  ok: boolean;
  problems: Array<{ what: string; fix: string }>;
  cache: { entries: Array<{ repositories: string[]; inFleet: boolean | null }> };
  fleet: { url: string; reachable: boolean; problem: string | null; topology?: string | null } | null;
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
    expect(s.fleet).toEqual({ url: shownUrl(), reachable: true, problem: null, topology: "single node" });
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

describe("a Redis whose SCAN never ends (issue 15, item 11)", () => {
  it("cache clear --fleet stops within its bounds (rounds, seconds) and says so in one line, exit 1", async () => {
    // Every SCAN answers "more to come" (cursor 1) and no keys.
    const endless = await startFakeRedis({ cluster: false, reply: (args) => (args[0]?.toUpperCase() === "SCAN" ? "*2\r\n$1\r\n1\r\n*0\r\n" : "-ERR unexpected\r\n") });
    try {
      const m = await installed({ extraEnv: { VERS_REDIS_URL: endless.url } });
      const r = await helper(m, ["cache", "clear", "--fleet"]);
      expectFailure({ ...r, stdout: "" }, /stopped clearing the fleet's entries at .* early: SCAN did not end (after 2000 rounds|within 5 s); some may remain/);
      expect(r.stdout).toMatch(/removed 0 fleet entries/);
      expect(endless.answered).toBeLessThanOrEqual(2000);
    } finally {
      await endless.close();
    }
  });
});

describe("a password that holds / # or @ (issue 15, item 8): used, and never printed", () => {
  it.each([
    ["VERS_REDIS_URL", "/Zk9p-s3cret-slash", (port: number) => `redis://default:/Zk9p-s3cret-slash@127.0.0.1:${port}/0`],
    ["--redis-url", "12#s3cret-hash", (port: number) => `redis://default:12#s3cret-hash@127.0.0.1:${port}`],
  ])("%s with %s: status, cache clear --fleet and the trace work and never show it", async (how, password, url) => {
    const odd = await startRedis({ password });
    try {
      const given = url(odd.port);
      const m = await installed(how === "VERS_REDIS_URL" ? { extraEnv: { VERS_REDIS_URL: given } } : {});
      const flags = how === "VERS_REDIS_URL" ? [] : ["--redis-url", given];
      const got = await helper(m, [...flags, "get"], `protocol=https\nhost=${HOST}\n\n`);
      served(got);
      expect(await odd.command("DBSIZE")).toBe(1); // the password worked: the entry is in Redis
      const cleared = await helper(m, ["cache", "clear", "--fleet", ...flags]);
      expect(cleared.stderr).toBe("");
      expect(cleared.stdout).toContain("removed 1 fleet entry");
      const outputs = [got.stdout, got.stderr, cleared.stdout, cleared.stderr, (await traced([m], "")).join("\n")];
      if (how === "VERS_REDIS_URL") {
        const r = await helper(m, ["status", "--json"]);
        expect((JSON.parse(r.stdout) as FleetStatus).fleet).toMatchObject({ reachable: true, url: `redis://default:***@127.0.0.1:${odd.port}/0` });
        outputs.push(r.stdout, r.stderr, (await helper(m, ["status"])).stdout);
      }
      for (const text of outputs) expect(text).not.toContain(password.slice(3));
    } finally {
      await odd.close();
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
