/**
 * FNV-1a, 64-bit, over the UTF-8 bytes, as 16 hex digits. Not a cryptographic hash: it names cache
 * files and fingerprints a key inside the private (0700) cache folder, which holds the tokens
 * themselves. node:crypto would cost ~3 ms on every cache hit.
 */
export function hash64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, "utf8")) {
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}
