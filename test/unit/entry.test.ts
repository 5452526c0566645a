import { describe, expect, it } from "vitest";
import { isUsable, parseEntry, servedFrom, type CacheEntry } from "../../src/cache/entry";

const KEY = '["broker https://vers.sh 0000000000000000","github.com","acme",["widgets"],"contents:read"]';

function entry(overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    version: 2,
    key: KEY,
    host: "github.com",
    owner: "acme",
    repositories: ["widgets"],
    permissions: { contents: "read" },
    token: "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
    expiresAt: 1_800_000_000_000,
    mintedAt: 1_799_996_400_000,
    source: "broker https://vers.sh 0000000000000000",
    ...overrides,
  };
}

describe("parseEntry", () => {
  it("reads a well-formed entry", () => {
    const e = entry();
    expect(parseEntry(JSON.stringify(e), KEY)).toEqual(e);
    expect(parseEntry(JSON.stringify(e) + "\n", KEY)).toEqual(e);
  });

  it("reads an org-wide entry with no owner and no permissions", () => {
    const e = entry({ owner: undefined, permissions: undefined, repositories: [] });
    expect(parseEntry(JSON.stringify(e), KEY)).toEqual(e);
  });

  const full = JSON.stringify(entry());
  const withField = (field: string, value: unknown) => JSON.stringify({ ...entry(), [field]: value });
  const withoutField = (field: string) => {
    const copy: Record<string, unknown> = { ...entry() };
    delete copy[field];
    return JSON.stringify(copy);
  };

  it.each([
    ["empty text", ""],
    ["not JSON", "ghs_token"],
    ["truncated JSON", full.slice(0, full.length - 10)],
    ["truncated to half", full.slice(0, full.length / 2)],
    ["JSON null", "null"],
    ["a JSON array", JSON.stringify([entry()])],
    ["a JSON string", JSON.stringify(full)],
    ["a JSON number", "1"],
    ["version 1 (before the full key was kept)", withField("version", 1)],
    ["version 3", withField("version", 3)],
    ['version "2"', withField("version", "2")],
    ["no version", withoutField("version")],
    ["a foreign key", withField("key", "fedcba9876543210")],
    ["a key that differs only in case", withField("key", KEY.toUpperCase())],
    ["a numeric key", withField("key", 42)],
    ["no key", withoutField("key")],
    ["no token", withoutField("token")],
    ["an empty token", withField("token", "")],
    ["a numeric token", withField("token", 12345)],
    ["a token with a space", withField("token", "ghs_abc def")],
    ["a token with a newline", withField("token", "ghs_abc\ndef")],
    ["a token ending in a newline", withField("token", "ghs_abc\n")],
    ["a token with a CR", withField("token", "ghs_abc\r")],
    ["a token with a tab", withField("token", "ghs_abc\tdef")],
    ["a token with a NUL", withField("token", "ghs_abc\u0000")],
    ["a token with DEL", withField("token", "ghs_abc\u007f")],
    ["a token with an escape", withField("token", "ghs_\u001b[31m")],
    ["a token with a no-break space", withField("token", "ghs_abc\u00a0def")],
    ["a token with a line separator", withField("token", "ghs_abc\u2028def")],
    ["a token over 8 KiB", withField("token", "a".repeat(8193))],
    ["expiresAt as a string", withField("expiresAt", "2027-01-15T08:00:00Z")],
    ["no expiresAt", withoutField("expiresAt")],
    ["no mintedAt", withoutField("mintedAt")],
    ["no host", withoutField("host")],
    ["a numeric host", withField("host", 443)],
    ["no repositories", withoutField("repositories")],
    ["repositories as a string", withField("repositories", "widgets")],
    ["a non-string repository", withField("repositories", ["widgets", 7])],
    ["a numeric owner", withField("owner", 7)],
    ["permissions as a string", withField("permissions", "contents:read")],
    ["permissions as an array", withField("permissions", ["contents"])],
    ["a numeric source", withField("source", 1)],
    ["no source", withoutField("source")],
    ["expiresAt as Infinity (null in JSON)", withField("expiresAt", null)],
  ])("%s is a miss", (_name, text) => {
    expect(parseEntry(text, KEY)).toBeUndefined();
  });

  it("is a miss when read under another key, even one whose hash names the same file", () => {
    expect(parseEntry(full, "fedcba9876543210")).toBeUndefined();
    expect(parseEntry(full, KEY.replace("widgets", "gadgets"))).toBeUndefined();
  });
});

describe("isUsable", () => {
  const now = 1_800_000_000_000;

  it.each([
    { left: 3_600_000, usable: true },
    { left: 1, usable: true },
    { left: 0, usable: false },
    { left: -1, usable: false },
    { left: -3_600_000, usable: false },
  ])("with $left ms left: usable $usable", ({ left, usable }) => {
    expect(isUsable(entry({ expiresAt: now + left }), now)).toBe(usable);
  });
});

describe("servedFrom", () => {
  it("hands the entry's token on as from the cache, with its expiry, permissions and repositories", () => {
    expect(servedFrom(entry())).toStrictEqual({
      token: "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
      expiresAt: 1_800_000_000_000,
      permissions: { contents: "read" },
      repositories: ["widgets"],
      origin: "the cache",
    });
  });
});
