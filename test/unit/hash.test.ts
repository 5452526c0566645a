import { describe, expect, it } from "vitest";
import { hash64 } from "../../src/hash";

/**
 * Known answers only: the FNV-1a 64 reference vectors (isthe.com/chongo/tech/comp/fnv), and UTF-8
 * cases checked against an independent implementation. The test never recomputes the hash itself.
 */
describe("hash64 (FNV-1a, 64-bit, over UTF-8)", () => {
  it.each([
    ["", "cbf29ce484222325"],
    ["a", "af63dc4c8601ec8c"],
    ["b", "af63df4c8601f1a5"],
    ["foobar", "85944171f73967e8"],
    ["é", "0ac21707b7181e01"],
    ["😀", "feff073875020288"],
  ])("%j → %s", (text, hex) => {
    expect(hash64(text)).toBe(hex);
  });

  it("hashes the UTF-8 bytes, so a composed é and a decomposed one differ", () => {
    expect(hash64("\u00e9")).not.toBe(hash64("\u00e9".normalize("NFD")));
  });

  it("is always 16 lowercase hex digits, leading zeros kept", () => {
    for (const text of ["", "x", "acme/widgets", "😀", "a".repeat(10_000), "é"]) {
      expect(hash64(text)).toMatch(/^[0-9a-f]{16}$/);
    }
  });
});
