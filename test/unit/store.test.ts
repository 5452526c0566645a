import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CacheEntry } from "../../src/cache/entry";
import { CacheStore, DIR_MODE, FILE_MODE, folderProblem } from "../../src/cache/store";

const isRoot = process.getuid?.() === 0;

let root: string;
let dir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vers-store-"));
  dir = join(root, "cache", "git-credential-vers");
});

afterEach(async () => {
  await chmod(root, 0o700).catch(() => undefined);
  await chmod(dir, 0o700).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

function entry(key: string, token = `ghs_${key}`, overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    version: 1,
    key,
    host: "github.com",
    repositories: [],
    token,
    expiresAt: 1_800_000_000_000,
    mintedAt: 1_799_996_400_000,
    source: "broker https://vers.sh 0000000000000000",
    ...overrides,
  };
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("CacheStore.write and read", () => {
  it("exports the SPEC's modes", () => {
    expect(DIR_MODE).toBe(0o700);
    expect(FILE_MODE).toBe(0o600);
  });

  it("creates the folder 0700 and the entry 0600, and reads it back", async () => {
    const store = new CacheStore(dir);
    const e = entry("aaaaaaaaaaaaaaaa");
    store.write(e);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, "aaaaaaaaaaaaaaaa.json"))).toBe(0o600);
    expect(store.read("aaaaaaaaaaaaaaaa")).toEqual(e);
  });

  it("stores one JSON file named after the key, ending in a newline", async () => {
    const store = new CacheStore(dir);
    const e = entry("bbbbbbbbbbbbbbbb");
    store.write(e);
    expect(store.entryPath("bbbbbbbbbbbbbbbb")).toBe(join(dir, "bbbbbbbbbbbbbbbb.json"));
    expect(await readFile(join(dir, "bbbbbbbbbbbbbbbb.json"), "utf8")).toBe(JSON.stringify(e) + "\n");
  });

  it("leaves no temporary file behind", async () => {
    const store = new CacheStore(dir);
    for (let i = 0; i < 5; i++) store.write(entry("cccccccccccccccc", `ghs_${i}`));
    store.write(entry("dddddddddddddddd"));
    expect((await readdir(dir)).sort()).toEqual(["cccccccccccccccc.json", "dddddddddddddddd.json"]);
    expect(store.read("cccccccccccccccc")?.token).toBe("ghs_4");
  });

  it("replaces an existing entry and keeps it 0600 even if it was looser", async () => {
    const store = new CacheStore(dir);
    store.write(entry("eeeeeeeeeeeeeeee", "ghs_old"));
    await chmod(join(dir, "eeeeeeeeeeeeeeee.json"), 0o644);
    store.write(entry("eeeeeeeeeeeeeeee", "ghs_new"));
    expect(store.read("eeeeeeeeeeeeeeee")?.token).toBe("ghs_new");
    expect(await modeOf(join(dir, "eeeeeeeeeeeeeeee.json"))).toBe(0o600);
  });

  it("reads a missing entry as undefined", () => {
    expect(new CacheStore(dir).read("ffffffffffffffff")).toBeUndefined();
  });

  it.each([
    ["corrupt", "{not json"],
    ["truncated", JSON.stringify(entry("1111111111111111")).slice(0, 40)],
    ["empty", ""],
    ["foreign", JSON.stringify(entry("2222222222222222"))],
    ["wrong version", JSON.stringify({ ...entry("1111111111111111"), version: 2 })],
  ])("reads a %s file as undefined", async (_name, text) => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "1111111111111111.json"), text);
    expect(new CacheStore(dir).read("1111111111111111")).toBeUndefined();
  });

  it("reads a folder in the entry's place as undefined", async () => {
    await mkdir(join(dir, "3333333333333333.json"), { recursive: true });
    expect(new CacheStore(dir).read("3333333333333333")).toBeUndefined();
  });

  it("write throws when the cache folder is a file", async () => {
    await mkdir(join(root, "cache"), { recursive: true });
    await writeFile(dir, "not a folder");
    expect(() => new CacheStore(dir).write(entry("4444444444444444"))).toThrow();
  });

  it.skipIf(isRoot)("write throws in a read-only folder, leaving nothing behind", async () => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o500);
    const store = new CacheStore(dir);
    expect(() => store.write(entry("5555555555555555"))).toThrow();
    await chmod(dir, 0o700);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("CacheStore.remove", () => {
  it("with the matching token, removes the entry", () => {
    const store = new CacheStore(dir);
    store.write(entry("aaaaaaaaaaaaaaaa", "ghs_one"));
    expect(store.remove("aaaaaaaaaaaaaaaa", "ghs_one")).toBe(true);
    expect(store.read("aaaaaaaaaaaaaaaa")).toBeUndefined();
  });

  it("with another token, keeps the entry", () => {
    const store = new CacheStore(dir);
    store.write(entry("aaaaaaaaaaaaaaaa", "ghs_one"));
    expect(store.remove("aaaaaaaaaaaaaaaa", "ghs_two")).toBe(false);
    expect(store.remove("aaaaaaaaaaaaaaaa", "")).toBe(false);
    expect(store.remove("aaaaaaaaaaaaaaaa", "ghs_on")).toBe(false);
    expect(store.read("aaaaaaaaaaaaaaaa")?.token).toBe("ghs_one");
  });

  it("removes only the entry under that key", () => {
    const store = new CacheStore(dir);
    store.write(entry("aaaaaaaaaaaaaaaa", "ghs_same"));
    store.write(entry("bbbbbbbbbbbbbbbb", "ghs_same"));
    expect(store.remove("aaaaaaaaaaaaaaaa", "ghs_same")).toBe(true);
    expect(store.read("bbbbbbbbbbbbbbbb")?.token).toBe("ghs_same");
  });

  it("without a token, removes unconditionally", () => {
    const store = new CacheStore(dir);
    store.write(entry("aaaaaaaaaaaaaaaa", "ghs_one"));
    expect(store.remove("aaaaaaaaaaaaaaaa")).toBe(true);
    expect(store.read("aaaaaaaaaaaaaaaa")).toBeUndefined();
  });

  it("returns false for a missing entry", () => {
    const store = new CacheStore(dir);
    expect(store.remove("aaaaaaaaaaaaaaaa")).toBe(false);
    expect(store.remove("aaaaaaaaaaaaaaaa", "ghs_one")).toBe(false);
  });

  it("with a token, leaves a corrupt entry alone", async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "aaaaaaaaaaaaaaaa.json"), "{corrupt");
    expect(new CacheStore(dir).remove("aaaaaaaaaaaaaaaa", "ghs_one")).toBe(false);
    expect(await readFile(join(dir, "aaaaaaaaaaaaaaaa.json"), "utf8")).toBe("{corrupt");
  });
});

