import { isHelperError, warningLine } from "../errors";
import type { Io } from "../io";
import { secretsIn } from "../secrets";
import type { Trace } from "../trace";
import { updateGrants } from "./file";
import { describeGrant, grantIdOf, putGrant, type Grant } from "./grant";

/**
 * What keeps a rotated grant: the grants file's grant for that repository (or with that grant id) is
 * replaced by the new one, atomically and under the file's lock. Called while the minting process still
 * holds the cache entry's lock. A grant from the environment cannot be updated there, so it is saved to
 * the file, whose copy wins for that grant id from then on. When it cannot be saved the user is told at
 * once: the old grant no longer works.
 */
export function keepRotatedGrant(io: Pick<Io, "env" | "homedir" | "uid" | "now" | "sleep" | "stderr">, trace: Trace, grant: Grant): (refreshToken: string) => Promise<void> {
  return async (refreshToken) => {
    try {
      const rotated: Grant = { ...grant, refreshToken: { value: refreshToken, origin: grant.refreshToken.origin } };
      const file = await updateGrants(io, (grants) => putGrant(grants, rotated).grants);
      trace(`saved the rotated grant ${grantIdOf(refreshToken)} for ${grant.repository} in ${file.shown}`);
    } catch (err) {
      const why = isHelperError(err) ? err.what : (err as Error).message;
      io.stderr(warningLine(`the grant service rotated ${describeGrant(grant)}, but the new grant could not be saved: ${why}`, "the old grant no longer works; ask for a new grant and pipe it to git-credential-vers grant add", secretsIn(io.env)));
    }
  };
}
