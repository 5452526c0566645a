/**
 * One Redis, two secrets: a machine with another Vers key, or with the same GitHub App id but another
 * private key (the same scope key, so only the secret tells them apart), neither finds, reads nor uses
 * the fleet's entries — and does not disturb them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { expectFailure, newApiKey, resetBroker, tempEnvs } from "./fixtures";
import { fleetNames, get, HOST, machines, ours, requestsWith, served, traced } from "./fleet-fixtures";
import { startFakeBroker, type FakeBroker } from "../servers/fake-broker";
import { generateAppKeys, startFakeGitHub, type FakeGitHub } from "../servers/fake-github";
import { startRedis, type RedisServer } from "../servers/redis";
import { TokenRegistry } from "../servers/token-registry";

const apiKey = newApiKey();
const otherKey = newApiKey();
const APP_ID = "31337";
const appKeys = generateAppKeys();
const otherAppKeys = generateAppKeys();
let broker: FakeBroker;
let github: FakeGitHub;
let redis: RedisServer;

beforeAll(async () => {
  [broker, github, redis] = await Promise.all([
    startFakeBroker({ apiKey, moreApiKeys: [otherKey] }),
    startFakeGitHub({ appId: APP_ID, publicKeyPem: appKeys.publicKeyPem, registry: new TokenRegistry(), installations: [{ id: 7, account: "acme" }] }),
    startRedis(),
  ]);
});

afterAll(async () => {
  await Promise.all([redis?.close(), broker?.close(), github?.close()]);
});

beforeEach(async () => {
  resetBroker(broker);
  await redis.command("FLUSHALL");
});

const env = tempEnvs(() => ({ brokerUrl: broker.url, apiKey, hosts: [HOST], wireGit: false, extraEnv: { VERS_REDIS_URL: redis.url, VERS_TIMEOUT: "30" } }));

describe("another secret shares nothing", () => {
  it("a machine with another Vers key mints its own; the fleet's entry stays and is still served to the fleet", async () => {
    const [a, b] = await machines(2, env);
    const [other] = await machines(1, env, { apiKey: otherKey });
    const asked = requestsWith(broker, apiKey);
    const askedOther = requestsWith(broker, otherKey);
    const shared = served(await get(a!));
    const own = served(await get(other!));
    expect(own).not.toBe(shared);
    expect(askedOther()).toBe(1);
    expect(await traced([other!], "fleet hit")).toEqual([]);
    expect(served(await get(b!))).toBe(shared);
    expect(asked()).toBe(1);
    // Two entries under two prefixes, one per secret.
    expect(fleetNames(a!).prefix).not.toBe(fleetNames(other!).prefix);
    expect(ours(await redis.dump()).map((e) => e.key).sort()).toEqual([fleetNames(a!).entry, fleetNames(other!).entry].sort());
  });

  it("the same GitHub App id with another private key: not served the fleet's token (GitHub refuses its key), entry untouched", async () => {
    const app = { GITHUB_APP_ID: APP_ID, GITHUB_API_URL: github.url, GITHUB_INSTALLATION_ID: "7" };
    const [a, b] = await machines(2, env, { apiKey: undefined, extraEnv: { ...app, GITHUB_APP_PRIVATE_KEY: appKeys.pkcs1 } });
    const [other] = await machines(1, env, { apiKey: undefined, extraEnv: { ...app, GITHUB_APP_PRIVATE_KEY: otherAppKeys.pkcs1 } });
    const shared = served(await get(a!));
    expect(github.mints).toBe(1);
    const fleetOf = async (m: typeof a) => (await redis.dump()).filter((e) => e.key.startsWith(`${fleetNames(m!).prefix}:`)).map(({ key, value }) => ({ key, value }));
    const before = await fleetOf(a);
    expect(before).toHaveLength(1);

    expectFailure(await get(other!), /GitHub rejected the GitHub App's JWT \(HTTP 401/);
    expect(github.mints).toBe(1);
    expect(await fleetOf(a)).toEqual(before);
    expect(fleetNames(other!).prefix).not.toBe(fleetNames(a!).prefix);

    expect(served(await get(b!))).toBe(shared);
    expect(github.mints).toBe(1);
  });
});
