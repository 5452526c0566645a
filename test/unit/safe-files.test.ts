/** The pieces the cache and the grants file share: the no-follow bounded read, the atomic 0600 replace, dropping one source's entries. */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keySourceIdentity, scopeKey } from "../../src/cache/key";
import { CacheStore } from "../../src/cache/store";
import { readOwnFile, replaceFile } from "../../src/safe-files";

let dir: string;
const uid = process.getuid?.();
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vers-safe-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("readOwnFile", () => {
  it("reads a regular file of ours, with its mode", async () => {
    await writeFile(join(dir, "f"), "hello", { mode: 0o640 });
    expect(readOwnFile(join(dir, "f"), uid)).toEqual({ text: "hello", mode: (await stat(join(dir, "f"))).mode });
  });

  it.each([
    ["missing", async () => join(dir, "none")],
    ["a symbolic link", async () => (await writeFile(join(dir, "t"), "x"), await symlink(join(dir, "t"), join(dir, "l")), join(dir, "l"))],
    ["not a regular file", async () => (execFileSync("mkfifo", [join(dir, "p")]), join(dir, "p"))],
    ["too large", async () => (await writeFile(join(dir, "big"), "x".repeat(11)), join(dir, "big"))],
  ])("says %s", async (problem, make) => {
    expect(readOwnFile(await make(), uid, 10)).toEqual({ problem });
  });

  it("says not yours for another owner's file", async () => {
    await writeFile(join(dir, "f"), "x");
    expect(readOwnFile(join(dir, "f"), (uid ?? 0) + 1)).toEqual({ problem: "not yours" });
  });
});

describe("replaceFile", () => {
  it("replaces the file 0600 and leaves no temporary file", async () => {
    await writeFile(join(dir, "f"), "old", { mode: 0o644 });
    replaceFile(join(dir, "f"), "new");
    expect(readOwnFile(join(dir, "f"), uid)).toMatchObject({ text: "new" });
    expect((await stat(join(dir, "f"))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["f"]);
  });
});

describe("CacheStore.removeEntries", () => {
  it("removes the entries of one source identity, and their failure notes, and nothing else", async () => {
    const store = new CacheStore(join(dir, "cache"), uid);
    const scope = { host: "github.com", owner: "acme", repositories: ["a"] };
    const mine = scopeKey("grant https://x/token ghr_A", scope);
    const theirs = scopeKey("grant https://x/token ghr_B", scope);
    for (const key of [mine, theirs]) store.write({ version: 2, key, host: "github.com", repositories: ["a"], token: "ghs_x", expiresAt: 1e13, mintedAt: 0, source: "grant" });
    store.writeFailure(mine, { at: 0, code: "invalid-grant", what: "w", hint: "h" });
    expect(keySourceIdentity(mine)).toBe("grant https://x/token ghr_A");
    expect(store.removeEntries((key) => keySourceIdentity(key) === "grant https://x/token ghr_A")).toBe(1);
    expect(store.read(mine)).toBeUndefined();
    expect(store.readFailure(mine)).toBeUndefined();
    expect(store.read(theirs)?.token).toBe("ghs_x");
    expect(keySourceIdentity("not json")).toBeUndefined();
  });
});
