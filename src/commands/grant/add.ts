import { HelperError, warningLine } from "../../errors";
import { updateGrants } from "../../grants/file";
import { describeGrant, grantIdOf, putGrant, sameRepository, type Grant } from "../../grants/grant";
import { envGrant } from "../../grants/held";
import { grantFromInput, type GrantAddOptions } from "../../grants/input";
import type { Io } from "../../io";
import { MAX_FILE_BYTES } from "../../safe-files";

/**
 * `grant add [--repo R] [--token-endpoint URL] [--client-id ID]`: the grant comes on stdin (see
 * grants/input.ts) and goes into the grants file, atomically (0600), replacing any grant for the same
 * repository: one grant per repository. Nothing is written when the grant is malformed.
 */
export async function runGrantAdd(io: Io, options: GrantAddOptions): Promise<void> {
  const text = await io.readStdin(MAX_FILE_BYTES, () => false);
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) throw new HelperError("bad-input", "not adding the grant: stdin is over 64 KiB", "pipe the grant alone");
  const grant = grantFromInput(text, options, "grants file");
  let replaced: Grant | undefined;
  const file = await updateGrants(io, (grants) => {
    const put = putGrant(grants, grant);
    replaced = put.replaced;
    return put.grants;
  });
  const instead = replaced ? `, replacing ${grantIdOf(replaced.refreshToken.value)}${sameRepository(replaced.repository, grant.repository) ? "" : ` for ${replaced.repository}`}` : "";
  io.stdout(`added ${describeGrant(grant)} (token endpoint ${grant.tokenEndpoint}) to ${file.shown}${instead}\n`);
  const shadow = shadowingEnvGrant(io, grant);
  if (shadow) io.stderr(warningLine(`VERS_REFRESH_TOKEN holds another grant for ${shadow.repository} (${grantIdOf(shadow.refreshToken.value)}), which is used instead of this one`, "unset VERS_REFRESH_TOKEN if this grant replaces it"));
}

/** The environment's grant for the same repository under another grant id: it wins over the file's. */
function shadowingEnvGrant(io: Io, grant: Grant): Grant | undefined {
  try {
    const env = envGrant(io.env);
    return env && sameRepository(env.repository, grant.repository) && grantIdOf(env.refreshToken.value) !== grantIdOf(grant.refreshToken.value) ? env : undefined;
  } catch {
    return undefined;
  }
}
