/**
 * src/fleet/client.ts against a real redis-server (and servers that are not Redis): the Lua rules
 * (compare-and-delete, never a shorter-lived entry over a longer one), an out-of-memory SET that throws
 * instead of reading as a held lock, and every failure as FleetUnavailable naming what went wrong.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { connectFleet, FleetUnavailable, type FleetClient } from "../../src/fleet/client";
import { startHungServer, startJunkServer, startRedis, type RedisServer } from "../servers/redis";

let redis: RedisServer;
const clients: FleetClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await redis?.close();
});

beforeEach(async () => {
  await redis.restoreMemory();
  await redis.command("FLUSHALL");
});

async function connect(url = redis.url): Promise<FleetClient> {
  const client = await connectFleet(url);
  clients.push(client);
  return client;
}

function failure(promise: Promise<unknown>): Promise<FleetUnavailable> {
  return promise.then(
    () => expect.fail("expected a FleetUnavailable"),
    (err: unknown) => {
      expect(err).toBeInstanceOf(FleetUnavailable);
      return err as FleetUnavailable;
    },
  );
}

describe("the operations", () => {
  const names = { entry: "e", note: "n", lock: "l", wake: "w" };

  it("read and claim: nothing there is null; the claim takes the lock and leaves no waiter count", async () => {
    const c = await connect();
    expect(await c.read("e")).toBeNull();
    expect(await c.claim(names, "ours", 10_000)).toEqual({ taken: true, note: null, lock: null, entry: null });
    expect(await redis.command("EXISTS", "w")).toBe(0);
  });

  it("claim is SET NX PX: once; a loser sees the holder's value and is counted; the release pushes one element per waiter and deletes only our own value", async () => {
    const c = await connect();
    await redis.command("SET", "n", "a note");
    expect(await c.claim(names, "ours", 10_000)).toEqual({ taken: true, note: "a note", lock: null, entry: null });
    expect(await c.claim(names, "theirs", 10_000)).toEqual({ taken: false, note: "a note", lock: "ours", entry: null });
    expect((await c.claim(names, "third", 10_000)).taken).toBe(false);
    const pttl = Number(await redis.command("PTTL", "l"));
    expect(pttl).toBeGreaterThan(9_000);
    expect(pttl).toBeLessThanOrEqual(10_000);
    expect(await redis.command("GET", "w")).toBe("2");
    expect(Number(await redis.command("PTTL", "w"))).toBeGreaterThan(9_000);
    await c.releaseLock(names, "theirs", "their-id", "payload of theirs");
    expect(await redis.command("GET", "l")).toBe("ours");
    expect(await redis.command("EXISTS", "w")).toBe(0); // the count went with the first release: the waiters were told
    await redis.command("SET", "w", "2");
    await c.releaseLock(names, "ours", "our-id", "ours payload");
    expect(await redis.command("EXISTS", "l", "w")).toBe(0);
    expect(await redis.command("LRANGE", "w:our-id", "0", "-1")).toEqual(["ours payload", "ours payload"]);
    expect(Number(await redis.command("PTTL", "w:our-id"))).toBeGreaterThan(10_000);
  });

  it("waitWake blocks past the 500 ms command bound until the push; each waiter pops one element, none is left", async () => {
    const waiters = await Promise.all([connect(), connect(), connect()]);
    const woken = Promise.all(waiters.map((w) => w.waitWake("w:1", 5_000)));
    await redis.command("CLIENT", "PAUSE", "600", "WRITE"); // the push below waits 600 ms: longer than a command's bound
    await redis.command("RPUSH", "w:1", "v", "v", "v");
    expect(await woken).toEqual(["v", "v", "v"]);
    expect(await redis.command("EXISTS", "w:1")).toBe(0);
  });

  it("waitWake with nothing pushed: null after its time", async () => {
    const c = await connect();
    expect(await c.waitWake("w:2", 50)).toBeNull();
  });

  it("dropEntry deletes only exactly the sealed value it was given", async () => {
    const c = await connect();
    await redis.command("SET", "e", "sealed-1");
    expect(await c.dropEntry("e", "sealed-2")).toBe(false);
    expect(await redis.command("GET", "e")).toBe("sealed-1");
    expect(await c.dropEntry("e", "sealed-1")).toBe(true);
    expect(await redis.command("EXISTS", "e")).toBe(0);
  });

  it("writeEntry: a TTL; never a shorter-lived entry over a longer one, unless told what is there is garbage", async () => {
    const c = await connect();
    await c.writeEntry("e", "first", 60_000, false);
    await c.writeEntry("e", "shorter", 30_000, false);
    expect(await redis.command("GET", "e")).toBe("first");
    await c.writeEntry("e", "longer", 120_000, false);
    expect(await redis.command("GET", "e")).toBe("longer");
    expect(Number(await redis.command("PTTL", "e"))).toBeGreaterThan(60_000);
    await c.writeEntry("e", "replacing garbage", 1_000, true);
    expect(await redis.command("GET", "e")).toBe("replacing garbage");
    expect(await c.read("e")).toBe("replacing garbage");
  });

  it("writeNote, exists, and deletePrefix (only under the prefix)", async () => {
    const c = await connect();
    await c.writeNote("gcv:aaaa:1:failed", "note", 10_000);
    await c.writeEntry("gcv:aaaa:1", "entry", 10_000, false);
    await redis.command("SET", "gcv:bbbb:1", "another secret's");
    await redis.command("SET", "gcv:aaaab:1", "a longer prefix");
    expect(await c.exists(["gcv:aaaa:1", "gcv:aaaa:2"])).toEqual([true, false]);
    expect(await c.deletePrefix("gcv:aaaa")).toEqual({ deleted: 2 });
    expect((await redis.dump()).map((e) => e.key)).toEqual(["gcv:aaaab:1", "gcv:bbbb:1"]);
  });
});

describe("the URL's password and database", () => {
  it("a password the server does not need: connected, and nothing printed on the console (the helper's stderr is git's)", async () => {
    const open = await startRedis({ password: null });
    const warn = vi.spyOn(console, "warn");
    try {
      const c = await connect(`redis://:a-password-it-does-not-need@127.0.0.1:${open.port}`);
      await c.writeNote("n", "v", 10_000);
      expect(await open.command("GET", "n")).toBe("v");
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      await open.close();
    }
  });

  it("the database in the URL is the one used; one that does not exist fails instead of falling back to 0", async () => {
    const c = await connect(`${redis.url}/3`);
    await c.writeNote("n", "v", 10_000);
    expect(await redis.command("EXISTS", "n")).toBe(0); // not in database 0 …
    expect(await redis.command("INFO", "keyspace")).toMatch(/^db3:keys=1,/m); // … but in 3
    const err = await failure(connect(`${redis.url}/99`));
    expect(err.message).toMatch(/DB index is out of range/);
  });
});

describe("failures, each a FleetUnavailable", () => {
  it("out of memory: the lock's SET throws (it is not a lock held by someone else)", async () => {
    const c = await connect();
    await redis.fillMemory();
    const err = await failure(c.claim({ entry: "e", note: "n", lock: "l", wake: "w" }, "ours", 10_000));
    expect(err.message).toMatch(/OOM/);
  });

  it("wrong password: connecting fails, naming it", async () => {
    const wrong = redis.url.replace(/:[^:@/]+@/, ":not-the-password@");
    const err = await failure(connect(wrong));
    expect(err.message).toMatch(/WRONGPASS|invalid password|NOAUTH/i);
  });

  it("no password given to a server that wants one: the first command fails, naming it", async () => {
    const url = redis.url.replace(/\/\/:[^@]+@/, "//");
    const err = await failure(connect(url).then((c) => c.read("e")));
    expect(err.message).toMatch(/NOAUTH/);
  });

  it("nothing listening: connecting fails with the system's error", async () => {
    const hung = await startHungServer();
    const url = hung.url;
    await hung.close();
    const err = await failure(connect(url));
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it.each([
    ["without a password", ""],
    ["with a password", ":some-password@"],
  ])("a server that accepts and never answers (%s): connecting or the first read gives up within its bound", async (_what, auth) => {
    const hung = await startHungServer();
    try {
      const err = await failure(connect(hung.url.replace("//", `//${auth}`)).then((c) => c.read("e")));
      expect(err.message).toMatch(/no answer within|timed out/i);
      expect(hung.connections).toBe(1);
    } finally {
      await hung.close();
    }
  });

  it("a Redis that stops answering after the connection is made: each command gives up within its bound", async () => {
    const c = await connect();
    await redis.command("CLIENT", "PAUSE", "3000", "ALL");
    const err = await failure(c.read("e"));
    expect(err.message).toMatch(/no answer within 500 ms reading|timed out/i);
  });

  it("a process starved of CPU past the bound: Redis's answer, waiting in the socket, wins over the timer", async () => {
    // Hundreds of helpers on two cores: a process gets the CPU back after its 500 ms are up, with the
    // answer already there. Blocking this process's event loop for 800 ms after sending does the same.
    const c = await connect();
    const writing = c.writeNote("n", "v", 10_000);
    const until = Date.now() + 800;
    while (Date.now() < until) {
      // busy: no timer, no I/O runs meanwhile
    }
    await writing; // before: "no answer within 500 ms writing", though Redis had answered at once
    expect(await redis.command("GET", "n")).toBe("v");
  });

  it("a server that answers with something that is not Redis", async () => {
    const junk = await startJunkServer();
    try {
      await failure(connect(junk.url).then((c) => c.read("e")));
    } finally {
      await junk.close();
    }
  });

  it("a key of another type under a name: the read, the claim, the wait fail", async () => {
    const c = await connect();
    await redis.command("HSET", "e", "field", "value");
    await redis.command("HSET", "w:1", "field", "value");
    expect((await failure(c.read("e"))).message).toMatch(/WRONGTYPE/);
    expect((await failure(c.claim({ entry: "e", note: "n", lock: "l", wake: "w" }, "ours", 10_000))).message).toMatch(/WRONGTYPE/);
    expect((await failure(c.waitWake("w:1", 100))).message).toMatch(/WRONGTYPE/);
  });
});
