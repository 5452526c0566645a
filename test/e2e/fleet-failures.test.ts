/**
 * Redis is never a reason to fail: down, a wrong password, a server that hangs or speaks junk, garbage
 * under our names, out of memory — each machine works as it does without Redis (served, one mint per
 * machine, nothing on stderr, one "fleet tier unavailable" trace line). A fleet-lock holder that dies
 * frees the others after the lock's TTL; a final failure of the minting machine fails the others at once.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HELPER_BIN } from "./harness";
import { expectFailure, request } from "./fixtures";
import { fleetNames, get, getsEverywhere, HOST, machines, ours, requestsWith, served, traced, traceOf, useFleetServers, type Machine } from "./fleet-fixtures";
import { startHungServer, startJunkServer } from "../servers/redis";

const servers = useFleetServers();
const { apiKey, env } = servers;

/** A broken Redis for one test: the URL the machines use, and how to put things back. */
interface Broken {
  url: string;
  undo(): Promise<void>;
}

const nothing = async () => undefined;
const plant = async (m: Machine, values: (names: ReturnType<typeof fleetNames>) => Array<[string, ...string[]]>) => {
  for (const [command, ...args] of values(fleetNames(m))) await servers.redis.command(command, ...args);
};

const BROKEN: Array<[string, (first: Machine) => Promise<Broken>]> = [
  ["Redis down", async () => (await servers.redis.stop(), { url: servers.redis.url, undo: () => servers.redis.start() })],
  ["a wrong password", async () => ({ url: servers.redis.url.replace(/:[^:@/]+@/, ":not-the-password@"), undo: nothing })],
  ["a server that accepts and never answers", async () => startHungServer().then((s) => ({ url: s.url, undo: () => s.close() }))],
  ["a server that answers junk", async () => startJunkServer().then((s) => ({ url: s.url, undo: () => s.close() }))],
  [
    "garbage under our entry, lock and note names",
    async (first) => {
      await plant(first, (n) => [["SET", n.entry, "garbage"], ["SET", n.lock, "garbage"], ["SET", n.note, "garbage"]]);
      return { url: servers.redis.url, undo: nothing };
    },
  ],
  [
    "a list under our entry's name",
    async (first) => {
      await plant(first, (n) => [["RPUSH", n.entry, "garbage"]]);
      return { url: servers.redis.url, undo: nothing };
    },
  ],
  ["Redis out of memory (the lock's SET fails)", async () => (await servers.redis.fillMemory(), { url: servers.redis.url, undo: () => servers.redis.restoreMemory() })],
];

describe("a broken Redis: each machine works as it does without one", () => {
  it.each(BROKEN)("%s", async (_what, breakIt) => {
    const fleet = await machines(4, env);
    const broken = await breakIt(fleet[0]!);
    try {
      for (const m of fleet) m.env.VERS_REDIS_URL = broken.url;
      const asked = requestsWith(servers.broker, apiKey);
      const results = await getsEverywhere(fleet, 2);
      const tokens = results.map(served);
      expect(asked()).toBe(4);
      expect(new Set(tokens).size).toBe(4);
      for (let i = 0; i < fleet.length; i++) {
        expect(tokens[2 * i]).toBe(tokens[2 * i + 1]); // one mint per machine, shared on its disk
        expect((await traceOf(fleet[i]!)).filter((l) => l.includes("fleet tier unavailable"))).toHaveLength(1);
      }
    } finally {
      await broken.undo();
    }
  });

  it("garbage under the entry and note names only: the fleet still works, and the garbage is replaced", async () => {
    const fleet = await machines(4, env);
    await plant(fleet[0]!, (n) => [["SET", n.entry, "garbage"], ["SET", n.note, "garbage"]]);
    const asked = requestsWith(servers.broker, apiKey);
    const tokens = (await getsEverywhere(fleet, 2)).map(served);
    expect(new Set(tokens).size).toBe(1);
    expect(asked()).toBe(1);
    expect(await traced(fleet, "fleet tier unavailable")).toEqual([]);
    const entry = ours(await servers.redis.dump()).find((e) => e.key === fleetNames(fleet[0]!).entry);
    expect(entry?.value).not.toBe("garbage");
  });
});

describe("the machine minting for the fleet", () => {
  it("killed mid-mint: the others take the fleet lock after its TTL and mint once, well within their deadline", async () => {
    const [holder, ...others] = await machines(4, env);
    const names = fleetNames(holder!);
    servers.broker.failNext("hang");
    const asked = servers.broker.onRequest();
    const child = spawn(HELPER_BIN, ["get"], { env: holder!.env, cwd: holder!.home, stdio: ["pipe", "ignore", "ignore"] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    child.stdin.on("error", () => undefined);
    child.stdin.end(request(HOST));
    await asked; // it holds the fleet lock and waits on the broker
    const deadLock = await servers.redis.command("GET", names.lock);
    expect(deadLock).toEqual(expect.any(String));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const count = requestsWith(servers.broker, apiKey);
    const lockAtNextMint = servers.broker.onRequest().then(() => servers.redis.command("GET", names.lock));
    const tokens = (await getsEverywhere(others, 2)).map(served);
    expect(new Set(tokens).size).toBe(1);
    expect(count()).toBe(1);
    expect(await lockAtNextMint).not.toBe(deadLock); // minted under a lock of its own, once the dead one expired
    // The killed machine, once its own stale disk lock is taken over, finds the token in Redis.
    expect(served(await get(holder!))).toBe(tokens[0]);
    expect(count()).toBe(1);
  });

  it("a final failure (401) is noted: the other machines fail at once with the same line and ask no one", async () => {
    const [first, ...others] = await machines(4, env);
    servers.broker.failNext("401");
    const line = expectFailure(await get(first!), /the broker rejected VERS_API_KEY \(HTTP 401\)/);
    const note = ours(await servers.redis.dump()).find((e) => e.key === fleetNames(first!).note);
    expect(note?.ttlMs).toBeGreaterThan(0);
    expect(note?.ttlMs).toBeLessThanOrEqual(10_000);

    const count = requestsWith(servers.broker, apiKey);
    for (const r of await getsEverywhere(others, 2)) expect(expectFailure(r, /HTTP 401/)).toBe(line);
    expect(count()).toBe(0);
    for (const m of others) expect((await traceOf(m)).filter((l) => l.includes("the fleet's minting machine failed"))).toHaveLength(1);
  });
});