describe("CacheStore.list", () => {
  it("is empty for a missing folder", () => {
    expect(new CacheStore(dir).list()).toEqual({ entries: [], unreadable: [] });
  });

  it("lists readable entries and names the unreadable ones, skipping memos, locks and temporary files", async () => {
    const store = new CacheStore(dir);
    const a = entry("aaaaaaaaaaaaaaaa");
    const b = entry("bbbbbbbbbbbbbbbb", "ghs_b", { owner: "acme", repositories: ["widgets"] });
    store.write(a);
    store.write(b);
    await writeFile(join(dir, "cccccccccccccccc.json"), "{corrupt");
    await writeFile(join(dir, "dddddddddddddddd.json"), JSON.stringify(entry("eeeeeeeeeeeeeeee")));
    await writeFile(join(dir, "memo-github-app-0000.json"), '{"acme":"42"}');
    await mkdir(join(dir, "aaaaaaaaaaaaaaaa.json.lock"));
    await writeFile(join(dir, "aaaaaaaaaaaaaaaa.json.123.abc.tmp"), "partial");
    await writeFile(join(dir, "README"), "x");

    const listed = store.list();
    expect(listed.entries.sort((x, y) => x.key.localeCompare(y.key))).toEqual([a, b]);
    expect(listed.unreadable.sort()).toEqual(["cccccccccccccccc.json", "dddddddddddddddd.json"]);
  });
});

