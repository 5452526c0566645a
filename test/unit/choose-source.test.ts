import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { apiHost, chooseSource, hostRefusal, servedHost, type SourceConfig } from "../../src/choose-source";
import { runGitAction } from "../../src/commands/git";
import { resolveSettings, type SourceName } from "../../src/settings";
import { errorOf } from "./expect-error";
import { fakeIo, type FakeIo } from "./fake-io";

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "vers-source-"));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function settingsFor(source: SourceName) {
  return resolveSettings({ source }, {});
}

function choose(source: SourceName, env: Record<string, string>, homedir = home): SourceConfig {
  return chooseSource(settingsFor(source), { env, homedir, uid: process.getuid?.() });
}

/** FNV-1a 64 of the keys used below, computed outside this code base (known answers, not recomputed here). */
const FNV = { k: "af63e64c8601fd8a", rc: "08dc5507b57b9942", "key-one": "ce3e3ab44e25f411" };

describe("chooseSource: auto", () => {
  it("is the broker when a key is found, its identity naming the base URL and a hash of the key", () => {
    expect(choose("auto", { VERS_API_KEY: "k", GITHUB_APP_ID: "1" })).toEqual({
      kind: "broker",
      identity: `broker https://vers.sh ${FNV.k}`,
      baseUrl: "https://vers.sh",
      apiKey: { value: "k", origin: "env VERS_API_KEY" },
    });
  });

  it("is the broker with a key from ~/.versrc, at the configured base URL", async () => {
    await writeFile(join(home, ".versrc"), JSON.stringify({ apiKey: "rc" }));
    const s = resolveSettings({ baseUrl: "http://127.0.0.1:9999" }, {});
    expect(chooseSource(s, { env: {}, homedir: home, uid: process.getuid?.() })).toEqual({
      kind: "broker",
      identity: `broker http://127.0.0.1:9999 ${FNV.rc}`,
      baseUrl: "http://127.0.0.1:9999",
      apiKey: { value: "rc", origin: "~/.versrc" },
    });
  });

  it.each(["vers_key\nX-Injected: 1", "vers\rkey", "vers\u0000key", "vers\u001bkey"])("refuses a key holding a control character (%j), naming where it came from, never the key", (value) => {
    const err = errorOf(() => choose("auto", { VERS_API_KEY: value }));
    expect(err.code).toBe("bad-setting");
    expect(err.message).toBe("the Vers API key from env VERS_API_KEY holds a control character (a newline, CR, NUL or the like) (set VERS_API_KEY to the key alone)");
  });

  it.each([
    ["\u201cvers_key\u201d", "U+201C"],
    ["vers_k\u00e9y", "U+00E9"],
    ["vers\u2028key", "U+2028"],
    ["vers_key😀", "U+1F600"],
  ])("refuses a key holding a character that is not ASCII (%j), naming it by its code point", (value, code) => {
    const err = errorOf(() => choose("auto", { VERS_API_KEY: value }));
    expect(err.code).toBe("bad-setting");
    expect(err.message).toBe(`the Vers API key from env VERS_API_KEY holds a character that is not ASCII (${code}), so it cannot be sent (set VERS_API_KEY to the key alone, without quotes)`);
  });

  it("the same for a key from ~/.vers/keys.json", async () => {
    await mkdir(join(home, ".vers"));
    await writeFile(join(home, ".vers", "keys.json"), JSON.stringify({ keys: { VERS_API_KEY: "vers_key\nmore" } }));
    expect(errorOf(() => choose("broker", {})).message).toBe("the Vers API key from ~/.vers/keys.json holds a control character (a newline, CR, NUL or the like) (write the key alone in ~/.vers/keys.json)");
  });

  it("is the github-app when there is no key but GITHUB_APP_ID", () => {
    const env = { GITHUB_APP_ID: " 123 " };
    expect(choose("auto", env)).toEqual({
      kind: "github-app",
      identity: "github-app https://api.github.com 123 auto",
      apiUrl: "https://api.github.com",
      appId: "123",
      installationId: undefined,
      env,
      homedir: home,
    });
  });

  it("a keys.json that is not JSON is an error, even with GITHUB_APP_ID set: no silent switch of source", async () => {
    await mkdir(join(home, ".vers"));
    await writeFile(join(home, ".vers", "keys.json"), "{not json");
    const err = errorOf(() => choose("auto", { GITHUB_APP_ID: "7" }));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toMatch(/^~\/\.vers\/keys\.json \(.*\) is not JSON$/);
  });

  it("is a clear no-key error when neither is there, naming VERS_API_KEY", () => {
    const err = errorOf(() => choose("auto", { GITHUB_TOKEN: "static-is-not-auto" }));
    expect(err.code).toBe("no-key");
    expect(err.message).toBe(
      "no Vers API key was found (set VERS_API_KEY or write it to ~/.vers/keys.json; for a refresh grant use git-credential-vers grant add; for a GitHub App set GITHUB_APP_ID and its private key)",
    );
  });

  it.each(["", "relative/home"])("with HOME %j the error says why the key files were not read", async (homedir) => {
    const err = errorOf(() => choose("auto", {}, homedir));
    expect(err.what).toBe("no Vers API key was found (HOME is not an absolute path, so ~/.vers/keys.json was not read)");
  });
});

