import { randomBytes } from "node:crypto";
import { isFresh, type RefreshPolicy } from "../cache/freshness";
import type { Deadline } from "../deadline";
import { HelperError, isHelperError, type ErrorCode } from "../errors";
import { isCleanToken } from "../text";
import type { Token } from "../token";
import { redact, type Trace } from "../trace";
import { connectFleet, FleetUnavailable, type FleetClient } from "./client";
import { deriveKeys, namesFor, open, seal, type FleetKeys } from "./keys";

/** A dead holder frees the fleet lock after this long; a live one rarely holds it as long. */
export const FLEET_LOCK_MS = 10_000;
/** How long a final failure of the fleet's minting machine stops the others from asking again. */
export const FLEET_NOTE_MS = 10_000;
/** Failures no other machine would see differently (until someone fixes the key, app or grant). */
const FINAL: ReadonlySet<string> = new Set(["unauthorized", "forbidden", "not-found", "invalid-request", "invalid-grant"]);

export interface FleetMiss {
  url: string;
  /** The secret the fleet's machines share (Vers key, App private key, grant secret): keys and names derive from it. */
  secret: string;
  /** The local scope key (source identity, host, owner, repositories, permissions). */
  scopeKey: string;
  policy: RefreshPolicy;
  /** A usable token this machine already holds: served at once while another machine refreshes. */
  inHand?: Token;
  deadline: Deadline;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  trace: Trace;
  /** Opens the connection (default: ioredis, bounded); tests pass a fake client. */
  connect?: (url: string) => Promise<FleetClient>;
}

/**
 * The fleet tier, asked by the process holding the local lock on a local miss: a fresh entry in
 * Redis for this exact scope is served (the caller writes it to disk); otherwise one machine mints
 * under a fleet lock (SET NX PX, random value, compare-and-delete) and writes the entry, with a TTL
 * ending at the token's expiry, while the others poll for it within the deadline. Redis is never a
 * reason to fail: any Redis failure is one trace line, and this machine mints as if there were none.
 */
export async function throughFleet(m: FleetMiss, mint: () => Promise<Token>): Promise<Token> {
  const keys = deriveKeys(m.secret);
  const names = namesFor(keys, m.scopeKey);
  let client: FleetClient | undefined;
  let minted: Token | undefined;
  try {
    client = await (m.connect ?? connectFleet)(m.url);
    return await fromFleet(m, client, keys, names, async () => (minted = await mint()));
  } catch (err) {
    if (!(err instanceof FleetUnavailable)) throw err;
    m.trace(`fleet tier unavailable (${err.message}); going on without it`);
    return minted ?? mint();
  } finally {
    client?.close();
  }
}

type Names = ReturnType<typeof namesFor>;

async function fromFleet(m: FleetMiss, client: FleetClient, keys: FleetKeys, names: Names, mint: () => Promise<Token>): Promise<Token> {
  let pause = 25;
  for (;;) {
    const seen = await client.look(names.entry, names.note, names.lock);
    const entry = readEntry(keys, names.entry, seen.entry, m.scopeKey);
    if (entry && isFresh({ expiresAt: entry.expiresAt! }, m.now(), m.policy)) {
      m.trace(`fleet hit: ${redact(entry.token)}, ${Math.round((entry.expiresAt! - m.now()) / 1000)} s left`);
      return entry;
    }
    const note = readNote(keys, names.note, seen.note, m.now());
    if (note) {
      m.trace(`the fleet's minting machine failed ${m.now() - note.at} ms ago (${note.code}); not asking again`);
      if (m.inHand) return m.inHand;
      throw new HelperError(note.code as ErrorCode, note.what, note.hint, note.status);
    }
    // A fleet lock always has an expiry of at most FLEET_LOCK_MS: anything else under its name is garbage no machine
    // will ever release, and waiting on it would spin (no expiry: SET NX fails forever) or last the whole deadline.
    if (seen.lockMs === -1 || seen.lockMs > FLEET_LOCK_MS) throw new FleetUnavailable(`the fleet lock's name holds something else (${seen.lockMs === -1 ? "no expiry" : `${seen.lockMs} ms left`})`);
    if (seen.lockMs > 0) {
      if (m.inHand) {
        m.trace("another machine is refreshing this token; serving the one in hand");
        return m.inHand;
      }
      if (m.deadline.remaining() <= pause) throw new HelperError("timeout", "timed out waiting for another machine of the fleet to mint the token", "try again; a machine that died frees the fleet lock within 10 s");
      await m.sleep(pause / 2 + Math.random() * pause);
      pause = Math.min(pause * 1.6, 400);
      continue;
    }
    const value = randomBytes(16).toString("hex");
    if (!(await client.takeLock(names.lock, value, FLEET_LOCK_MS))) continue;
    try {
      return await mintForFleet(m, client, keys, names, mint, seen.entry !== null && entry === undefined);
    } finally {
      await client.releaseLock(names.lock, value).catch(() => undefined);
    }
  }
}

