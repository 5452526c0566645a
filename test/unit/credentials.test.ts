import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findStaticToken, findVersKey, resolveSource, type SourceConfig } from "../../src/credentials";
import { HelperError } from "../../src/errors";
import { resolveSettings, type SourceName } from "../../src/settings";

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "vers-credentials-"));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function writeKeysJson(content: string): Promise<void> {
  await mkdir(join(home, ".vers"), { recursive: true });
  await writeFile(join(home, ".vers", "keys.json"), content);
}

async function writeVersrc(content: string): Promise<void> {
  await writeFile(join(home, ".versrc"), content);
}

function settingsFor(source: SourceName) {
  return resolveSettings({ source }, {});
}

function errorOf(fn: () => unknown): HelperError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HelperError);
    return err as HelperError;
  }
  throw new Error("did not throw");
}

describe("findVersKey", () => {
  it("finds nothing in an empty home", () => {
    expect(findVersKey({}, home)).toBeUndefined();
  });

  it("prefers VERS_API_KEY over both files, trimmed", async () => {
    await writeKeysJson(JSON.stringify({ keys: { VERS_API_KEY: "from-keys" } }));
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({ VERS_API_KEY: "  from-env \n" }, home)).toEqual({ value: "from-env", origin: "env VERS_API_KEY" });
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
    ["corrupt JSON", "{not json"],
    ["truncated JSON", '{"keys":{"VERS_API_KEY":"abc'],
    ["an empty file", ""],
    ["JSON null", "null"],
    ["a JSON string", '"key"'],
    ["no keys object", '{"VERS_API_KEY":"top-level"}'],
    ["a non-string key", '{"keys":{"VERS_API_KEY":12345}}'],
    ["a blank key", '{"keys":{"VERS_API_KEY":"   "}}'],
    ["keys as an array", '{"keys":["VERS_API_KEY"]}'],
  ])("ignores keys.json holding %s and goes on to ~/.versrc", async (_name, content) => {
    await writeKeysJson(content);
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({}, home)).toEqual({ value: "from-rc", origin: "~/.versrc" });
  });

  it.each([
    ["corrupt JSON", "apiKey=abc"],
    ["a non-string key", '{"apiKey":true}'],
    ["an empty key", '{"apiKey":""}'],
    ["JSON null", "null"],
  ])("ignores ~/.versrc holding %s", async (_name, content) => {
    await writeVersrc(content);
    expect(findVersKey({}, home)).toBeUndefined();
  });

  it("ignores an unreadable keys.json (a folder in its place)", async () => {
    await mkdir(join(home, ".vers", "keys.json"), { recursive: true });
    await writeVersrc(JSON.stringify({ apiKey: "from-rc" }));
    expect(findVersKey({}, home)).toEqual({ value: "from-rc", origin: "~/.versrc" });
  });

  it("ignores an unreadable ~/.versrc (a folder in its place)", async () => {
    await mkdir(join(home, ".versrc"));
    expect(findVersKey({}, home)).toBeUndefined();
  });

  it("does not fail for a home that does not exist", () => {
    expect(findVersKey({}, join(home, "missing"))).toBeUndefined();
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

describe("resolveSource", () => {
  describe("auto", () => {
    it("is the broker when a key is found", () => {
      expect(resolveSource(settingsFor("auto"), { VERS_API_KEY: "k", GITHUB_APP_ID: "1" }, home)).toEqual({
        kind: "broker",
        baseUrl: "https://vers.sh",
        apiKey: { value: "k", origin: "env VERS_API_KEY" },
      });
    });

    it("is the broker with a key from ~/.versrc, at the configured base URL", async () => {
      await writeVersrc(JSON.stringify({ apiKey: "rc" }));
      const s = resolveSettings({ baseUrl: "http://127.0.0.1:9999" }, {});
      expect(resolveSource(s, {}, home)).toEqual({ kind: "broker", baseUrl: "http://127.0.0.1:9999", apiKey: { value: "rc", origin: "~/.versrc" } });
    });

    it("is the github-app when there is no key but GITHUB_APP_ID", () => {
      const env = { GITHUB_APP_ID: " 123 " };
      expect(resolveSource(settingsFor("auto"), env, home)).toEqual({
        kind: "github-app",
        apiUrl: "https://api.github.com",
        appId: "123",
        installationId: undefined,
        env,
        homedir: home,
      });
    });

    it("is a clear no-key error when neither is there, naming VERS_API_KEY", () => {
      const err = errorOf(() => resolveSource(settingsFor("auto"), { GITHUB_TOKEN: "static-is-not-auto" }, home));
      expect(err.code).toBe("no-key");
      expect(err.message).toBe(
        "no Vers API key was found (set VERS_API_KEY or write it to ~/.vers/keys.json; for a GitHub App set GITHUB_APP_ID and its private key)",
      );
    });
  });

  describe("broker", () => {
    it("uses the key", () => {
      expect(resolveSource(settingsFor("broker"), { VERS_API_KEY: "k" }, home)).toMatchObject({ kind: "broker", apiKey: { value: "k" } });
    });

    it("does not fall back to the github-app", () => {
      const err = errorOf(() => resolveSource(settingsFor("broker"), { GITHUB_APP_ID: "1" }, home));
      expect(err.code).toBe("no-key");
      expect(err.message).toBe("no Vers API key was found (set VERS_API_KEY or write it to ~/.vers/keys.json)");
      expect(err.message).toContain("VERS_API_KEY");
    });
  });

  describe("github-app", () => {
    it("ignores a Vers key", () => {
      const env = { VERS_API_KEY: "k", GITHUB_APP_ID: "7", GITHUB_INSTALLATION_ID: "42", GITHUB_API_URL: "https://ghe.example.com/api/v3/" };
      expect(resolveSource(settingsFor("github-app"), env, home)).toEqual({
        kind: "github-app",
        apiUrl: "https://ghe.example.com/api/v3",
        appId: "7",
        installationId: "42",
        env,
        homedir: home,
      });
    });

    it("keeps api. in GITHUB_API_URL", () => {
      const source = resolveSource(settingsFor("github-app"), { GITHUB_APP_ID: "7", GITHUB_API_URL: "https://api.github.com/" }, home);
      expect(source).toMatchObject({ kind: "github-app", apiUrl: "https://api.github.com" });
    });

    it("a blank GITHUB_INSTALLATION_ID is left out", () => {
      const source = resolveSource(settingsFor("github-app"), { GITHUB_APP_ID: "7", GITHUB_INSTALLATION_ID: " " }, home);
      expect((source as Extract<SourceConfig, { kind: "github-app" }>).installationId).toBeUndefined();
    });

    it("refuses a plain-http GITHUB_API_URL", () => {
      const err = errorOf(() => resolveSource(settingsFor("github-app"), { GITHUB_APP_ID: "7", GITHUB_API_URL: "http://ghe.example.com/api/v3" }, home));
      expect(err.code).toBe("bad-setting");
      expect(err.what).toBe("GITHUB_API_URL must use https (got http://ghe.example.com)");
    });

    it("without GITHUB_APP_ID is a no-key error", () => {
      const err = errorOf(() => resolveSource(settingsFor("github-app"), { VERS_API_KEY: "k", GITHUB_APP_ID: "  " }, home));
      expect(err.code).toBe("no-key");
      expect(err.message).toBe("GITHUB_APP_ID is not set (set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for the github-app source)");
    });
  });

  describe("static", () => {
    it("uses GITHUB_TOKEN, then GH_TOKEN, even with a Vers key", () => {
      expect(resolveSource(settingsFor("static"), { VERS_API_KEY: "k", GITHUB_TOKEN: "gt", GH_TOKEN: "gh" }, home)).toEqual({
        kind: "static",
        token: { value: "gt", origin: "env GITHUB_TOKEN" },
      });
      expect(resolveSource(settingsFor("static"), { GH_TOKEN: "gh" }, home)).toEqual({ kind: "static", token: { value: "gh", origin: "env GH_TOKEN" } });
    });

    it("without a token is a no-key error", () => {
      const err = errorOf(() => resolveSource(settingsFor("static"), { VERS_API_KEY: "k" }, home));
      expect(err.code).toBe("no-key");
      expect(err.message).toBe("no static token is set (set GITHUB_TOKEN or GH_TOKEN)");
    });
  });
});