describe("chooseSource: broker", () => {
  it("uses the key", () => {
    expect(choose("broker", { VERS_API_KEY: "k" })).toMatchObject({ kind: "broker", apiKey: { value: "k" } });
  });

  it("does not fall back to the github-app", () => {
    const err = errorOf(() => choose("broker", { GITHUB_APP_ID: "1" }));
    expect(err.code).toBe("no-key");
    expect(err.message).toBe("no Vers API key was found (set VERS_API_KEY or write it to ~/.vers/keys.json)");
  });

  it("with HOME not absolute, says so", () => {
    const err = errorOf(() => choose("broker", {}, ""));
    expect(err.what).toBe("no Vers API key was found (HOME is not an absolute path, so ~/.vers/keys.json was not read)");
  });
});

describe("chooseSource: github-app", () => {
  it("ignores a Vers key", () => {
    const env = { VERS_API_KEY: "k", GITHUB_APP_ID: "7", GITHUB_INSTALLATION_ID: "42", GITHUB_API_URL: "https://ghe.example.com/api/v3/" };
    expect(choose("github-app", env)).toEqual({
      kind: "github-app",
      identity: "github-app https://ghe.example.com/api/v3 7 42",
      apiUrl: "https://ghe.example.com/api/v3",
      appId: "7",
      installationId: "42",
      env,
      homedir: home,
    });
  });

  it("does not read the key files at all (a broken keys.json does not matter)", async () => {
    await mkdir(join(home, ".vers"));
    await writeFile(join(home, ".vers", "keys.json"), "{not json");
    expect(choose("github-app", { GITHUB_APP_ID: "7" })).toMatchObject({ kind: "github-app", appId: "7" });
  });

  it("keeps api. in GITHUB_API_URL", () => {
    expect(choose("github-app", { GITHUB_APP_ID: "7", GITHUB_API_URL: "https://api.github.com/" })).toMatchObject({ kind: "github-app", apiUrl: "https://api.github.com" });
  });

  it("a blank GITHUB_INSTALLATION_ID is left out, and the identity says auto", () => {
    const source = choose("github-app", { GITHUB_APP_ID: "7", GITHUB_INSTALLATION_ID: " " });
    expect(source).toMatchObject({ installationId: undefined, identity: "github-app https://api.github.com 7 auto" });
  });

  it("refuses a plain-http GITHUB_API_URL", () => {
    const err = errorOf(() => choose("github-app", { GITHUB_APP_ID: "7", GITHUB_API_URL: "http://ghe.example.com/api/v3" }));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe("GITHUB_API_URL must use https (got http://ghe.example.com)");
  });

  it("refuses a GITHUB_API_URL with a query", () => {
    const err = errorOf(() => choose("github-app", { GITHUB_APP_ID: "7", GITHUB_API_URL: "https://ghe.example.com/api/v3?x" }));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe('GITHUB_API_URL must not have a query or fragment (got "https://ghe.example.com/api/v3?x")');
  });

  it("without GITHUB_APP_ID is a no-key error", () => {
    const err = errorOf(() => choose("github-app", { VERS_API_KEY: "k", GITHUB_APP_ID: "  " }));
    expect(err.code).toBe("no-key");
    expect(err.message).toBe("GITHUB_APP_ID is not set (set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for the github-app source)");
  });
});

