import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * What Redis sees. Every name is an HMAC of the scope under a key derived (HKDF-SHA256) from the
 * secret the fleet's machines share; every value is AES-256-GCM under a second derived key, with the
 * name as additional data (a value moved to another name does not open). Redis holds no token, key,
 * host, owner or repository in plaintext, and a machine with another secret can neither find nor
 * read the entries. Anything that does not open is a miss.
 */
export interface FleetKeys {
  /** gcv:<16 hex>: this secret's namespace, so `cache clear --fleet` finds its entries and no others. */
  prefix: string;
  nameKey: Buffer;
  entryKey: Buffer;
  /** Signs fleet lock values, so that a lock set by someone without the secret is told from a machine's. */
  lockKey: Buffer;
}

const SALT = "git-credential-vers fleet v1";

export function deriveKeys(sharedSecret: string): FleetKeys {
  const derive = (info: string) => Buffer.from(hkdfSync("sha256", sharedSecret, SALT, info, 32));
  const nameKey = derive("names");
  return { prefix: `gcv:${hmac(nameKey, "prefix").slice(0, 16)}`, nameKey, entryKey: derive("entries"), lockKey: derive("locks") };
}

/**
 * The Redis names for one scope key: its entry, its fleet lock, its failure note, and the stem of its
 * wake lists (`<wake>:<lock id>`, one per lock taken: the minting machine pushes to it when done, and
 * waiting machines block on it). The HMAC is the names' hash tag (`gcv:<prefix>:{<hmac>}…`): a Redis
 * Cluster puts all names of one scope in one slot, so every multi-name step (MULTI, a script) stays
 * legal, and different scopes spread over the slots.
 */
export function namesFor(keys: FleetKeys, scopeKey: string): { entry: string; lock: string; note: string; wake: string } {
  const entry = `${keys.prefix}:{${hmac(keys.nameKey, scopeKey)}}`;
  return { entry, lock: `${entry}:lock`, note: `${entry}:failed`, wake: `${entry}:wake` };
}

/** A fleet lock value: `<ms since epoch>.<random id>.<HMAC(lockKey, lock name|time|id)>`, for this lock name only. */
export function lockValue(keys: FleetKeys, lock: string, now: number): { value: string; id: string; at: number } {
  const id = randomBytes(12).toString("hex");
  const at = Math.floor(now);
  return { value: `${at}.${id}.${hmac(keys.lockKey, `${lock}|${at}|${id}`)}`, id, at };
}

/** The time and id of a lock value a machine with this secret wrote for this lock name, or undefined (garbage, foreign, moved). */
export function verifyLock(keys: FleetKeys, lock: string, value: unknown): { id: string; at: number } | undefined {
  if (typeof value !== "string" || value.length > 200) return undefined;
  const parts = /^(\d{1,15})\.([0-9a-f]{24})\.([0-9a-f]{64})$/.exec(value);
  if (!parts) return undefined;
  const [, at, id, mac] = parts as unknown as [string, string, string, string];
  const expected = Buffer.from(hmac(keys.lockKey, `${lock}|${at}|${id}`), "hex");
  return timingSafeEqual(expected, Buffer.from(mac, "hex")) ? { id, at: Number(at) } : undefined;
}

/** Encrypts a JSON value for one name: base64 of iv (12) | tag (16) | ciphertext. */
export function seal(keys: FleetKeys, name: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keys.entryKey, iv);
  cipher.setAAD(Buffer.from(name));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

/** The JSON value sealed for this name, or undefined: tampered, foreign, truncated or garbage. */
export function open(keys: FleetKeys, name: string, sealed: unknown): unknown {
  if (typeof sealed !== "string" || sealed.length > 64 * 1024) return undefined;
  try {
    const raw = Buffer.from(sealed, "base64");
    if (raw.length < 29) return undefined;
    const decipher = createDecipheriv("aes-256-gcm", keys.entryKey, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function hmac(key: Buffer, text: string): string {
  return createHmac("sha256", key).update(text).digest("hex");
}
