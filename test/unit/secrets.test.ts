import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appKeyOrigin, findStaticToken, findVersKey, homeFile, secretsIn } from "../../src/secrets";
import { errorOf } from "./expect-error";

const isRoot = process.getuid?.() === 0;

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "vers-secrets-"));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function writeKeysJson(content: string | Buffer): Promise<string> {
  await mkdir(join(home, ".vers"), { recursive: true });
  const path = join(home, ".vers", "keys.json");
  await writeFile(path, content);
  return path;
}

async function writeVersrc(content: string): Promise<string> {
  const path = join(home, ".versrc");
  await writeFile(path, content);
  return path;
}

describe("findVersKey: where the key is found", () => {
  it("finds nothing in an empty home", () => {
    expect(findVersKey({}, home)).toBeUndefined();
  });

  it("prefers VERS_API_KEY over both files, trimmed", async () => {
    await writeKeysJson(JSON.stringify({ keys: { VERS_API_KEY: "from-keys" } }));
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({ VERS_API_KEY: "  from-env \n" }, home)).toEqual({ value: "from-env", origin: "env VERS_API_KEY" });
  });

  it("VERS_API_KEY wins even over a key file that is not JSON (the file is not read)", async () => {
    await writeKeysJson("{not json");
    expect(findVersKey({ VERS_API_KEY: "from-env" }, home)).toEqual({ value: "from-env", origin: "env VERS_API_KEY" });
  });

  it("then ~/.vers/keys.json over ~/.versrc", async () => {
    await writeKeysJson(JSON.stringify({ keys: { VERS_API_KEY: " from-keys " } }));
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({}, home)).toEqual({ value: "from-keys", origin: "~/.vers/keys.json" });
  });

  it("then ~/.versrc", async () => {
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({}, home)).toEqual({ value: "from-rc", origin: "~/.versrc" });
  });

  it.each(["", "   ", "\n"])("an empty VERS_API_KEY (%j) does not count", async (value) => {
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({ VERS_API_KEY: value }, home)).toEqual({ value: "from-rc", origin: "~/.versrc" });
  });

  it.each([
    ["JSON null", "null"],
    ["a JSON string", '"key"'],
    ["no keys object", '{"VERS_API_KEY":"top-level"}'],
    ["a non-string key", '{"keys":{"VERS_API_KEY":12345}}'],
    ["a blank key", '{"keys":{"VERS_API_KEY":"   "}}'],
    ["keys as an array", '{"keys":["VERS_API_KEY"]}'],
  ])("keys.json holding JSON without the key (%s) falls through to ~/.versrc", async (_name, content) => {
    await writeKeysJson(content);
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({}, home)).toEqual({ value: "from-rc", origin: "~/.versrc" });
  });

  it.each([
    ["a non-string key", '{"apiKey":true}'],
    ["an empty key", '{"apiKey":""}'],
    ["JSON null", "null"],
    ["another field", '{"key":"abc"}'],
  ])("~/.versrc holding JSON without the key (%s) finds nothing", async (_name, content) => {
    await writeVersrc(content);
    expect(findVersKey({}, home)).toBeUndefined();
  });

  it("a home that does not exist is skipped (ENOENT)", () => {
    expect(findVersKey({}, join(home, "missing"))).toBeUndefined();
  });

  it("a ~/.vers that is a file is skipped (ENOTDIR), and ~/.versrc still read", async () => {
    await writeFile(join(home, ".vers"), "not a folder");
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({}, home)).toEqual({ value: "from-rc", origin: "~/.versrc" });
  });
});