/** Holding the fleet lock: read once more, mint, write the entry (or the failure note) for the others. */
async function mintForFleet(m: FleetMiss, client: FleetClient, keys: FleetKeys, names: Names, mint: () => Promise<Token>, garbage: boolean): Promise<Token> {
  const again = readEntry(keys, names.entry, (await client.look(names.entry, names.note, names.lock)).entry, m.scopeKey);
  if (again && isFresh({ expiresAt: again.expiresAt! }, m.now(), m.policy)) return again;
  let token: Token;
  try {
    token = await mint();
  } catch (err) {
    if (isHelperError(err) && FINAL.has(err.code)) {
      const note = { at: m.now(), code: err.code, what: err.what, hint: err.hint, status: err.status };
      await client.writeNote(names.note, seal(keys, names.note, note), FLEET_NOTE_MS).catch(() => undefined);
    }
    throw err;
  }
  const ttl = (token.expiresAt ?? 0) - m.now();
  if (ttl > 0) {
    const sealed = seal(keys, names.entry, { v: 1, key: m.scopeKey, token: token.token, expiresAt: token.expiresAt, permissions: token.permissions, repositories: token.repositories });
    await client.writeEntry(names.entry, sealed, ttl, garbage).catch((err: unknown) => m.trace(`fleet write failed (${(err as Error).message})`));
  }
  return token;
}

/** An entry that opens, is for this very scope, holds a clean token and has not expired; else undefined. */
function readEntry(keys: FleetKeys, name: string, stored: unknown, scopeKey: string): Token | undefined {
  const data = open(keys, name, stored) as { v?: unknown; key?: unknown; token?: unknown; expiresAt?: unknown; permissions?: unknown; repositories?: unknown } | undefined;
  if (!data || data.v !== 1 || data.key !== scopeKey || typeof data.token !== "string" || !isCleanToken(data.token)) return undefined;
  if (typeof data.expiresAt !== "number" || !Number.isFinite(data.expiresAt)) return undefined;
  const permissions = typeof data.permissions === "object" && data.permissions !== null ? (data.permissions as Token["permissions"]) : undefined;
  const repositories = Array.isArray(data.repositories) && data.repositories.every((r) => typeof r === "string") ? (data.repositories as string[]) : undefined;
  return { token: data.token, expiresAt: data.expiresAt, permissions, repositories };
}

function readNote(keys: FleetKeys, name: string, stored: unknown, now: number): { at: number; code: string; what: string; hint: string; status?: number } | undefined {
  const note = open(keys, name, stored) as { at?: unknown; code?: unknown; what?: unknown; hint?: unknown; status?: unknown } | undefined;
  if (!note || typeof note.at !== "number" || typeof note.code !== "string" || typeof note.what !== "string" || typeof note.hint !== "string") return undefined;
  if (note.at > now + 2000 || now - note.at >= FLEET_NOTE_MS) return undefined;
  return { at: note.at, code: note.code, what: note.what, hint: note.hint, status: typeof note.status === "number" ? note.status : undefined };
}
