/**
 * git's `erase`, in process (fake Io, real cache and lock): the cached entry goes only if it holds the
 * rejected token at the moment of removal. A fresh token another process wrote meanwhile stays, and
 * while another process holds the entry's lock (it is refreshing), the entry is left to it.
 */
import { mkdir, readFile, utimes } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { scopeKey } from "../../src/cache/key";
import { CacheStore } from "../../src/cache/store";
import { chooseSource, type NetworkSource } from "../../src/choose-source";
import { runGitAction } from "../../src/commands/git";
import type { Scope } from "../../src/scope";
import { resolveSettings } from "../../src/settings";
import { fakeIo, type FakeIo } from "./fake-io";

const API_KEY = "vers_test_erase_key_000000000001";
const REJECTED = "ghs_rejectedRejectedRejectedRejected01";
const FRESH = "ghs_freshFreshFreshFreshFreshFresh0002";
const ORG: Scope = { host: "github.com", repositories: [] };
const REPO: Scope = { host: "github.com", owner: "acme", repositories: ["widgets"] };

let io: FakeIo | undefined;
afterEach(async () => {
  await io?.cleanup();
  io = undefined;
});

interface Cache {
  io: FakeIo;
  store: CacheStore;
  key(scope: Scope): string;
  write(scope: Scope, token: string): void;
  /** The token in the scope's entry file, read raw; undefined when there is none. */
  token(scope: Scope): Promise<string | undefined>;
}

async function cache(): Promise<Cache> {
  io = await fakeIo({ VERS_API_KEY: API_KEY });
  const store = new CacheStore(io.cacheDir, io.uid);
  const identity = (chooseSource(resolveSettings({}, io.env), io) as NetworkSource).identity;
  const key = (scope: Scope) => scopeKey(identity, scope);
  const now = io.now();
  return {
    io,
    store,
    key,
    write: (scope, token) =>
      store.write({ version: 2, key: key(scope), host: scope.host, owner: scope.owner, repositories: scope.repositories, token, expiresAt: now + 3600_000, mintedAt: now, source: "broker" }),
    token: async (scope) => {
      try {
        return (JSON.parse(await readFile(store.entryPath(key(scope)), "utf8")) as { token?: string }).token;
      } catch {
        return undefined;
      }
    },
  };
}

async function erase(c: Cache, password: string, path?: string): Promise<number> {
  c.io.input = `protocol=https\nhost=github.com\n${path ? `path=${path}\n` : ""}username=x-access-token\npassword=${password}\n\n`;
  return runGitAction("erase", {}, c.io);
}

describe("erase", () => {
  it("removes the entry that holds the rejected token", async () => {
    const c = await cache();
    c.write(ORG, REJECTED);
    expect(await erase(c, REJECTED)).toBe(0);
    expect(await c.token(ORG)).toBeUndefined();
    expect(c.io.out + c.io.err).toBe("");
  });

  it("keeps an entry that holds another token", async () => {
    const c = await cache();
    c.write(ORG, FRESH);
    expect(await erase(c, REJECTED)).toBe(0);
    expect(await c.token(ORG)).toBe(FRESH);
  });

  it("removes only the entry of the request's scope", async () => {
    const c = await cache();
    c.write(ORG, REJECTED);
    c.write(REPO, REJECTED);
    await erase(c, REJECTED, "acme/widgets.git");
    expect(await c.token(REPO)).toBeUndefined();
    expect(await c.token(ORG)).toBe(REJECTED);
  });

  it("keeps a fresh token written between its first look and the removal", async () => {
    const c = await cache();
    c.write(ORG, REJECTED);
    // erase reads the clock once, to take the entry's lock, after its first look found the rejected
    // token: that is when another process's fresh token lands here.
    let landed = false;
    const clock = c.io.now;
    c.io.now = () => {
      if (!landed) {
        landed = true;
        c.write(ORG, FRESH);
      }
      return clock();
    };
    expect(await erase(c, REJECTED)).toBe(0);
    expect(landed).toBe(true);
    expect(await c.token(ORG)).toBe(FRESH);
  });

  it("while another process holds the entry's lock (refreshing it), leaves the entry to that process", async () => {
    const c = await cache();
    c.write(ORG, REJECTED);
    const lock = `${c.store.entryPath(c.key(ORG))}.lock`;
    await mkdir(lock);
    await utimes(lock, new Date(), new Date());
    expect(await erase(c, REJECTED)).toBe(0);
    expect(await c.token(ORG)).toBe(REJECTED);
  });
});