describe("findVersKey: a key file that exists but cannot be used is an error naming it", () => {
  it.each([
    ["corrupt JSON", "{not json"],
    ["truncated JSON", '{"keys":{"VERS_API_KEY":"abc'],
    ["an empty file", ""],
  ])("keys.json holding %s: bad-setting, not a fall-through to ~/.versrc", async (_name, content) => {
    const path = await writeKeysJson(content);
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    const err = errorOf(() => findVersKey({}, home));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(`~/.vers/keys.json (${path}) is not JSON`);
    expect(err.hint).toBe('fix or remove ~/.vers/keys.json; it should look like {"keys":{"VERS_API_KEY":"…"}}');
  });

  it("a ~/.versrc that is not JSON: bad-setting naming it, with its own example", async () => {
    const path = await writeVersrc("apiKey=abc");
    const err = errorOf(() => findVersKey({}, home));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(`~/.versrc (${path}) is not JSON`);
    expect(err.hint).toBe('fix or remove ~/.versrc; it should look like {"apiKey":"…"}');
  });

  it("a folder in keys.json's place: cannot be read (EISDIR)", async () => {
    const path = join(home, ".vers", "keys.json");
    await mkdir(path, { recursive: true });
    const err = errorOf(() => findVersKey({}, home));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(`~/.vers/keys.json (${path}) cannot be read (EISDIR)`);
    expect(err.hint).toBe("fix or remove ~/.vers/keys.json");
  });

  it("a folder in ~/.versrc's place: cannot be read (EISDIR)", async () => {
    await mkdir(join(home, ".versrc"));
    expect(errorOf(() => findVersKey({}, home)).what).toBe(`~/.versrc (${join(home, ".versrc")}) cannot be read (EISDIR)`);
  });

  it.each([
    ["keys.json", [".vers", "keys.json"]],
    ["~/.versrc", [".versrc"]],
  ])("a FIFO in %s's place: cannot be read (not a regular file), at once: nothing waits for a writer", async (_name, parts) => {
    const path = join(home, ...parts);
    await mkdir(join(home, ".vers"), { recursive: true });
    execFileSync("mkfifo", ["-m", "600", path]);
    expect(errorOf(() => findVersKey({}, home)).what).toBe(`~/${parts.join("/")} (${path}) cannot be read (not a regular file)`);
  });

  it("a keys.json that is a link to a regular file is read (dotfiles are often links)", async () => {
    const real = join(home, "dotfiles-keys.json");
    await writeFile(real, JSON.stringify({ keys: { VERS_API_KEY: "from-link" } }));
    await mkdir(join(home, ".vers"), { recursive: true });
    await symlink(real, join(home, ".vers", "keys.json"));
    expect(findVersKey({}, home)).toEqual({ value: "from-link", origin: "~/.vers/keys.json" });
  });

  it("a keys.json over 64 KiB is not read", async () => {
    const path = await writeKeysJson(JSON.stringify({ keys: { VERS_API_KEY: "k" }, pad: "x".repeat(64 * 1024) }));
    expect(errorOf(() => findVersKey({}, home)).what).toBe(`~/.vers/keys.json (${path}) cannot be read (over 64 KiB)`);
  });

  it.skipIf(isRoot)("an unreadable keys.json (mode 000): cannot be read (EACCES)", async () => {
    const path = await writeKeysJson(JSON.stringify({ keys: { VERS_API_KEY: "k" } }));
    await chmod(path, 0o000);
    expect(errorOf(() => findVersKey({}, home)).what).toBe(`~/.vers/keys.json (${path}) cannot be read (EACCES)`);
  });

  it("the error never holds the file's content", async () => {
    await writeKeysJson('{"keys":{"VERS_API_KEY":"vers_live_SECRET_in_a_broken_file"');
    const err = errorOf(() => findVersKey({}, home));
    expect(err.message).not.toContain("SECRET");
  });
});

describe("findVersKey: a HOME that is not an absolute path", () => {
  it.each(["", "relative"])("HOME %j: no file is read", (homedir) => {
    expect(findVersKey({}, homedir)).toBeUndefined();
  });

  it("a relative HOME naming a folder that holds a valid keys.json: still not read", async () => {
    await writeKeysJson(JSON.stringify({ keys: { VERS_API_KEY: "from-keys" } }));
    const rel = relative(process.cwd(), home);
    expect(rel.startsWith("/")).toBe(false);
    expect(findVersKey({}, rel)).toBeUndefined();
    expect(findVersKey({}, home)).toEqual({ value: "from-keys", origin: "~/.vers/keys.json" });
  });

  it("a relative HOME holding a broken keys.json: not read, so no error either", async () => {
    await writeKeysJson("{not json");
    expect(findVersKey({}, relative(process.cwd(), home))).toBeUndefined();
  });
});

