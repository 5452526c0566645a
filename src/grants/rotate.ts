import { isHelperError, warningLine } from "../errors";
import type { Io } from "../io";
import { secretsIn } from "../secrets";
import type { Trace } from "../trace";
import { updateGrants } from "./file";
import { describeGrant, ENV_GRANT_ORIGIN, grantIdOf, grantLineage, putGrant, sameLineage, sameTarget, type Grant } from "./grant";

/**
 * What keeps a rotated grant: the grants file's copy of that grant is replaced by the new one,
 * atomically and under the file's lock (see withRotation for which copy that is). Called under the
 * grant's own redemption lock (grants/redeem-lock.ts). When it cannot be saved the user is told at once:
 * the old grant no longer works.
 */
export function keepRotatedGrant(io: Pick<Io, "env" | "homedir" | "uid" | "now" | "sleep" | "stderr">, trace: Trace, grant: Grant): (refreshToken: string) => Promise<void> {
  return async (refreshToken) => {
    try {
      let kept = true;
      const file = await updateGrants(io, (grants) => {
        const next = withRotation(grants, grant, refreshToken);
        kept = next.kept;
        return next.grants;
      });
      if (kept) {
        trace(`saved the rotated grant ${grantIdOf(refreshToken)} for ${grant.repository} in ${file.shown}`);
        return;
      }
      io.stderr(warningLine(`the grant service rotated ${describeGrant(grant)}, which git presented; it was not saved, as this machine holds another grant for ${grant.repository}`, "the grant git presented no longer works; this machine's own grant is unchanged", secretsIn(io.env)));
    } catch (err) {
      const why = isHelperError(err) ? err.what : (err as Error).message;
      io.stderr(warningLine(`the grant service rotated ${describeGrant(grant)}, but the new grant could not be saved: ${why}`, "the old grant no longer works; ask for a new grant and pipe it to git-credential-vers grant add", secretsIn(io.env)));
    }
  };
}

/** `old` rotated to `refreshToken`: its lineage is kept when the grant id changes. */
export function rotatedFrom(old: Grant, refreshToken: string): Grant {
  const lineage = grantLineage(old);
  const next: Grant = { ...old, refreshToken: { value: refreshToken, origin: old.refreshToken.origin } };
  delete next.lineage;
  if (grantIdOf(refreshToken) !== lineage) next.lineage = lineage;
  return next;
}

/**
 * The grants file once `old` has rotated to `refreshToken`, and whether the rotation was kept:
 * - the file's copy of that grant (same lineage, or same grant id) is replaced in its place;
 * - a grant from the environment, which the file does not hold, is saved there (replacing the file's
 *   grant for the same repository and host, which the environment's grant shadowed): from then on the
 *   file's copy supersedes the environment's (grants/held.ts);
 * - a grant git presented (oauth_refresh_token) that this machine does not hold never replaces a grant
 *   of another lineage: it is added only when no grant is held for its repository and host.
 */
export function withRotation(grants: Grant[], old: Grant, refreshToken: string): { grants: Grant[]; kept: boolean } {
  const rotated = rotatedFrom(old, refreshToken);
  const oldId = grantIdOf(old.refreshToken.value);
  const byLineage = grants.findIndex((g) => sameLineage(g, old));
  const at = byLineage >= 0 ? byLineage : grants.findIndex((g) => g.tokenEndpoint === old.tokenEndpoint && grantIdOf(g.refreshToken.value) === oldId);
  if (at >= 0) {
    const held = grants[at]!;
    const next = rotatedFrom(held, refreshToken);
    return { grants: grants.map((g, i) => (i === at ? next : g)), kept: true };
  }
  if (old.refreshToken.origin === ENV_GRANT_ORIGIN) return { grants: putGrant(grants, rotated).grants, kept: true };
  if (grants.some((g) => sameTarget(g, rotated))) return { grants, kept: false };
  return { grants: [...grants, rotated], kept: true };
}
