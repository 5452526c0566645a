import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CacheEntry } from "../../src/cache/entry";
import { CacheStore, folderProblem, type FailureNote } from "../../src/cache/store";
import { hash64 } from "../../src/hash";

const UID = process.getuid?.();
const isRoot = UID === 0;
/** Someone else: files of ours are not theirs. */
const OTHER_UID = (UID ?? 1000) + 4242;

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

const store = () => new CacheStore(dir, UID);

/** Full canonical keys, as scopeKey makes them. */
const KEY_A = '["broker https://vers.sh 0000000000000000","github.com",null,[],""]';
const KEY_B = '["broker https://vers.sh 0000000000000000","github.com","acme",["widgets"],""]';

function entry(key: string, token = `ghs_${hash64(key)}`, overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    version: 2,
    key,
    host: "github.com",
    repositories: [],
    token,
    expiresAt: 1_800_000_000_000,
    mintedAt: 1_799_996_400_000,
    source: "broker",
    ...overrides,
  };
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const nameOf = (key: string) => basename(store().entryPath(key));

describe("CacheStore.write and read", () => {
  it("creates the folder 0700 and the entry 0600, and reads it back", async () => {
    const s = store();
    const e = entry(KEY_A);
    s.write(e);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(s.entryPath(KEY_A))).toBe(0o600);
    expect(s.read(KEY_A)).toEqual(e);
  });

  it("stores one JSON file per key, named <hash of the key>.json, holding the whole key, ending in a newline", async () => {
    const s = store();
    const e = entry(KEY_B);
    s.write(e);
    expect(s.entryPath(KEY_B)).toBe(join(dir, `${hash64(KEY_B)}.json`));
    expect(await readdir(dir)).toEqual([`${hash64(KEY_B)}.json`]);
    const text = await readFile(s.entryPath(KEY_B), "utf8");
    expect(text).toBe(JSON.stringify(e) + "\n");
    expect((JSON.parse(text) as CacheEntry).key).toBe(KEY_B);
  });

  it("leaves no temporary file behind", async () => {
    const s = store();
    for (let i = 0; i < 5; i++) s.write(entry(KEY_A, `ghs_${i}`));
    s.write(entry(KEY_B));
    expect((await readdir(dir)).sort()).toEqual([nameOf(KEY_A), nameOf(KEY_B)].sort());
    expect(s.read(KEY_A)?.token).toBe("ghs_4");
  });

  it("replaces an existing entry and makes it 0600 even if it was looser", async () => {
    const s = store();
    s.write(entry(KEY_A, "ghs_old"));
    await chmod(s.entryPath(KEY_A), 0o644);
    s.write(entry(KEY_A, "ghs_new"));
    expect(s.read(KEY_A)?.token).toBe("ghs_new");
    expect(await modeOf(s.entryPath(KEY_A))).toBe(0o600);
  });

  it("reads a missing entry as undefined", () => {
    expect(store().read(KEY_A)).toBeUndefined();
  });

  it.each([
    ["corrupt", "{not json"],
    ["truncated", JSON.stringify(entry(KEY_A)).slice(0, 40)],
    ["empty", ""],
    ["wrong version", JSON.stringify({ ...entry(KEY_A), version: 1 })],
  ])("reads a %s file as undefined", async (_name, text) => {
    await mkdir(dir, { recursive: true });
    await writeFile(store().entryPath(KEY_A), text, { mode: 0o600 });
    expect(store().read(KEY_A)).toBeUndefined();
  });

  it("an entry written for another key is not served, even in this key's file (a hash collision)", async () => {
    const s = store();
    s.write(entry(KEY_B));
    await copyFile(s.entryPath(KEY_B), s.entryPath(KEY_A));
    await chmod(s.entryPath(KEY_A), 0o600);
    expect(s.read(KEY_A)).toBeUndefined();
    expect(s.read(KEY_B)?.key).toBe(KEY_B);
  });

  it("reads a folder in the entry's place as undefined", async () => {
    await mkdir(store().entryPath(KEY_A), { recursive: true });
    expect(store().read(KEY_A)).toBeUndefined();
  });

  it("write throws when the cache folder is a file", async () => {
    await mkdir(join(root, "cache"), { recursive: true });
    await writeFile(dir, "not a folder");
    expect(() => store().write(entry(KEY_A))).toThrow();
  });

  it.skipIf(isRoot)("write throws in a read-only folder, leaving nothing behind", async () => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o500);
    expect(() => store().write(entry(KEY_A))).toThrow();
    await chmod(dir, 0o700);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("CacheStore: what is never read", () => {
  it("a symbolic link in the entry's place is not followed", async () => {
    const s = store();
    const elsewhere = join(root, "elsewhere.json");
    await writeFile(elsewhere, JSON.stringify(entry(KEY_A)) + "\n", { mode: 0o600 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await symlink(elsewhere, s.entryPath(KEY_A));
    expect(s.read(KEY_A)).toBeUndefined();
    expect(s.list()).toEqual({ entries: [], unreadable: [{ name: nameOf(KEY_A), why: "a symbolic link" }] });
  });

  it("a FIFO in the entry's place is a miss at once: read does not wait for a writer", async () => {
    const s = store();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const fifo = s.entryPath(KEY_A);
    execFileSync("mkfifo", ["-m", "600", fifo]);
    // A writer that comes only later, and says so before it opens the FIFO (again and again, so that
    // no blocked reader stays blocked): had read() waited for a writer, the marker would exist by the
    // time it returned.
    const marker = join(root, "writer-came");
    const writer = spawn("sh", ["-c", 'sleep 2; touch "$1"; while :; do printf x > "$2"; done', "sh", marker, fifo], { stdio: "ignore" });
    try {
      expect(s.read(KEY_A)).toBeUndefined();
      expect(existsSync(marker)).toBe(false);
      expect(s.list()).toEqual({ entries: [], unreadable: [{ name: nameOf(KEY_A), why: "not a regular file" }] });
      expect(existsSync(marker)).toBe(false);
    } finally {
      writer.kill("SIGKILL");
    }
  });

  it("an entry others could read (0644) is not served, and list() says why", async () => {
    const s = store();
    s.write(entry(KEY_A));
    await chmod(s.entryPath(KEY_A), 0o644);
    expect(s.read(KEY_A)).toBeUndefined();
    expect(s.list()).toEqual({ entries: [], unreadable: [{ name: nameOf(KEY_A), why: "mode 644 is wider than 600: not served" }] });
  });

  it.each([0o640, 0o604, 0o666, 0o660])("nor one of mode %s", async (mode) => {
    const s = store();
    s.write(entry(KEY_A));
    await chmod(s.entryPath(KEY_A), mode);
    expect(s.read(KEY_A)).toBeUndefined();
  });

  it("an entry owned by someone else is not served", async () => {
    store().write(entry(KEY_A));
    const theirs = new CacheStore(dir, OTHER_UID);
    expect(theirs.read(KEY_A)).toBeUndefined();
    expect(theirs.list()).toEqual({ entries: [], unreadable: [{ name: nameOf(KEY_A), why: "not yours" }] });
  });

  it("a file over 64 KiB is not read", async () => {
    const s = store();
    s.write(entry(KEY_A, "ghs_big", { repositories: Array.from({ length: 7000 }, (_, i) => `repository-${i}`) }));
    expect((await stat(s.entryPath(KEY_A))).size).toBeGreaterThan(64 * 1024);
    expect(s.read(KEY_A)).toBeUndefined();
    expect(s.list().unreadable).toEqual([{ name: nameOf(KEY_A), why: "too large" }]);
  });

  it("with no uid (a platform without one), owners are not compared", () => {
    store().write(entry(KEY_A));
    expect(new CacheStore(dir, undefined).read(KEY_A)?.key).toBe(KEY_A);
  });
});

describe("CacheStore.removeIfToken", () => {
  it("with the matching token, removes the entry", () => {
    const s = store();
    s.write(entry(KEY_A, "ghs_one"));
    expect(s.removeIfToken(KEY_A, "ghs_one")).toBe(true);
    expect(s.read(KEY_A)).toBeUndefined();
    expect(existsSync(s.entryPath(KEY_A))).toBe(false);
  });

  it("with another token, keeps the entry", () => {
    const s = store();
    s.write(entry(KEY_A, "ghs_one"));
    expect(s.removeIfToken(KEY_A, "ghs_two")).toBe(false);
    expect(s.removeIfToken(KEY_A, "")).toBe(false);
    expect(s.removeIfToken(KEY_A, "ghs_on")).toBe(false);
    expect(s.read(KEY_A)?.token).toBe("ghs_one");
  });

  it("removes only the entry under that key", () => {
    const s = store();
    s.write(entry(KEY_A, "ghs_same"));
    s.write(entry(KEY_B, "ghs_same"));
    expect(s.removeIfToken(KEY_A, "ghs_same")).toBe(true);
    expect(s.read(KEY_B)?.token).toBe("ghs_same");
  });

  it("returns false for a missing entry", () => {
    expect(store().removeIfToken(KEY_A, "ghs_one")).toBe(false);
  });

  it("leaves a corrupt entry alone", async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(store().entryPath(KEY_A), "{corrupt");
    expect(store().removeIfToken(KEY_A, "ghs_one")).toBe(false);
    expect(await readFile(store().entryPath(KEY_A), "utf8")).toBe("{corrupt");
  });

  it("leaves another key's entry in this key's file alone, whatever its token", async () => {
    const s = store();
    s.write(entry(KEY_B, "ghs_b"));
    await copyFile(s.entryPath(KEY_B), s.entryPath(KEY_A));
    expect(s.removeIfToken(KEY_A, "ghs_b")).toBe(false);
    expect(existsSync(s.entryPath(KEY_A))).toBe(true);
  });
});

describe("CacheStore.list", () => {
  it("is empty for a missing folder", () => {
    expect(store().list()).toEqual({ entries: [], unreadable: [] });
  });

  it("lists readable entries of any key and names the unreadable entry files; nothing else is looked at", async () => {
    const s = store();
    const a = entry(KEY_A);
    const b = entry(KEY_B, "ghs_b", { owner: "acme", repositories: ["widgets"] });
    s.write(a);
    s.write(b);
    s.memo("github-app 0000").set("acme", "42");
    s.writeFailure(KEY_A, { at: 1, code: "unavailable", what: "w", hint: "h" });
    await writeFile(join(dir, "cccccccccccccccc.json"), "{corrupt", { mode: 0o600 });
    await writeFile(join(dir, "dddddddddddddddd.json"), JSON.stringify({ ...entry(KEY_A), version: 1 }), { mode: 0o600 });
    await mkdir(join(dir, `${hash64(KEY_A)}.json.lock`));
    await writeFile(join(dir, `${hash64(KEY_A)}.json.abc123.tmp`), "partial");
    await writeFile(join(dir, "README"), "x");
    await writeFile(join(dir, "notes.json"), "{corrupt");
    await writeFile(join(dir, "ABCDEF0123456789.json"), "{corrupt");
    await writeFile(join(dir, "0123456789abcdef.json.bak"), "{corrupt");

    const listed = s.list();
    const byKey = (x: CacheEntry, y: CacheEntry) => x.key.localeCompare(y.key);
    expect(listed.entries.sort(byKey)).toEqual([a, b].sort(byKey));
    expect(listed.unreadable.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: "cccccccccccccccc.json", why: "not an entry (corrupt, or from another version)" },
      { name: "dddddddddddddddd.json", why: "not an entry (corrupt, or from another version)" },
    ]);
  });
});