describe("homeFile", () => {
  it.each<[string, string[], string | undefined]>([
    ["/home/u", [".versrc"], "/home/u/.versrc"],
    ["/home/u", [".vers", "keys.json"], "/home/u/.vers/keys.json"],
    ["/home/u/", [".versrc"], "/home/u/.versrc"],
    ["", [".versrc"], undefined],
    [".", [".versrc"], undefined],
    ["home/u", [".versrc"], undefined],
    ["~", [".versrc"], undefined],
  ])("%j + %j → %j", (homedir, parts, want) => {
    expect(homeFile(homedir, ...parts)).toBe(want);
  });
});

describe("findStaticToken", () => {
  it.each([
    [{}, undefined],
    [{ GITHUB_TOKEN: "gt" }, { value: "gt", origin: "env GITHUB_TOKEN" }],
    [{ GH_TOKEN: "gh" }, { value: "gh", origin: "env GH_TOKEN" }],
    [{ GITHUB_TOKEN: "gt", GH_TOKEN: "gh" }, { value: "gt", origin: "env GITHUB_TOKEN" }],
    [{ GITHUB_TOKEN: "  ", GH_TOKEN: " gh " }, { value: "gh", origin: "env GH_TOKEN" }],
    [{ GITHUB_TOKEN: "", GH_TOKEN: "" }, undefined],
  ])("%j → %j", (env, want) => {
    expect(findStaticToken(env)).toEqual(want);
  });
});

describe("appKeyOrigin", () => {
  it.each<[Record<string, string>, string | undefined]>([
    [{}, undefined],
    [{ GITHUB_APP_PRIVATE_KEY: "pem" }, "env GITHUB_APP_PRIVATE_KEY"],
    [{ GITHUB_APP_PRIVATE_KEY_B64: "b64" }, "env GITHUB_APP_PRIVATE_KEY_B64"],
    [{ GITHUB_APP_PRIVATE_KEY_FILE: "~/app.pem" }, "env GITHUB_APP_PRIVATE_KEY_FILE"],
    [{ GITHUB_APP_PRIVATE_KEY: " ", GITHUB_APP_PRIVATE_KEY_FILE: "~/app.pem" }, "env GITHUB_APP_PRIVATE_KEY_FILE"],
    [{ GITHUB_APP_PRIVATE_KEY: "pem", GITHUB_APP_PRIVATE_KEY_B64: "b64", GITHUB_APP_PRIVATE_KEY_FILE: "f" }, "env GITHUB_APP_PRIVATE_KEY"],
  ])("%j → %j", (env, want) => {
    expect(appKeyOrigin(env)).toBe(want);
  });
});

describe("secretsIn: the values never shown", () => {
  it("every secret variable of 8 characters or more, trimmed", () => {
    const env = {
      VERS_API_KEY: " vers_live_key1 ",
      GITHUB_TOKEN: "ghp_token_two",
      GH_TOKEN: "gho_token_three",
      VERS_REFRESH_TOKEN: "refresh_token_4",
      GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----x",
      GITHUB_APP_PRIVATE_KEY_B64: "LS0tLS1CRUdJTg==",
      GITHUB_APP_ID: "12345678",
      HOME: "/home/someone",
    };
    expect(secretsIn(env).sort()).toEqual(
      ["vers_live_key1", "ghp_token_two", "gho_token_three", "refresh_token_4", "-----BEGIN RSA PRIVATE KEY-----x", "LS0tLS1CRUdJTg=="].sort(),
    );
  });

  it("drops values under 8 characters: hiding them would mangle ordinary text", () => {
    expect(secretsIn({ VERS_API_KEY: "1234567", GITHUB_TOKEN: "12345678" })).toEqual(["12345678"]);
  });

  it.each([
    ["redis://:redis-password@cache:6379", ["redis-password"]],
    ["rediss://user:redis-password@cache:6380/0", ["redis-password"]],
    ["redis://user:short@cache", []],
    ["redis://cache:6379", []],
    // Not a Redis URL (unusable), but its credentials are still hidden: whatever stands before the last "@".
    ["https://user:redis-password@cache", ["user:redis-password", "redis-password"]],
    // A password holding "/" or "#" (issue 15, item 8), which a URL parser takes for a path or a fragment.
    ["redis://default:/Zk9p-redis-s3cret@cache:6379/0", ["/Zk9p-redis-s3cret"]],
    ["redis://default:12#redis-s3cret@cache:6379", ["12#redis-s3cret"]],
  ])("VERS_REDIS_URL %s → %j", (url, want) => {
    expect(secretsIn({ VERS_REDIS_URL: url })).toEqual(want);
  });
});
