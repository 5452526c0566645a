import { describe, expect, it } from "vitest";
import { canonicalPermissions, hash64, scopeKey, sourceIdentity } from "../../src/cache/key";
import type { SourceConfig } from "../../src/credentials";
import type { Scope } from "../../src/scope";

describe("hash64 (FNV-1a, 64-bit)", () => {
  it.each([
    ["", "cbf29ce484222325"],
    ["a", "af63dc4c8601ec8c"],
    ["b", "af63df4c8601f1a5"],
    ["foobar", "85944171f73967e8"],
  ])("%j → %s", (text, hex) => {
    expect(hash64(text)).toBe(hex);
  });

  it("hashes UTF-8 bytes: é is 0xC3 0xA9", () => {
    // FNV-1a over the two bytes, computed by hand with BigInt.
    let h = 0xcbf29ce484222325n;
    for (const b of [0xc3, 0xa9]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    expect(hash64("é")).toBe(h.toString(16).padStart(16, "0"));
    expect(hash64("é")).not.toBe(hash64("\u00e9".normalize("NFD")));
  });

  it("is always 16 lowercase hex digits", () => {
    for (const text of ["", "x", "acme/widgets", "😀", "a".repeat(10_000)]) {
      expect(hash64(text)).toMatch(/^[0-9a-f]{16}$/);
    }
  });
});

describe("canonicalPermissions", () => {
  it.each<[Record<string, string> | undefined, string]>([
    [undefined, ""],
    [{}, ""],
    [{ contents: "read" }, "contents:read"],
    [{ metadata: "read", contents: "write", actions: "read" }, "actions:read,contents:write,metadata:read"],
  ])("%j → %j", (perms, text) => {
    expect(canonicalPermissions(perms)).toBe(text);
  });

  it("does not depend on key order", () => {
    expect(canonicalPermissions({ b: "read", a: "write" })).toBe(canonicalPermissions({ a: "write", b: "read" }));
  });
});

const broker: SourceConfig = { kind: "broker", baseUrl: "https://vers.sh", apiKey: { value: "key-one", origin: "env VERS_API_KEY" } };
const scope: Scope = { host: "github.com", owner: "acme", repositories: ["widgets"], permissions: { contents: "read" } };

describe("sourceIdentity", () => {
  it("names the broker by base URL and a hash of the key, never the key", () => {
    expect(sourceIdentity(broker)).toBe(`broker https://vers.sh ${hash64("key-one")}`);
    expect(sourceIdentity(broker)).not.toContain("key-one");
  });

  it("names a github-app by API URL, app id and installation", () => {
    const app: SourceConfig = { kind: "github-app", apiUrl: "https://api.github.com", appId: "7", env: {}, homedir: "/h" };
    expect(sourceIdentity(app)).toBe("github-app https://api.github.com 7 auto");
    expect(sourceIdentity({ ...app, installationId: "42" })).toBe("github-app https://api.github.com 7 42");
  });

  it("names a static token by its hash", () => {
    expect(sourceIdentity({ kind: "static", token: { value: "ghp_x", origin: "env GITHUB_TOKEN" } })).toBe(`static ${hash64("ghp_x")}`);
  });
});

describe("scopeKey", () => {
  const key = scopeKey(broker, scope);

  it("is 16 hex digits", () => {
    expect(key).toMatch(/^[0-9a-f]{16}$/);
  });

  it("is stable", () => {
    expect(scopeKey({ ...broker, apiKey: { ...broker.apiKey } }, { ...scope, repositories: ["widgets"], permissions: { contents: "read" } })).toBe(key);
  });

  it("ignores where the key came from", () => {
    expect(scopeKey({ ...broker, apiKey: { value: "key-one", origin: "~/.versrc" } }, scope)).toBe(key);
  });

  it.each<{ name: string; source: SourceConfig; scope: Scope }>([
    { name: "API key", source: { ...broker, apiKey: { value: "key-two", origin: "env VERS_API_KEY" } }, scope },
    { name: "base URL", source: { ...broker, baseUrl: "https://staging.vers.sh" }, scope },
    { name: "host", source: broker, scope: { ...scope, host: "ghe.example.com" } },
    { name: "host port", source: broker, scope: { ...scope, host: "github.com:8443" } },
    { name: "owner", source: broker, scope: { ...scope, owner: "other" } },
    { name: "no owner", source: broker, scope: { ...scope, owner: undefined } },
    { name: "repository", source: broker, scope: { ...scope, repositories: ["gadgets"] } },
    { name: "more repositories", source: broker, scope: { ...scope, repositories: ["widgets", "gadgets"] } },
    { name: "every repository", source: broker, scope: { ...scope, owner: undefined, repositories: [] } },
    { name: "permission access", source: broker, scope: { ...scope, permissions: { contents: "write" } } },
    { name: "permission set", source: broker, scope: { ...scope, permissions: { contents: "read", metadata: "read" } } },
    { name: "no permissions", source: broker, scope: { ...scope, permissions: undefined } },
    { name: "source kind", source: { kind: "static", token: { value: "key-one", origin: "env GITHUB_TOKEN" } }, scope },
    { name: "github-app id", source: { kind: "github-app", apiUrl: "https://api.github.com", appId: "1", env: {}, homedir: "/" }, scope },
  ])("differs by $name", ({ source, scope: other }) => {
    expect(scopeKey(source, other)).not.toBe(key);
  });

  it("differs between github-app installations and app ids", () => {
    const app: SourceConfig = { kind: "github-app", apiUrl: "https://api.github.com", appId: "1", env: {}, homedir: "/" };
    const keys = new Set([
      scopeKey(app, scope),
      scopeKey({ ...app, installationId: "9" }, scope),
      scopeKey({ ...app, appId: "2" }, scope),
      scopeKey({ ...app, apiUrl: "https://ghe.example.com/api/v3" }, scope),
    ]);
    expect(keys.size).toBe(4);
  });

  it("does not depend on the order of repositories", () => {
    expect(scopeKey(broker, { ...scope, repositories: ["a", "b", "c"] })).toBe(scopeKey(broker, { ...scope, repositories: ["c", "a", "b"] }));
  });

  it("does not depend on the order of permissions", () => {
    expect(scopeKey(broker, { ...scope, permissions: { contents: "read", metadata: "read", actions: "write" } })).toBe(
      scopeKey(broker, { ...scope, permissions: { actions: "write", metadata: "read", contents: "read" } }),
    );
  });

  it("does not depend on the profile's name, only its permissions", () => {
    expect(scopeKey(broker, { ...scope, profile: "clone" })).toBe(key);
  });

  it("does not depend on the case of owner and repository (GitHub's names are case-insensitive)", () => {
    expect(scopeKey(broker, { ...scope, owner: "ACME", repositories: ["Widgets"] })).toBe(key);
  });

  it("matches the documented layout", () => {
    const identity = [`broker https://vers.sh ${hash64("key-one")}`, "github.com", "acme", "widgets", "contents:read"].join("\n");
    expect(key).toBe(hash64(identity));
  });
});
