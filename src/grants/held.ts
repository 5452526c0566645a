import { HelperError } from "../errors";
import type { Env, Io } from "../io";
import { grantsFile, readGrants, type GrantsFile } from "./file";
import { checkGrant, ENV_GRANT_ORIGIN, grantIdOf, grantLineage, sameTarget, type Grant } from "./grant";

/** The grants this machine holds, and the file they are kept in (undefined when HOME is not absolute). */
export interface HeldGrants {
  grants: Grant[];
  file?: GrantsFile;
}

/**
 * The grants file's grants and the one in the environment (VERS_REFRESH_TOKEN). A rotated grant is
 * saved to the file, keeping its lineage (grants/rotate.ts), so when the file holds the environment's
 * grant id or a rotation of it (same lineage) the file's copy wins: the retired grant in the environment
 * is never used again. For one repository and host under another lineage the environment wins, as
 * settings do.
 */
export function heldGrants(io: Pick<Io, "env" | "homedir" | "uid">): HeldGrants {
  const file = grantsFile(io);
  const fromFile = file ? readGrants(file, io.uid) : [];
  const fromEnv = envGrant(io.env);
  if (!fromEnv) return { grants: fromFile, file };
  if (fromFile.some((g) => supersedes(g, fromEnv))) return { grants: fromFile, file };
  return { grants: [...fromFile.filter((g) => !sameTarget(g, fromEnv)), fromEnv], file };
}

/** True when `held` is `other` or a rotation of it: the same grant id, or the same lineage. */
function supersedes(held: Grant, other: Grant): boolean {
  const id = grantIdOf(other.refreshToken.value);
  return grantIdOf(held.refreshToken.value) === id || grantLineage(held) === grantLineage(other);
}

/** The grant in VERS_REFRESH_TOKEN, VERS_TOKEN_ENDPOINT, VERS_CLIENT_ID, VERS_GRANT_REPOSITORY; each error names the variable, never the value of the token. */
export function envGrant(env: Env): Grant | undefined {
  const refreshToken = env.VERS_REFRESH_TOKEN?.trim();
  if (!refreshToken) return undefined;
  const repository = env.VERS_GRANT_REPOSITORY?.trim();
  if (!repository) throw new HelperError("bad-setting", "VERS_REFRESH_TOKEN is set without VERS_GRANT_REPOSITORY", "set VERS_GRANT_REPOSITORY to the grant's owner/repo");
  const tokenEndpoint = env.VERS_TOKEN_ENDPOINT?.trim();
  if (!tokenEndpoint) throw new HelperError("bad-setting", "VERS_REFRESH_TOKEN is set without VERS_TOKEN_ENDPOINT", "set VERS_TOKEN_ENDPOINT to the grant's token endpoint (https://…)");
  const grant = checkGrant({ repository, refreshToken, tokenEndpoint, clientId: env.VERS_CLIENT_ID?.trim() || undefined }, ENV_GRANT_ORIGIN);
  if (typeof grant === "string") throw new HelperError("bad-setting", `the grant in VERS_REFRESH_TOKEN is not usable: ${grant}`, "fix VERS_REFRESH_TOKEN, VERS_TOKEN_ENDPOINT, VERS_CLIENT_ID and VERS_GRANT_REPOSITORY");
  return grant;
}