describe("CacheStore.clear", () => {
  it("returns nothing removed for a missing folder", () => {
    expect(store().clear()).toEqual({ removed: 0, failed: [] });
  });

  it("removes every entry, lock, failure note, memo, temporary file and the fast path's stamp, counting only the entries", async () => {
    const s = store();
    s.write(entry(KEY_A));
    s.write(entry(KEY_B));
    s.memo("github-app 0000").set("acme", "42");
    s.writeFailure(KEY_A, { at: 1, code: "unavailable", what: "w", hint: "h" });
    await mkdir(join(dir, `${hash64(KEY_A)}.json.lock`));
    await writeFile(join(dir, `${hash64(KEY_B)}.json.1x.tmp`), "partial");
    await writeFile(join(dir, `${hash64(KEY_B)}.failed.2y.tmp`), "partial");
    await writeFile(join(dir, `memo-${hash64("github-app 0000")}.json.3z.tmp`), "partial");
    // The fast path's: its stamp, and a hand-off lock a killed process left (its daemon is stopped first).
    await writeFile(join(dir, "fast.ok"), "");
    await mkdir(join(dir, "fast.sock.lock"));
    expect((await readdir(dir)).length).toBe(10);
    expect(s.clear()).toEqual({ removed: 2, failed: [] });
    expect(await readdir(dir)).toEqual([]);
  });

  it("never removes a file of another name", async () => {
    const s = store();
    s.write(entry(KEY_A));
    const others = ["README", "notes.json", "ABCDEF0123456789.json", "0123456789abcdef.json.bak", "0123456789abcdef.jsonx", "memo-github.json", "0123456789abcde.json", "x.tmp", ".hidden"];
    for (const name of others) await writeFile(join(dir, name), "keep me");
    expect(s.clear()).toEqual({ removed: 1, failed: [] });
    expect((await readdir(dir)).sort()).toEqual([...others].sort());
  });

  it("removes nothing inside a sub-folder, whatever its name, and says which it could not remove", async () => {
    const s = store();
    const asEntry = join(dir, `${hash64(KEY_A)}.json`);
    const asLock = join(dir, `${hash64(KEY_B)}.json.lock`);
    const plain = join(dir, "sub");
    for (const folder of [asEntry, asLock, plain]) {
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, "0123456789abcdef.json"), "keep me");
      await writeFile(join(folder, "README"), "keep me");
    }
    const result = s.clear();
    expect(result.removed).toBe(0);
    // unlink on a folder: EISDIR on Linux, EPERM elsewhere; rmdir of a folder with files: ENOTEMPTY.
    expect(result.failed).toHaveLength(2);
    expect(result.failed).toContainEqual(expect.stringMatching(new RegExp(`^${hash64(KEY_A)}\\.json \\((EISDIR|EPERM)\\)$`)));
    expect(result.failed).toContain(`${hash64(KEY_B)}.json.lock (ENOTEMPTY)`);
    for (const folder of [asEntry, asLock, plain]) {
      expect((await readdir(folder)).sort()).toEqual(["0123456789abcdef.json", "README"]);
    }
  });

  it("removes an empty lock folder with rmdir", async () => {
    const s = store();
    await mkdir(join(dir, `${hash64(KEY_A)}.json.lock`), { recursive: true });
    expect(s.clear()).toEqual({ removed: 0, failed: [] });
    expect(await readdir(dir)).toEqual([]);
  });

  it("never follows a link: a link named like an entry or a lock goes, what it points at stays", async () => {
    const s = store();
    const outside = join(root, "outside");
    await mkdir(join(outside, "folder"), { recursive: true });
    await writeFile(join(outside, "file.json"), "keep me");
    await writeFile(join(outside, "folder", "inner.json"), "keep me");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await symlink(join(outside, "file.json"), join(dir, `${hash64(KEY_A)}.json`));
    await symlink(join(outside, "folder"), join(dir, `${hash64(KEY_B)}.json.lock`));
    const result = s.clear();
    expect(result.failed).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(join(outside, "file.json"), "utf8")).toBe("keep me");
    expect(await readFile(join(outside, "folder", "inner.json"), "utf8")).toBe("keep me");
  });
});

