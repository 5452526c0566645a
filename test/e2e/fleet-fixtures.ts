/**
 * Machines of a fleet for the end-to-end files: each a temporary HOME and cache folder of its own
 * (machines share no disk), with VERS_REDIS_URL set and a trace file, all asking one fake broker.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { chooseSource, type NetworkSource } from "../../src/choose-source";
import { scopeKey } from "../../src/cache/key";
import { deriveKeys, namesFor } from "../../src/fleet/keys";
import { sharedSecret } from "../../src/fleet/shared-secret";
import { resolveSettings } from "../../src/settings";
import { helper, type RunResult, type TestEnv, type TestEnvOptions } from "./harness";
import { lines, newApiKey, parseLines, request, resetBroker, tempEnvs } from "./fixtures";
import { startFakeBroker, type FakeBroker } from "../servers/fake-broker";
import { startRedis, type DumpEntry, type RedisServer } from "../servers/redis";

export const HOST = "github.com";

/**
 * A fleet test file's servers: a fake broker and a real redis-server, started before its tests, the broker reset and
 * Redis flushed before each; `env` makes a machine's environment wired to both (`VERS_TIMEOUT=30`).
 */
export function useFleetServers(): { apiKey: string; readonly broker: FakeBroker; readonly redis: RedisServer; env: ReturnType<typeof tempEnvs> } {
  const apiKey = newApiKey();
  let broker: FakeBroker | undefined;
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    [broker, redis] = await Promise.all([startFakeBroker({ apiKey }), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.close(), broker?.close()]);
  });
  beforeEach(async () => {
    resetBroker(broker!);
    await redis!.command("FLUSHALL");
  });
  return {
    apiKey,
    get broker() {
      return broker!;
    },
    get redis() {
      return redis!;
    },
    env: tempEnvs(() => ({ brokerUrl: broker!.url, apiKey, hosts: [HOST], wireGit: false, extraEnv: { VERS_REDIS_URL: redis!.url, VERS_TIMEOUT: "30" } })),
  };
}

export interface Machine extends TestEnv {
  name: string;
  /** Where this machine's helper appends its trace (VERS_CREDENTIAL_TRACE). */
  trace: string;
}

/** `count` machines made with `make` (tempEnvs from fixtures.ts, so they are removed after the test). */
export async function machines(count: number, make: (o?: Partial<TestEnvOptions>) => Promise<TestEnv>, o: Partial<TestEnvOptions> = {}): Promise<Machine[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const t = await make(o);
      const trace = join(t.home, "trace.log");
      t.env.VERS_CREDENTIAL_TRACE = trace;
      return { ...t, name: `machine ${i + 1}`, trace };
    }),
  );
}

/** git's `get` on a machine, for HOST (and a repository path when given). */
export function get(m: Machine, path?: string): Promise<RunResult> {
  return helper(m, ["get"], request(HOST, path === undefined ? {} : { path }));
}

/** `per` concurrent gets on every machine at once. */
export function getsEverywhere(ms: Machine[], per: number, path?: string): Promise<RunResult[]> {
  return Promise.all(ms.flatMap((m) => Array.from({ length: per }, () => get(m, path))));
}

/** A get that succeeded the way git wants it: exit 0, nothing on stderr; its token. */
export function served(r: RunResult): string {
  expect(r.stderr, r.stderr).toBe("");
  expect(r.code).toBe(0);
  const token = parseLines(r.stdout).password;
  expect(token).toMatch(/^ghs_/);
  return token!;
}

export async function traceOf(m: Machine): Promise<string[]> {
  return lines(await readFile(m.trace, "utf8").catch(() => ""));
}

/** Trace lines, over all machines, that contain `text`. */
export async function traced(ms: Machine[], text: string): Promise<string[]> {
  return (await Promise.all(ms.map(traceOf))).flat().filter((l) => l.includes(text));
}

/** Broker requests made with `apiKey`, from now on. */
export function requestsWith(broker: FakeBroker, apiKey: string): () => number {
  const count = () => broker.requests.filter((r) => r.authorization === `Bearer ${apiKey}`).length;
  const before = count();
  return () => count() - before;
}

/** The Redis names (entry, lock, note) of a machine's org-wide scope for HOST: where a test plants garbage. */
export function fleetNames(m: TestEnv): { prefix: string; entry: string; lock: string; note: string } {
  const settings = resolveSettings({}, m.env);
  const source = chooseSource(settings, { env: m.env, homedir: m.home, uid: process.getuid?.() }) as NetworkSource;
  const keys = deriveKeys(sharedSecret(source));
  return { prefix: keys.prefix, ...namesFor(keys, scopeKey(source.identity, { host: HOST, repositories: [], permissions: settings.permissions })) };
}

/** What Redis holds, without entries of the harness's own. */
export function ours(dump: DumpEntry[]): DumpEntry[] {
  return dump.filter((e) => e.key.startsWith("gcv:"));
}
