/**
 * The fleet tier on Redis as fleets run it (issue 17): a three-primary Redis Cluster named by any node's
 * redis:// URL, and a primary with a replica behind three sentinels (redis-sentinel://…#fleet), all real
 * redis-server processes on loopback. A lost primary or a failover costs speed, never a failure.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { chooseSource, type NetworkSource } from "../../src/choose-source";
import { scopeKey } from "../../src/cache/key";
import { deriveKeys, namesFor } from "../../src/fleet/keys";
import { sharedSecret } from "../../src/fleet/shared-secret";
import { resolveSettings } from "../../src/settings";
import { helper, type TestEnv } from "./harness";
import { newApiKey, resetBroker, tempEnvs } from "./fixtures";
import { get, getsEverywhere, HOST, machines, requestsWith, served, traced } from "./fleet-fixtures";
import { startFakeBroker, type FakeBroker } from "../servers/fake-broker";
import { startFakeClusterNode, startRedisCluster, startRedisSentinels, type RedisClusterSet, type RedisSentinelSet } from "../servers/redis-topologies";

const apiKey = newApiKey();
let broker: FakeBroker;

beforeAll(async () => {
  broker = await startFakeBroker({ apiKey });
});
afterAll(async () => {
  await broker?.close();
});
beforeEach(() => resetBroker(broker));

/**
 * The real cluster and sentinels take about half a minute in all: they run with `npm test`, and not again in
 * CI's second pass over test/e2e against the single binary (VERS_HELPER_BIN), whose ioredis is the same code
 * the single-node fleet tests already exercise there.
 */
const ONCE = process.env.VERS_HELPER_BIN !== undefined;

let redisUrl = "";
// A generous deadline: the machine is shared, and nothing here is timed.
const env = tempEnvs(() => ({ brokerUrl: broker.url, apiKey, hosts: [HOST], wireGit: false, extraEnv: { VERS_REDIS_URL: redisUrl, VERS_TIMEOUT: "30" } }));

/** The Redis entry name of a machine's scope for one repository of acme on HOST. */
function entryOf(m: TestEnv, repo: string): string {
  const settings = resolveSettings({}, m.env);
  const source = chooseSource(settings, { env: m.env, homedir: m.home, uid: process.getuid?.() }) as NetworkSource;
  return namesFor(deriveKeys(sharedSecret(source)), scopeKey(source.identity, { host: HOST, owner: "acme", repositories: [repo], permissions: settings.permissions })).entry;
}

/** For each primary, the first repository name whose entry lives on it. */
function oneRepoPerPrimary(cluster: RedisClusterSet, m: TestEnv): string[] {
  const repos: Array<string | undefined> = cluster.primaries.map(() => undefined);
  for (let i = 0; repos.includes(undefined) && i < 1000; i++) {
    const repo = `repo-${i}`;
    const owner = cluster.primaries.indexOf(cluster.ownerOf(entryOf(m, repo)));
    repos[owner] ??= repo;
  }
  expect(repos.filter(Boolean)).toHaveLength(cluster.primaries.length);
  return repos as string[];
}