describe("CacheStore.memo", () => {
  it("remembers values across instances, in memo-<hash of the name>.json, 0600", async () => {
    store().memo("github-app 1234").set("acme", "42");
    const memo = store().memo("github-app 1234");
    expect(memo.get("acme")).toBe("42");
    expect(memo.get("other")).toBeUndefined();
    const path = join(dir, `memo-${hash64("github-app 1234")}.json`);
    expect(await readdir(dir)).toEqual([basename(path)]);
    expect(await modeOf(path)).toBe(0o600);
  });

  it("a name with a slash or dots stays inside the folder", async () => {
    store().memo("../../escape").set("a", "1");
    expect(await readdir(dir)).toEqual([`memo-${hash64("../../escape")}.json`]);
    expect(await readdir(root)).toEqual(["cache"]);
  });

  it("memos of different names are apart", () => {
    store().memo("one").set("acme", "1");
    expect(store().memo("two").get("acme")).toBeUndefined();
  });

  it("keeps earlier keys when setting another", () => {
    const memo = store().memo("m");
    memo.set("a", "1");
    memo.set("b", "2");
    expect([memo.get("a"), memo.get("b")]).toEqual(["1", "2"]);
  });

  it("treats a corrupt memo as empty and never throws", async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `memo-${hash64("m")}.json`), "{corrupt");
    const memo = store().memo("m");
    expect(memo.get("a")).toBeUndefined();
    memo.set("a", "1");
    expect(memo.get("a")).toBe("1");
  });

  it("does not hand back inherited properties", () => {
    const memo = store().memo("m");
    expect(memo.get("toString")).toBeUndefined();
    expect(memo.get("__proto__")).toBeUndefined();
  });

  it("set is silent when the folder cannot be made", async () => {
    await mkdir(join(root, "cache"), { recursive: true });
    await writeFile(dir, "not a folder");
    expect(() => store().memo("m").set("a", "1")).not.toThrow();
  });
});

