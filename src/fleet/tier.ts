import { isFresh, type RefreshPolicy } from "../cache/freshness";
import type { Deadline } from "../deadline";
import { HelperError, isHelperError, type ErrorCode } from "../errors";
import { isCleanToken } from "../text";
import type { Token } from "../token";
import { redact, type Trace } from "../trace";
import { connectFleet, FleetUnavailable, type Claim, type FleetClient } from "./client";
import { fenceOn, type Memos } from "./fence";
import { deriveKeys, lockValue, namesFor, open, seal, verifyLock, type FleetKeys } from "./keys";

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
  /** Where the local fence lives (the cache store): a token git rejected on this machine is never served from the fleet. */
  memos?: Memos;
  /** Opens the connection (default: ioredis, bounded); tests pass a fake client. */
  connect?: (url: string) => Promise<FleetClient>;
}

/**
 * The fleet tier, asked by the process holding the local lock on a local miss. One GET: a fresh entry in Redis for
 * this exact scope is served (the caller writes it to disk). Otherwise one Lua call claims the fleet lock (SET NX PX)
 * and reads the note, then the entry (taken) or the lock's value (not taken: this machine is counted as a waiter).
 * The machine that took the lock mints, writes the entry (TTL to the token's expiry) and, releasing the lock, pushes
 * the sealed entry (or failure note) once per waiter onto the lock's wake list; each waiter blocks on one BLPOP
 * until then, the lock's end or its deadline. A lock value is signed (keys.ts lockValue): one that does not verify,
 * is older than any lock lives, dated ahead, or seen again after its holder handed out its result (a replay), was
 * not set by a live machine of this fleet, and this machine goes on without Redis at once rather than wait on it.
 * Redis is never a reason to fail: any Redis failure is one trace line, and this machine mints as if there were none.
 * Every round is bounded by the deadline, paused, and counted (MAX_ROUNDS).
 */
export async function throughFleet(m: FleetMiss, mint: () => Promise<Token>): Promise<Token> {
  const keys = deriveKeys(m.secret);
  const names = namesFor(keys, m.scopeKey);
  let client: FleetClient | undefined;
  let minted: Token | undefined;
  try {
    client = await (m.connect ?? connectFleet)(m.url);
    const fence = m.memos && fenceOn(m.memos, m.now);
    return await fromFleet({ m, client, keys, names, fenced: (token) => fence?.has(token) === true }, async () => (minted = await mint()));
  } catch (err) {
    if (!(err instanceof FleetUnavailable)) throw err;
    m.trace(`fleet tier unavailable (${err.message}); going on without it`);
    return minted ?? mint();
  } finally {
    client?.close();
  }
}

/** Rounds (claim, wait) one `get` makes at most; each legitimate round ends a lock, so a few are plenty. */
export const MAX_ROUNDS = 12;
/** How far another machine's clock may be ahead of this one's, for the time in a lock value. */
export const CLOCK_SKEW_MS = 2_000;

interface At {
  m: FleetMiss;
  client: FleetClient;
  keys: FleetKeys;
  names: Names;
  fenced: (token: string) => boolean;
  /** Whether the trace already said that the fleet holds a token git rejected here (said once per run). */
  saidFenced?: boolean;
}

type Names = ReturnType<typeof namesFor>;

async function fromFleet(at: At, mint: () => Promise<Token>): Promise<Token> {
  const { m, client, keys, names } = at;
  const first = freshEntry(at, await client.read(names.entry));
  if (first) return hit(m, first);
  let pause = 25;
  let wokenBy: string | undefined;
  for (let round = 1; ; round++) {
    const mine = lockValue(keys, names.lock, m.now());
    const seen = await client.claim(names, mine.value, FLEET_LOCK_MS);
    if (seen.taken) return holding(at, mine, seen, mint);
    const note = readNote(keys, names.note, seen.note, m.now());
    if (note) return noted(m, note);
    const holder = liveLock(at, seen.lock);
    if (seen.lock !== null && (!holder || seen.lock === wokenBy)) {
      // Not a lock a machine of this fleet holds: someone without the secret (or a replay) stands in the way. Waiting on
      // it could last the whole deadline: this machine goes on as without Redis, at once.
      throw new FleetUnavailable(`the fleet lock holds ${holder ? "a value whose holder already finished (a replay)" : "a value no machine of this fleet wrote"}`);
    }
    if (holder) {
      if (m.inHand) {
        m.trace("another machine is refreshing this token; serving the one in hand");
        return m.inHand;
      }
      const waitMs = Math.min(holder.until - m.now(), m.deadline.remaining() - 50);
      if (waitMs <= 0) throw timedOut();
      const woke = await client.waitWake(`${names.wake}:${holder.id}`, waitMs);
      const [by, payload] = typeof woke === "string" ? woke.split(" ", 2) : [];
      if (by === seen.lock) {
        wokenBy = by;
        const entry = freshEntry(at, payload);
        if (entry) return hit(m, entry);
        const note = readNote(keys, names.note, payload, m.now());
        if (note) return noted(m, note);
      }
    }
    // Paused before the next round, whatever Redis said: nothing it answers makes this loop spin.
    if (round >= MAX_ROUNDS) throw new FleetUnavailable(`no progress after ${MAX_ROUNDS} rounds`);
    if (m.deadline.remaining() <= pause) throw holder ? timedOut() : new FleetUnavailable("the deadline came between rounds");
    await m.sleep(pause / 2 + Math.random() * pause);
    pause = Math.min(pause * 1.6, 400);
  }
}