describe("chooseSource: static", () => {
  it("uses GITHUB_TOKEN, then GH_TOKEN, even with a Vers key", () => {
    expect(choose("static", { VERS_API_KEY: "k", GITHUB_TOKEN: "gt", GH_TOKEN: "gh" })).toEqual({ kind: "static", token: { value: "gt", origin: "env GITHUB_TOKEN" } });
    expect(choose("static", { GH_TOKEN: "gh" })).toEqual({ kind: "static", token: { value: "gh", origin: "env GH_TOKEN" } });
  });

  it("without a token is a no-key error", () => {
    const err = errorOf(() => choose("static", { VERS_API_KEY: "k" }));
    expect(err.code).toBe("no-key");
    expect(err.message).toBe("no static token is set (set GITHUB_TOKEN or GH_TOKEN)");
  });
});

describe("identity: whose tokens these are (the cache keys entries by it)", () => {
  const identity = (s: SourceConfig) => ("identity" in s ? s.identity : undefined);

  it("never holds the key itself", () => {
    const key = "vers_live_0123456789abcdef";
    expect(identity(choose("broker", { VERS_API_KEY: key }))).not.toContain(key);
  });

  it("ignores where the key came from", async () => {
    await writeFile(join(home, ".versrc"), JSON.stringify({ apiKey: "key-one" }));
    const fromFile = identity(choose("broker", {}));
    expect(fromFile).toBe(`broker https://vers.sh ${FNV["key-one"]}`);
    expect(identity(choose("broker", { VERS_API_KEY: "key-one" }))).toBe(fromFile);
  });

  it("differs by key, base URL, app id, installation and API URL", () => {
    const ids = new Set([
      identity(choose("broker", { VERS_API_KEY: "key-one" })),
      identity(choose("broker", { VERS_API_KEY: "key-two" })),
      identity(chooseSource(resolveSettings({ source: "broker", baseUrl: "https://staging.vers.sh" }, {}), { env: { VERS_API_KEY: "key-one" }, homedir: home, uid: process.getuid?.() })),
      identity(choose("github-app", { GITHUB_APP_ID: "1" })),
      identity(choose("github-app", { GITHUB_APP_ID: "2" })),
      identity(choose("github-app", { GITHUB_APP_ID: "1", GITHUB_INSTALLATION_ID: "9" })),
      identity(choose("github-app", { GITHUB_APP_ID: "1", GITHUB_API_URL: "https://ghe.example.com/api/v3" })),
    ]);
    expect(ids.size).toBe(7);
  });
});