describe("CacheStore failure notes", () => {
  const note: FailureNote = { at: 1_800_000_000_000, code: "unauthorized", what: "the broker rejected VERS_API_KEY (HTTP 401)", hint: "check the key", status: 401 };

  it("are read back for their key, beside the entry", async () => {
    const s = store();
    s.writeFailure(KEY_A, note);
    expect(s.readFailure(KEY_A)).toEqual(note);
    expect(await readdir(dir)).toEqual([`${hash64(KEY_A)}.failed`]);
    expect(await modeOf(join(dir, `${hash64(KEY_A)}.failed`))).toBe(0o600);
  });

  it("keep the key inside, and are read back only for that key", async () => {
    const s = store();
    s.writeFailure(KEY_B, note);
    expect(s.readFailure(KEY_A)).toBeUndefined();
    await copyFile(join(dir, `${hash64(KEY_B)}.failed`), join(dir, `${hash64(KEY_A)}.failed`));
    expect(s.readFailure(KEY_A)).toBeUndefined();
    expect(s.readFailure(KEY_B)).toEqual(note);
  });

  it("a note without a status reads back without one", () => {
    const s = store();
    s.writeFailure(KEY_A, { at: 1, code: "timeout", what: "w", hint: "h" });
    expect(s.readFailure(KEY_A)).toEqual({ at: 1, code: "timeout", what: "w", hint: "h", status: undefined });
  });

  it.each([
    ["corrupt", "{corrupt"],
    ["no key", JSON.stringify({ at: 1, code: "timeout", what: "w", hint: "h" })],
    ["no time", JSON.stringify({ key: KEY_A, code: "timeout", what: "w", hint: "h" })],
    ["a numeric code", JSON.stringify({ key: KEY_A, at: 1, code: 5, what: "w", hint: "h" })],
    ["no hint", JSON.stringify({ key: KEY_A, at: 1, code: "timeout", what: "w" })],
  ])("an unreadable note (%s) is no note", async (_name, text) => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${hash64(KEY_A)}.failed`), text);
    expect(store().readFailure(KEY_A)).toBeUndefined();
  });

  it("clearFailure removes it, and is silent when there is none", () => {
    const s = store();
    s.writeFailure(KEY_A, note);
    s.clearFailure(KEY_A);
    expect(s.readFailure(KEY_A)).toBeUndefined();
    expect(() => s.clearFailure(KEY_A)).not.toThrow();
  });
});

describe("folderProblem", () => {
  it("is undefined for a folder that does not exist yet", () => {
    expect(folderProblem(dir, UID)).toBeUndefined();
  });

  it("is undefined for a private folder (0700)", async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    expect(folderProblem(dir, UID)).toBeUndefined();
  });

  it("is undefined for a folder others may read but not write (0755)", async () => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    expect(folderProblem(dir, UID)).toBeUndefined();
  });

  it.each([
    [0o777, "777"],
    [0o770, "770"],
    [0o702, "702"],
    [0o720, "720"],
  ])("reports a folder writable by group or others (mode %s)", async (mode, text) => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, mode);
    expect(folderProblem(dir, UID)).toBe(`${dir} is writable by group or others (mode ${text})`);
  });

  it("reports a file in the folder's place", async () => {
    await mkdir(join(root, "cache"), { recursive: true });
    await writeFile(dir, "x");
    expect(folderProblem(dir, UID)).toBe(`${dir} is not a folder`);
  });

  it("reports a symbolic link, even to a good private folder", async () => {
    const real = join(root, "real");
    await mkdir(real, { mode: 0o700 });
    await mkdir(join(root, "cache"), { recursive: true, mode: 0o700 });
    await symlink(real, dir);
    expect(folderProblem(dir, UID)).toBe(`${dir} is a symbolic link`);
  });

  it("reports a folder someone else owns", async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    expect(folderProblem(dir, OTHER_UID)).toBe(`${dir} is owned by uid ${UID}, not you (uid ${OTHER_UID})`);
    expect(folderProblem(dir, undefined)).toBeUndefined();
  });

  it("reports a parent folder others may write to without the sticky bit: the folder could be replaced", async () => {
    const parent = join(root, "cache");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(parent, 0o777);
    expect(folderProblem(dir, UID)).toBe(`${parent} is writable by others`);
    expect(folderProblem(join(parent, "not-yet"), UID)).toBe(`${parent} is writable by others`);
  });

  it("accepts a parent like /tmp: writable by others, but sticky", async () => {
    const parent = join(root, "cache");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(parent, 0o1777);
    expect(folderProblem(dir, UID)).toBeUndefined();
  });
});

describe("CacheStore.ensureDir checks the folder after creating it", () => {
  it("creates a missing folder 0700 and accepts it", async () => {
    store().ensureDir();
    expect(await modeOf(dir)).toBe(0o700);
  });

  it("throws for a folder that exists but is writable by others; write throws too and writes nothing", async () => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o777);
    expect(() => store().ensureDir()).toThrow(`${dir} is writable by group or others (mode 777)`);
    expect(() => store().write(entry(KEY_A))).toThrow();
    expect(await readdir(dir)).toEqual([]);
  });

  it("throws for a link in the folder's place, and writes nothing through it", async () => {
    const real = join(root, "real");
    await mkdir(real, { mode: 0o700 });
    await mkdir(join(root, "cache"), { recursive: true, mode: 0o700 });
    await symlink(real, dir);
    expect(() => store().ensureDir()).toThrow(`${dir} is a symbolic link`);
    expect(() => store().write(entry(KEY_A))).toThrow();
    expect(await readdir(real)).toEqual([]);
  });

  it("throws for a folder someone else owns", async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    expect(() => new CacheStore(dir, OTHER_UID).ensureDir()).toThrow(`${dir} is owned by uid ${UID}, not you (uid ${OTHER_UID})`);
  });

  it("throws when the parent it creates the folder in is writable by others", async () => {
    const parent = join(root, "cache");
    await mkdir(parent, { mode: 0o777 });
    await chmod(parent, 0o777);
    expect(() => store().ensureDir()).toThrow(`${parent} is writable by others`);
  });
});
