/** The grants file: where it is, how it is checked (like the cache folder), and read-modify-write under its lock. */
import { execFileSync } from "node:child_process";
import { chmod, chown, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { grantsFile, readGrants, updateGrants, type GrantsFile } from "../../src/grants/file";
import { putGrant, type Grant } from "../../src/grants/grant";
import { fakeIo, type FakeIo } from "./fake-io";

const ENDPOINT = "https://mcp.example/repo-grant/token";
const grant = (repository: string, id: string, secret = "SecretSecret01"): Grant => ({ repository, refreshToken: { value: `ghr_${id}.${secret}`, origin: "~/.vers/grants.json" }, tokenEndpoint: ENDPOINT });
const stored = (g: Grant) => ({ repository: g.repository, refresh_token: g.refreshToken.value, token_endpoint: g.tokenEndpoint });

let io: FakeIo;
afterEach(async () => io?.cleanup());

async function fileWith(content: unknown, mode = 0o600): Promise<GrantsFile> {
  io = await fakeIo();
  const file = grantsFile(io)!;
  await mkdir(join(io.homedir, ".vers"), { recursive: true, mode: 0o700 });
  await writeFile(file.path, typeof content === "string" ? content : JSON.stringify(content), { mode });
  await chmod(file.path, mode);
  return file;
}

function problem(file: GrantsFile, uid = io.uid): string {
  try {
    readGrants(file, uid);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("read without a problem");
}

describe("grantsFile", () => {
  it("is ~/.vers/grants.json, or VERS_GRANTS_FILE; none when HOME is not absolute; a relative VERS_GRANTS_FILE is refused", async () => {
    io = await fakeIo();
    expect(grantsFile(io)).toEqual({ path: join(io.homedir, ".vers", "grants.json"), shown: "~/.vers/grants.json" });
    expect(grantsFile({ env: { VERS_GRANTS_FILE: "/etc/vers/grants.json" }, homedir: "" })).toEqual({ path: "/etc/vers/grants.json", shown: "/etc/vers/grants.json" });
    expect(grantsFile({ env: {}, homedir: "relative/home" })).toBeUndefined();
    expect(() => grantsFile({ env: { VERS_GRANTS_FILE: "grants.json" }, homedir: "/home/u" })).toThrow(/VERS_GRANTS_FILE "grants.json" is not an absolute path/);
  });
});

describe("readGrants", () => {
  it("reads every grant; a missing file holds none", async () => {
    const file = await fileWith({ grants: [stored(grant("acme/a", "A")), { ...stored(grant("acme/b", "B")), client_id: "Iv1" }] });
    expect(readGrants(file, io.uid)).toEqual([grant("acme/a", "A"), { ...grant("acme/b", "B"), clientId: "Iv1" }]);
    expect(readGrants({ path: join(io.homedir, "none.json"), shown: "x" }, io.uid)).toEqual([]);
  });

  it.each([
    ["readable by others", 0o644, /is readable or writable by group or others \(mode 644\), so its grants are not used \(run chmod 600 .*grants\.json\)/],
    ["readable by the group", 0o640, /mode 640/],
  ])("refuses a file %s, naming it and chmod 600", async (_name, mode, message) => {
    const file = await fileWith({ grants: [] }, mode);
    expect(problem(file)).toMatch(message);
    expect(problem(file)).toContain(`the grants file ~/.vers/grants.json (${file.path})`);
  });

  it("refuses a folder owned by someone else", async () => {
    const file = await fileWith({ grants: [] });
    expect(problem(file, 4242)).toMatch(/is in a folder that cannot be trusted: .* is owned by uid \d+, not you \(uid 4242\)/);
  });

  // Only root can hand the folder to another user to see the file's own check.
  it.runIf(process.getuid?.() === 0)("refuses a file owned by someone else", async () => {
    const file = await fileWith({ grants: [] });
    await chown(join(io.homedir, ".vers"), 4242, 4242);
    expect(problem(file, 4242)).toMatch(/is not owned by you/);
  });

  it("refuses a symbolic link, a FIFO and a file over 64 KiB", async () => {
    const file = await fileWith({ grants: [] });
    const target = join(io.homedir, "real.json");
    await writeFile(target, JSON.stringify({ grants: [] }), { mode: 0o600 });
    const link = { path: join(io.homedir, ".vers", "link.json"), shown: "link" };
    await symlink(target, link.path);
    expect(problem(link)).toMatch(/is a symbolic link/);
    const fifo = { path: join(io.homedir, ".vers", "fifo.json"), shown: "fifo" };
    execFileSync("mkfifo", ["-m", "600", fifo.path]);
    expect(problem(fifo)).toMatch(/is not a regular file/);
    await writeFile(file.path, " ".repeat(65 * 1024), { mode: 0o600 });
    expect(problem(file)).toMatch(/is over 64 KiB/);
  });

  it("refuses a folder writable by others", async () => {
    const file = await fileWith({ grants: [] });
    await chmod(join(io.homedir, ".vers"), 0o777);
    expect(problem(file)).toMatch(/is in a folder that cannot be trusted: .* is writable by group or others \(mode 777\)/);
  });

  it.each([
    ["not JSON", "{", /is not JSON/],
    ["no grants list", { grant: [] }, /has no "grants" list/],
    ["a bad grant", { grants: [stored(grant("acme/a", "A")), { repository: "acme/b", refresh_token: "ghr_x.SecretSecret01" }] }, /has a bad grant \(number 2\): it has no token endpoint/],
  ])("refuses a file with %s", async (_name, content, message) => {
    expect(problem(await fileWith(content))).toMatch(message);
  });
});

describe("updateGrants", () => {
  it("creates ~/.vers 0700 and the file 0600, atomically", async () => {
    io = await fakeIo();
    const file = await updateGrants(io, (grants) => putGrant(grants, grant("acme/a", "A")).grants);
    expect((await stat(join(io.homedir, ".vers"))).mode & 0o777).toBe(0o700);
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file.path, "utf8"))).toEqual({ grants: [stored(grant("acme/a", "A"))] });
  });

  it("two processes changing different grants at once keep both changes", async () => {
    io = await fakeIo();
    const ios = [io, { ...io }, { ...io }];
    await Promise.all(ios.map((each, i) => updateGrants(each, (grants) => putGrant(grants, grant(`acme/r${i}`, `G${i}`)).grants)));
    expect(readGrants(grantsFile(io)!, io.uid).map((g) => g.repository).sort()).toEqual(["acme/r0", "acme/r1", "acme/r2"]);
  });

  it("writes nothing when the file cannot be trusted", async () => {
    const file = await fileWith({ grants: [] }, 0o644);
    await expect(updateGrants(io, (grants) => putGrant(grants, grant("acme/a", "A")).grants)).rejects.toThrow(/chmod 600/);
    expect(await readFile(file.path, "utf8")).toBe('{"grants":[]}');
  });
});

describe("putGrant: one grant per repository", () => {
  it("replaces the grant for the same repository (any case) or grant id in its place, else appends", () => {
    const list = [grant("acme/a", "A"), grant("acme/b", "B"), grant("acme/c", "C")];
    expect(putGrant(list, grant("ACME/B", "B2"))).toEqual({ grants: [list[0], grant("ACME/B", "B2"), list[2]], replaced: list[1] });
    expect(putGrant(list, grant("acme/b", "B", "RotatedSecret1")).grants.map((g) => g.refreshToken.value)).toEqual(["ghr_A.SecretSecret01", "ghr_B.RotatedSecret1", "ghr_C.SecretSecret01"]);
    expect(putGrant(list, grant("acme/d", "D"))).toEqual({ grants: [...list, grant("acme/d", "D")] });
  });
});
