/**
 * The fleet tier end to end: machines (separate HOME and cache folders) share one real redis-server on
 * loopback. Many cold gets over many machines mint once; the first machine past its refresh point
 * refreshes for all; Redis holds nothing readable; TLS works. (Machines with other secrets: fleet-secrets.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { newApiKey, resetBroker, tempEnvs } from "./fixtures";
import { get, getsEverywhere, HOST, machines, ours, requestsWith, served, traced } from "./fleet-fixtures";
import { startFakeBroker, type FakeBroker } from "../servers/fake-broker";
import { startRedis, type RedisServer } from "../servers/redis";

const apiKey = newApiKey();
let broker: FakeBroker;
let redis: RedisServer;

beforeAll(async () => {
  broker = await startFakeBroker({ apiKey });
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.close();
  await broker?.close();
});

beforeEach(async () => {
  resetBroker(broker);
  await redis.command("FLUSHALL");
});

// A generous deadline: the machine is shared, and nothing here is timed.
const env = tempEnvs(() => ({ brokerUrl: broker.url, apiKey, hosts: [HOST], wireGit: false, extraEnv: { VERS_REDIS_URL: redis.url, VERS_TIMEOUT: "30" } }));

describe("sharing one Redis", () => {
  it("24 concurrent cold gets over 4 machines: 1 mint, every get served the same token", async () => {
    const fleet = await machines(4, env);
    const asked = requestsWith(broker, apiKey);
    const tokens = (await getsEverywhere(fleet, 6)).map(served);
    expect(tokens).toHaveLength(24);
    expect(new Set(tokens).size).toBe(1);
    expect(asked()).toBe(1);
    expect(broker.registry.lookup(tokens[0]!)).toBeDefined();
    expect(await traced(fleet, "fleet tier unavailable")).toEqual([]);
    // Three machines found it in Redis (directly or after waiting on the fleet lock).
    expect(await traced(fleet, "fleet hit")).toHaveLength(3);
  });

  it("inside the margin, the first machine past its refresh point mints and the others find the new token in Redis", async () => {
    const fleet = await machines(4, env);
    const [first, ...others] = fleet;
    const old = (await getsEverywhere(fleet, 1)).map(served);
    expect(new Set(old).size).toBe(1);
    // Time passing, simulated: with a 7200 s margin the hour-long token is past every refresh point
    // (less than the margin left), while the next one (7300 s) is fresh.
    broker.setLifetime(7300);
    for (const m of fleet) m.env.VERS_REFRESH_MARGIN = "7200";
    const asked = requestsWith(broker, apiKey);
    const refreshed = served(await get(first!));
    expect(refreshed).not.toBe(old[0]);
    expect(asked()).toBe(1);
    for (const m of others) expect(served(await get(m))).toBe(refreshed);
    expect(asked()).toBe(1);
    // Now cached on every machine: no Redis, no broker.
    expect((await getsEverywhere(fleet, 1)).map(served)).toEqual(Array(4).fill(refreshed));
    expect(asked()).toBe(1);
  });
});

describe("what Redis sees", () => {
  it("after a run: only HMAC names with TTLs; no token, key, host, owner or repository, even decoded", async () => {
    const fleet = await machines(3, env);
    const tokens = new Set([...(await getsEverywhere(fleet, 2)), ...(await getsEverywhere(fleet, 2, "acme/widgets.git"))].map(served));
    expect(tokens.size).toBe(2);
    broker.failNext("403");
    const refused = await get(fleet[0]!, "acme/gadgets.git");
    expect(refused.code).toBe(1); // a failure note for this scope is in Redis now
    const dump = await redis.dump();
    expect(dump.map((e) => e.key)).toHaveLength(3); // two entries and one note; no lock left behind
    const forbidden = [...tokens, apiKey, HOST, "acme", "widgets", "gadgets", "127.0.0.1", broker.url, "ghs_", "broker"];
    for (const { key, type, value, ttlMs } of dump) {
      expect(key).toMatch(/^gcv:[0-9a-f]{16}:\{[0-9a-f]{64}\}(:failed)?$/);
      expect(type).toBe("string");
      expect(ttlMs).toBeGreaterThan(0);
      expect(ttlMs).toBeLessThanOrEqual(key.endsWith(":failed") ? 10_000 : 3_600_000);
      const decoded = Buffer.from(value, "base64").toString("latin1");
      for (const text of forbidden) {
        expect(key).not.toContain(text);
        expect(value).not.toContain(text);
        expect(decoded).not.toContain(text);
      }
    }
  });
});

describe("the URL", () => {
  it("a password Redis does not need and a database number: shared as usual, nothing on stderr", async () => {
    const open = await startRedis({ password: null });
    try {
      const fleet = await machines(2, env, { extraEnv: { VERS_REDIS_URL: `redis://:not-needed-here@127.0.0.1:${open.port}/5` } });
      const asked = requestsWith(broker, apiKey);
      const tokens = (await getsEverywhere(fleet, 2)).map(served);
      expect(new Set(tokens).size).toBe(1);
      expect(asked()).toBe(1);
      expect(await open.command("INFO", "keyspace")).toMatch(/^db5:keys=1,/m);
    } finally {
      await open.close();
    }
  });
});

describe("over TLS", () => {
  let tls: RedisServer;

  beforeAll(async () => {
    tls = await startRedis({ tls: true });
  });

  afterAll(async () => {
    await tls?.close();
  });

  it("rediss:// with NODE_EXTRA_CA_CERTS: shared as over plain TCP; without the CA, each machine mints for itself", async () => {
    const trusted = await machines(2, env, { extraEnv: { VERS_REDIS_URL: tls.url, NODE_EXTRA_CA_CERTS: tls.caFile! } });
    const asked = requestsWith(broker, apiKey);
    const tokens = (await getsEverywhere(trusted, 2)).map(served);
    expect(new Set(tokens).size).toBe(1);
    expect(asked()).toBe(1);
    expect(await traced(trusted, "fleet tier unavailable")).toEqual([]);
    expect(ours(await tls.dump())).toHaveLength(1);

    const untrusted = await machines(2, env, { extraEnv: { VERS_REDIS_URL: tls.url } });
    const own = (await getsEverywhere(untrusted, 1)).map(served);
    expect(new Set([...own, tokens[0]]).size).toBe(3);
    expect(await traced(untrusted, "fleet tier unavailable")).toHaveLength(2);
  });
});