describe("CacheStore.clear", () => {
  it("returns 0 for a missing folder", () => {
    expect(new CacheStore(dir).clear()).toBe(0);
  });

  it("removes every entry, lock and temporary file and counts the entries", async () => {
    const store = new CacheStore(dir);
    store.write(entry("aaaaaaaaaaaaaaaa"));
    store.write(entry("bbbbbbbbbbbbbbbb"));
    await mkdir(join(dir, "aaaaaaaaaaaaaaaa.json.lock"));
    await writeFile(join(dir, "bbbbbbbbbbbbbbbb.json.1.x.tmp"), "partial");
    expect(store.clear()).toBe(2);
    expect(await readdir(dir)).toEqual([]);
    expect(store.list()).toEqual({ entries: [], unreadable: [] });
  });

  it("removes memos too, but does not count a memo as a cached token", async () => {
    const store = new CacheStore(dir);
    store.write(entry("aaaaaaaaaaaaaaaa"));
    store.write(entry("bbbbbbbbbbbbbbbb"));
    store.memo("github-app-0000").set("acme", "42");
    expect(await readdir(dir)).toContain("memo-github-app-0000.json");
    expect(store.clear()).toBe(2);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("CacheStore.memo", () => {
  it("remembers values across instances, in a 0600 file", async () => {
    new CacheStore(dir).memo("m").set("acme", "42");
    const memo = new CacheStore(dir).memo("m");
    expect(memo.get("acme")).toBe("42");
    expect(memo.get("other")).toBeUndefined();
    expect(await modeOf(join(dir, "memo-m.json"))).toBe(0o600);
  });

  it("keeps earlier keys when setting another", () => {
    const memo = new CacheStore(dir).memo("m");
    memo.set("a", "1");
    memo.set("b", "2");
    expect([memo.get("a"), memo.get("b")]).toEqual(["1", "2"]);
  });

  it("treats a corrupt memo as empty and never throws", async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "memo-m.json"), "{corrupt");
    const memo = new CacheStore(dir).memo("m");
    expect(memo.get("a")).toBeUndefined();
    memo.set("a", "1");
    expect(memo.get("a")).toBe("1");
  });

  it("does not hand back inherited properties", () => {
    const memo = new CacheStore(dir).memo("m");
    expect(memo.get("toString")).toBeUndefined();
    expect(memo.get("__proto__")).toBeUndefined();
  });

  it("set is silent when the folder cannot be made", async () => {
    await mkdir(join(root, "cache"), { recursive: true });
    await writeFile(dir, "not a folder");
    expect(() => new CacheStore(dir).memo("m").set("a", "1")).not.toThrow();
  });
});

describe("folderProblem", () => {
  it("is undefined for a folder that does not exist yet", () => {
    expect(folderProblem(dir)).toBeUndefined();
  });

  it("is undefined for a private folder (0700)", async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    expect(folderProblem(dir)).toBeUndefined();
  });

  it("is undefined for a folder others may read but not write (0755)", async () => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    expect(folderProblem(dir)).toBeUndefined();
  });

  it.each([
    [0o777, "777"],
    [0o770, "770"],
    [0o702, "702"],
    [0o720, "720"],
  ])("reports a folder writable by group or others (mode %s)", async (mode, text) => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, mode);
    expect(folderProblem(dir)).toBe(`${dir} is writable by group or others (mode ${text})`);
  });

  it("reports a file in the folder's place", async () => {
    await mkdir(join(root, "cache"), { recursive: true });
    await writeFile(dir, "x");
    expect(folderProblem(dir)).toBe(`${dir} is not a folder`);
  });
});
