import { describe, expect, it } from "vitest";
import { isCleanToken, isFresh, isUsable, parseEntry, type CacheEntry } from "../../src/cache/entry";

const KEY = "0123456789abcdef";

function entry(overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    version: 1,
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
    ["version 2", withField("version", 2)],
    ['version "1"', withField("version", "1")],
    ["no version", withoutField("version")],
    ["a foreign key", withField("key", "fedcba9876543210")],
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
  ])("%s is a miss", (_name, text) => {
    expect(parseEntry(text, KEY)).toBeUndefined();
  });

  it("is a miss when read under another key", () => {
    expect(parseEntry(full, "fedcba9876543210")).toBeUndefined();
  });
});

describe("isCleanToken", () => {
  it.each([
    ["ghs_16C7e42F292c6912E7710c838347Ae178B4a", true],
    ["a", true],
    ["a".repeat(8192), true],
    ["ghs_abc=+/_-.~", true],
    ["github_pat_11ABCDEFG0_xyz", true],
    ["", false],
    ["a".repeat(8193), false],
    ["é".repeat(4097), false],
    ["é".repeat(4096), true],
    [" ghs", false],
    ["ghs ", false],
    ["gh\ts", false],
    ["gh\ns", false],
    ["gh\rs", false],
    ["gh\u0000s", false],
    ["gh\u0007s", false],
    ["gh\u007fs", false],
    ["gh\u0085s", false],
    ["gh\u00a0s", false],
    ["gh\u2028s", false],
    ["gh\u3000s", false],
    ["gh\ufeffs", false],
  ])("%j → %s", (token, clean) => {
    expect(isCleanToken(token)).toBe(clean);
  });
});

describe("isFresh and isUsable", () => {
  const now = 1_800_000_000_000;
  const margin = 300_000;

  it.each([
    { left: 3_600_000, fresh: true, usable: true },
    { left: margin + 1, fresh: true, usable: true },
    { left: margin, fresh: false, usable: true },
    { left: margin - 1, fresh: false, usable: true },
    { left: 1, fresh: false, usable: true },
    { left: 0, fresh: false, usable: false },
    { left: -1, fresh: false, usable: false },
    { left: -3_600_000, fresh: false, usable: false },
  ])("with $left ms left: fresh $fresh, usable $usable", ({ left, fresh, usable }) => {
    const e = entry({ expiresAt: now + left });
    expect(isFresh(e, now, margin)).toBe(fresh);
    expect(isUsable(e, now)).toBe(usable);
  });

  it("an expired entry is never usable, even with a zero margin", () => {
    const e = entry({ expiresAt: now });
    expect(isUsable(e, now)).toBe(false);
    expect(isFresh(e, now, 0)).toBe(false);
  });

  it("with a zero margin, fresh means not yet expired", () => {
    expect(isFresh(entry({ expiresAt: now + 1 }), now, 0)).toBe(true);
  });

  it("a fresh entry is always usable", () => {
    for (const left of [-10, 0, 1, 299_999, 300_000, 300_001]) {
      const e = entry({ expiresAt: now + left });
      if (isFresh(e, now, margin)) expect(isUsable(e, now)).toBe(true);
    }
    expect(isFresh(entry({ expiresAt: now + 300_001 }), now, margin)).toBe(true);
  });
});