/**
 * Holding the fleet lock: the claim read the entry and the note after taking it. Serve or fail by them, else mint and
 * write the entry (or the failure note) for the others; releasing the lock hands each waiter what was written.
 */
async function holding(at: At, mine: { value: string; id: string }, seen: Claim, mint: () => Promise<Token>): Promise<Token> {
  const { m, client, keys, names } = at;
  let payload = "";
  try {
    const entry = freshEntry(at, seen.entry);
    if (entry) {
      payload = seen.entry as string;
      return hit(m, entry);
    }
    const note = readNote(keys, names.note, seen.note, m.now());
    if (note) {
      payload = seen.note as string;
      return noted(m, note);
    }
    let token: Token;
    try {
      token = await mint();
    } catch (err) {
      if (isHelperError(err) && FINAL.has(err.code)) {
        payload = seal(keys, names.note, { at: m.now(), code: err.code, what: err.what, hint: err.hint, status: err.status });
        await client.writeNote(names.note, payload, FLEET_NOTE_MS).catch(() => undefined);
      }
      throw err;
    }
    payload = await writeFor(at, token, replaceable(at, seen.entry));
    return token;
  } finally {
    await client.releaseLock(names, mine.value, mine.id, `${mine.value} ${payload}`).catch(() => undefined);
  }
}

function noted(m: FleetMiss, note: NonNullable<ReturnType<typeof readNote>>): Token {
  m.trace(`the fleet's minting machine failed ${m.now() - note.at} ms ago (${note.code}); not asking again`);
  if (m.inHand) return m.inHand;
  throw new HelperError(note.code as ErrorCode, note.what, note.hint, note.status);
}

function hit(m: FleetMiss, entry: Token): Token {
  m.trace(`fleet hit: ${redact(entry.token)}, ${Math.round((entry.expiresAt! - m.now()) / 1000)} s left`);
  return entry;
}

function timedOut(): HelperError {
  return new HelperError("timeout", "timed out waiting for another machine of the fleet to mint the token", "try again; a machine that died frees the fleet lock within 10 s");
}

/** A lock value a machine of this fleet wrote for this lock name, not older than any real lock lives, not from the future. */
function liveLock({ m, keys, names }: At, value: unknown): { id: string; until: number } | undefined {
  const lock = verifyLock(keys, names.lock, value);
  if (!lock) return undefined;
  const now = m.now();
  if (lock.at > now + CLOCK_SKEW_MS || lock.at + FLEET_LOCK_MS + CLOCK_SKEW_MS <= now) return undefined;
  return { id: lock.id, until: lock.at + FLEET_LOCK_MS + CLOCK_SKEW_MS };
}

/** The entry, if it opens for this scope, holds a token this machine has not seen rejected, and is fresh. */
function freshEntry(at: At, stored: unknown): Token | undefined {
  const { m, keys, names, fenced } = at;
  const entry = readEntry(keys, names.entry, stored, m.scopeKey);
  if (!entry || !isFresh({ expiresAt: entry.expiresAt! }, m.now(), m.policy)) return undefined;
  if (fenced(entry.token)) {
    if (!at.saidFenced) m.trace(`the fleet holds ${redact(entry.token)}, which git rejected here; not served`);
    at.saidFenced = true;
    return undefined;
  }
  return entry;
}

/** What the entry's name holds may go whatever its TTL: it does not open for this scope, or holds a token git rejected here. */
function replaceable({ m, keys, names, fenced }: At, stored: unknown): boolean {
  if (stored === null || stored === undefined) return false;
  const entry = readEntry(keys, names.entry, stored, m.scopeKey);
  return entry === undefined || fenced(entry.token);
}

/** Writes the entry for the others (a write that fails is one trace line); returns what was sealed ("" for none). */
async function writeFor({ m, client, keys, names }: At, token: Token, replaceAny: boolean): Promise<string> {
  const ttl = (token.expiresAt ?? 0) - m.now();
  if (ttl <= 0) return "";
  const sealed = seal(keys, names.entry, { v: 1, key: m.scopeKey, token: token.token, expiresAt: token.expiresAt, permissions: token.permissions, repositories: token.repositories });
  try {
    await client.writeEntry(names.entry, sealed, ttl, replaceAny);
    return sealed;
  } catch (err) {
    m.trace(`fleet write failed (${(err as Error).message})`);
    return "";
  }
}

/** An entry that opens, is for this very scope, holds a clean token and has not expired; else undefined. */
export function readEntry(keys: FleetKeys, name: string, stored: unknown, scopeKey: string): Token | undefined {
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