describe.skipIf(ONCE)("a Redis Cluster of three primaries, named by one node's redis:// URL", () => {
  let cluster: RedisClusterSet;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    redisUrl = cluster.url;
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it("detected: 4 machines cold on a scope of each primary mint once per scope; status says cluster, 3 of 3; cache clear --fleet empties every primary", async () => {
    const fleet = await machines(4, env);
    const repos = oneRepoPerPrimary(cluster, fleet[0]!);
    const asked = requestsWith(broker, apiKey);
    for (const repo of repos) {
      const tokens = (await getsEverywhere(fleet, 1, `acme/${repo}.git`)).map(served);
      expect(new Set(tokens).size).toBe(1);
    }
    expect(asked()).toBe(3);
    expect(await traced(fleet, "fleet tier unavailable")).toEqual([]);
    expect(await cluster.keyCounts()).toEqual([1, 1, 1]);

    const status = await helper(fleet[0]!, ["status", "--json"]);
    const fleetStatus = (JSON.parse(status.stdout) as { fleet: { reachable: boolean; topology: string; url: string } }).fleet;
    expect(fleetStatus).toMatchObject({ reachable: true, topology: "cluster, 3 of 3 primaries reached" });
    expect(status.stdout).not.toContain(cluster.password);

    const cleared = await helper(fleet[0]!, ["cache", "clear", "--fleet"]);
    expect(cleared.stderr).toBe("");
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toContain("removed 3 fleet entries");
    expect(await cluster.keyCounts()).toEqual([0, 0, 0]);
  });

  // Last in this block: it kills a primary.
  it("a killed primary: gets for scopes on its slots are served from the source, no error line; the others' scopes still come from Redis", async () => {
    const [first, second] = await machines(2, env);
    const [onFirst, , onThird] = oneRepoPerPrimary(cluster, first!);
    served(await get(first!, `acme/${onFirst}.git`));
    served(await get(first!, `acme/${onThird}.git`));
    await cluster.primaries[2]!.stop();

    const asked = requestsWith(broker, apiKey);
    const lost = await get(second!, `acme/${onThird}.git`);
    served(lost);
    expect(asked()).toBe(1);
    expect(await traced([second!], "fleet tier unavailable")).toHaveLength(1);
    served(await get(second!, `acme/${onFirst}.git`));
    expect(asked()).toBe(1);
    expect(await traced([second!], "fleet hit")).toHaveLength(1);
  });
});

describe("a cluster answering CLUSTERDOWN or TRYAGAIN", () => {
  it.each(["CLUSTERDOWN The cluster is down", "TRYAGAIN Multiple keys request during rehashing of slot"])("%s: a miss (minted, served, exit 0, no error line)", async (error) => {
    const node = await startFakeClusterNode(error);
    try {
      const [m] = await machines(1, env, { extraEnv: { VERS_REDIS_URL: node.url } });
      const asked = requestsWith(broker, apiKey);
      served(await get(m!));
      expect(asked()).toBe(1);
      expect(node.answered).toBeGreaterThan(0);
      expect(await traced([m!], error.split(" ")[0]!)).toHaveLength(1);
    } finally {
      await node.close();
    }
  });
});

describe.skipIf(ONCE)("Sentinel: one primary, one replica, three sentinels", () => {
  let set: RedisSentinelSet;
  beforeAll(async () => {
    set = await startRedisSentinels();
    redisUrl = set.url;
  }, 60_000);
  afterAll(async () => {
    await set?.close();
  });

  it("the primary killed mid-burst: every get served, exit 0, no error line, ≤ 2 mints; after the promotion a scope minted on one machine is served from Redis to a cold one", async () => {
    const fleet = await machines(6, env);
    broker.setMode("slow", { delayMs: 1500 });
    const asked = requestsWith(broker, apiKey);
    const minting = broker.onRequest();
    const switched = set.nextSwitch();
    const burst = getsEverywhere(fleet, 1);
    await minting;
    await set.primary.stop();
    const tokens = (await burst).map(served);
    expect(tokens).toHaveLength(6);
    // Should this ever fail (once, under a loaded full run), the message says which way each machine went.
    expect(asked(), (await traced(fleet, "fleet")).join("\n")).toBeLessThanOrEqual(2);
    expect(await switched).toBe(set.replica.port);

    broker.setMode("ok");
    const [minter, cold] = await machines(2, env);
    const after = requestsWith(broker, apiKey);
    const token = served(await get(minter!, "acme/after-failover.git"));
    expect(served(await get(cold!, "acme/after-failover.git"))).toBe(token);
    expect(after()).toBe(1);
    expect(await traced([cold!], "fleet hit")).toHaveLength(1);

    const status = await helper(cold!, ["status", "--json"]);
    expect((JSON.parse(status.stdout) as { fleet: { topology: string } }).fleet.topology).toBe("sentinel, master fleet");
    expect(status.stdout).not.toContain(set.password);
  });
});