describe("one host per source (issue 15, item 6)", () => {
  const grant = (host?: string): SourceConfig => ({
    kind: "grant",
    identity: "grant x ghr_G",
    grant: { repository: "acme/widgets", refreshToken: { value: "ghr_G.SecretSecret", origin: "grants file" }, tokenEndpoint: "https://mcp.example/t", ...(host && { host }) },
  });
  const broker: SourceConfig = { kind: "broker", identity: "broker", baseUrl: "https://vers.sh", apiKey: { value: "k", origin: "env VERS_API_KEY" } };
  const app = (apiUrl: string): SourceConfig => ({ kind: "github-app", identity: "app", apiUrl, appId: "1", env: {}, homedir: "/h" });
  const TWO = ["github.com", "ghe.example.com"];

  it.each<[string, SourceConfig, string[], string]>([
    ["the broker, one host", broker, ["ghe.example.com"], "ghe.example.com"],
    ["the broker, several: the first listed", broker, TWO, "github.com"],
    ["the broker, several, GHES first", broker, ["ghe.example.com", "github.com"], "ghe.example.com"],
    ["the App, one host", app("https://api.github.com"), ["ghe.example.com"], "ghe.example.com"],
    ["the App on api.github.com", app("https://api.github.com"), TWO, "github.com"],
    ["the App on GHES", app("https://ghe.example.com/api/v3"), TWO, "ghe.example.com"],
    ["the App on GHES with a port", app("https://ghe.example.com:8443/api/v3"), TWO, "ghe.example.com:8443"],
    ["the App on GHES, :443 dropped", app("https://GHE.example.com:443/api/v3"), TWO, "ghe.example.com"],
    ["a grant with no host, one configured", grant(), ["ghe.example.com"], "ghe.example.com"],
    ["a grant with no host, several: github.com", grant(), ["ghe.example.com", "github.com"], "github.com"],
    ["a grant that records its host, several", grant("ghe.example.com"), TWO, "ghe.example.com"],
    ["a grant that records its host keeps it with one other configured", grant("ghe.example.com"), ["github.com"], "ghe.example.com"],
    ["a static token, several: the first listed", { kind: "static", token: { value: "t", origin: "env GITHUB_TOKEN" } }, TWO, "github.com"],
  ])("%s", (_name, source, hosts, served) => {
    expect(servedHost(source, hosts)).toBe(served);
    expect(hostRefusal(source, served, hosts)).toBeUndefined();
    for (const other of hosts.filter((h) => h !== served)) expect(hostRefusal(source, other, hosts)).toBeDefined();
  });

  it("the broker's refusal names the host it serves and how to serve the other", () => {
    expect(hostRefusal(broker, "ghe.example.com", TWO)!.message).toBe(
      "the broker mints tokens for github.com, not ghe.example.com (set VERS_GITHUB_HOST=ghe.example.com with a source for that host, e.g. GITHUB_API_URL=https://ghe.example.com/api/v3)",
    );
    expect(hostRefusal(grant(), "ghe.example.com", TWO)!.message).toMatch(/^the grant ghr_G for acme\/widgets serves github\.com, not ghe\.example\.com \(/);
  });

  it("apiHost: api.github.com → github.com, https://H/api/v3 → H", () => {
    expect(apiHost("https://api.github.com")).toBe("github.com");
    expect(apiHost("https://ghe.example.com/api/v3")).toBe("ghe.example.com");
    expect(apiHost("https://api.acme.ghe.com")).toBe("acme.ghe.com");
    expect(apiHost("http://127.0.0.1:8080")).toBe("127.0.0.1:8080");
  });

  it("a get for a second configured host with the broker: nothing on stdout, one line, exit 1, nobody asked", async () => {
    const io: FakeIo = await fakeIo({ VERS_API_KEY: "vers_key_0123456789", VERS_GITHUB_HOST: "github.com,ghe.example.com", VERS_BASE_URL: "http://127.0.0.1:9" });
    onTestFinished(() => io.cleanup());
    io.input = "protocol=https\nhost=ghe.example.com\n\n";
    const code = await runGitAction("get", {}, io);
    expect(code).toBe(1);
    expect(io.out).toBe("");
    expect(io.err).toBe("git-credential-vers: the broker mints tokens for github.com, not ghe.example.com (set VERS_GITHUB_HOST=ghe.example.com with a source for that host, e.g. GITHUB_API_URL=https://ghe.example.com/api/v3)\n");
  });
});
