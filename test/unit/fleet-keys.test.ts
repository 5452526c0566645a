/**
 * What Redis sees (src/fleet/keys.ts): values sealed with AES-256-GCM for one name under a key derived
 * from the shared secret, names that are HMACs of the scope. Anything that does not open is undefined.
 */
import { describe, expect, it } from "vitest";
import { deriveKeys, namesFor, open, seal } from "../../src/fleet/keys";
import { slotOf } from "../servers/redis-topologies";

const SECRET = "broker\nvers_test_fleet_keys_secret_0001";
const OTHER_SECRET = "broker\nvers_test_fleet_keys_secret_0002";
const SCOPE = JSON.stringify(["broker https://vers.sh 0123456789abcdef", "github.com", "acme", ["widgets"], null]);
const OTHER_SCOPE = JSON.stringify(["broker https://vers.sh 0123456789abcdef", "github.com", "acme", ["gadgets"], null]);
const VALUE = { v: 1, token: "ghs_sealedTokenSealedTokenSealedToken01", expiresAt: 1_900_000_000_000, repositories: ["widgets"] };

const keys = deriveKeys(SECRET);
const names = namesFor(keys, SCOPE);

/** The sealed value with one byte flipped at `index` (of the decoded bytes). */
function flipped(sealed: string, index: number): string {
  const raw = Buffer.from(sealed, "base64");
  raw[index] = raw[index]! ^ 0x01;
  return raw.toString("base64");
}

describe("seal and open", () => {
  it("a value sealed for a name opens under that name with the same secret", () => {
    expect(open(keys, names.entry, seal(keys, names.entry, VALUE))).toEqual(VALUE);
    // Derived again from the same secret (another machine of the fleet): still opens.
    expect(open(deriveKeys(SECRET), names.entry, seal(keys, names.entry, VALUE))).toEqual(VALUE);
  });

  it("each seal is different (random IV), and none holds the value in plaintext, even decoded", () => {
    const a = seal(keys, names.entry, VALUE);
    const b = seal(keys, names.entry, VALUE);
    expect(a).not.toBe(b);
    for (const sealed of [a, b]) {
      const decoded = Buffer.from(sealed, "base64").toString("latin1");
      for (const text of [VALUE.token, "widgets", "ghs_"]) {
        expect(sealed).not.toContain(text);
        expect(decoded).not.toContain(text);
      }
    }
  });

  it("a value sealed for one name does not open under another (moved to another scope's name, or to the note's)", () => {
    const sealed = seal(keys, names.entry, VALUE);
    expect(open(keys, namesFor(keys, OTHER_SCOPE).entry, sealed)).toBeUndefined();
    expect(open(keys, names.note, sealed)).toBeUndefined();
    expect(open(keys, names.lock, sealed)).toBeUndefined();
  });

  it("another secret cannot open it, even under the very same name", () => {
    const sealed = seal(keys, names.entry, VALUE);
    expect(open(deriveKeys(OTHER_SECRET), names.entry, sealed)).toBeUndefined();
  });

  it.each([
    ["the IV", 0],
    ["the tag", 12],
    ["the first byte of the ciphertext", 28],
    ["the last byte of the ciphertext", -1],
  ])("one byte flipped in %s: undefined", (_where, at) => {
    const sealed = seal(keys, names.entry, VALUE);
    const index = at < 0 ? Buffer.from(sealed, "base64").length + at : at;
    expect(open(keys, names.entry, flipped(sealed, index))).toBeUndefined();
  });

  it.each([
    ["truncated to the header", (s: string) => Buffer.from(s, "base64").subarray(0, 28).toString("base64")],
    ["missing its last byte", (s: string) => Buffer.from(s, "base64").subarray(0, -1).toString("base64")],
    ["empty", () => ""],
    ["plain text", () => "garbage"],
    ["the plaintext JSON itself", () => JSON.stringify(VALUE)],
    ["over 64 KiB", (s: string) => s + "A".repeat(64 * 1024)],
  ])("a value %s: undefined", (_what, damage) => {
    expect(open(keys, names.entry, damage(seal(keys, names.entry, VALUE)))).toBeUndefined();
  });

  it.each([null, undefined, 42, ["a"], { token: "x" }])("a stored value that is not a string (%j): undefined", (stored) => {
    expect(open(keys, names.entry, stored)).toBeUndefined();
  });
});

describe("names", () => {
  it("of one scope share one Redis Cluster hash slot (a hash tag), and scopes spread over the slots", () => {
    expect(new Set([names.entry, names.lock, names.note].map((n) => slotOf(n))).size).toBe(1);
    const slots = new Set(Array.from({ length: 1000 }, (_, i) => slotOf(namesFor(keys, `${SCOPE} ${i}`).entry)));
    // 1,000 scopes over 16,384 slots: about 970 distinct when spread uniformly; one shared tag would give 1.
    expect(slots.size).toBeGreaterThan(900);
  });


  it("are the secret's prefix and an HMAC of the scope, with the lock and note beside the entry", () => {
    expect(keys.prefix).toMatch(/^gcv:[0-9a-f]{16}$/);
    expect(names.entry).toMatch(new RegExp(`^${keys.prefix}:\\{[0-9a-f]{64}\\}$`));
    expect(names.lock).toBe(`${names.entry}:lock`);
    expect(names.note).toBe(`${names.entry}:failed`);
  });

  it("hold no text of the scope or the secret", () => {
    const all = Object.values(names).join(" ");
    for (const text of ["github.com", "acme", "widgets", "broker", "vers.sh", "0123456789abcdef", "vers_test", "secret"]) {
      expect(all).not.toContain(text);
    }
  });

  it("are the same on every machine with the secret, and differ between scopes", () => {
    expect(namesFor(deriveKeys(SECRET), SCOPE)).toEqual(names);
    expect(namesFor(keys, OTHER_SCOPE).entry).not.toBe(names.entry);
    expect(namesFor(keys, OTHER_SCOPE).entry.startsWith(`${keys.prefix}:`)).toBe(true);
  });

  it("another secret has another prefix and other names for the same scope", () => {
    const other = deriveKeys(OTHER_SECRET);
    expect(other.prefix).not.toBe(keys.prefix);
    expect(namesFor(other, SCOPE).entry.startsWith(`${keys.prefix}:`)).toBe(false);
    expect(namesFor(other, SCOPE).entry.slice(-64)).not.toBe(names.entry.slice(-64));
  });

  it("the name key and the entry key are two different keys", () => {
    expect(keys.nameKey.equals(keys.entryKey)).toBe(false);
    expect(keys.entryKey).toHaveLength(32);
  });
});
