import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { lockWithin } from "../cache/lock";
import type { Deadline } from "../deadline";
import { HelperError } from "../errors";
import { hash64 } from "../hash";
import type { Io } from "../io";
import type { Trace } from "../trace";
import { grantsFile } from "./file";
import { describeGrant, grantIdentity, grantIdOf, sameLineage, type Grant } from "./grant";
import { heldGrants, type HeldGrants } from "./held";

type LockIo = Pick<Io, "env" | "homedir" | "uid" | "now" | "sleep">;

/**
 * Where a grant's redemption lock lives: beside the grants file (never in a cache folder: git processes
 * of one user with different XDG_CACHE_HOME share the grant, so they must share its lock), named after
 * the grant's identity (endpoint and lineage, so a rotation to a new grant id keeps the same lock).
 * undefined when there is no grants file (HOME not absolute, VERS_GRANTS_FILE unset).
 */
export function redeemLockPath(io: Pick<Io, "env" | "homedir">, grant: Grant): string | undefined {
  const file = grantsFile(io);
  return file && `${file.path}.redeem-${hash64(grantIdentity(grant))}`;
}

/**
 * Runs `redeem` under the grant's own lock (the project's lockWithin, waiting until `deadline`), with the
 * grant read again under that lock: after waiting for another process that redeemed (and maybe
 * rotated) it, the grant it saved is the one redeemed, never the consumed one. So one grant is never
 * redeemed twice at once, whatever the scope, host or cache folder of the processes. Without a grants
 * file there is nowhere to keep the lock, and the grant is redeemed as it is.
 */
export async function underGrantLock<T>(io: LockIo, trace: Trace, grant: Grant, deadline: Deadline, redeem: (current: Grant) => Promise<T>): Promise<T> {
  const path = redeemLockPath(io, grant);
  if (path === undefined) {
    trace(`no grants file: redeeming ${describeGrant(grant)} without its lock`);
    return redeem(grant);
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch {
    // lockWithin says what is wrong below.
  }
  const lock = await lockWithin(path, deadline, io.now, io.sleep).catch((err: NodeJS.ErrnoException) => {
    throw new HelperError("bad-setting", `the lock of ${describeGrant(grant)} cannot be taken (${err.code ?? err.message})`, `check the permissions of ${dirname(path)}`);
  });
  if (lock === "busy") {
    throw new HelperError("timeout", `timed out waiting for another git-credential-vers redeeming ${describeGrant(grant)}`, `try again; remove ${path}.lock if no other process is running`);
  }
  try {
    const current = currentGrant(heldGrants(io), grant);
    if (current !== grant && current.refreshToken.value !== grant.refreshToken.value) trace(`${describeGrant(grant)} was rotated meanwhile; redeeming ${grantIdOf(current.refreshToken.value)}`);
    return await redeem(current);
  } finally {
    await lock.release();
  }
}

/** The held copy of `grant` (same lineage, or same endpoint and grant id), as it is now; else `grant` itself (a grant git presented). */
export function currentGrant(held: HeldGrants, grant: Grant): Grant {
  const id = grantIdOf(grant.refreshToken.value);
  return held.grants.find((g) => sameLineage(g, grant)) ?? held.grants.find((g) => g.tokenEndpoint === grant.tokenEndpoint && grantIdOf(g.refreshToken.value) === id) ?? grant;
}
