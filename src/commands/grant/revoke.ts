import { cacheFolder } from "../../cache/folder";
import { keySourceIdentity } from "../../cache/key";
import { CacheStore } from "../../cache/store";
import { Deadline } from "../../deadline";
import { HelperError, isHelperError } from "../../errors";
import { stopDaemons } from "../../fast-path/daemons";
import { updateGrants } from "../../grants/file";
import { describeGrant, ENV_GRANT_ORIGIN, grantIdentity, grantIdOf, sameRepository, type Grant } from "../../grants/grant";
import { heldGrants } from "../../grants/held";
import type { Io } from "../../io";
import { parseRepository } from "../../scope";
import { resolveSettings, type Flags } from "../../settings";
import { createTrace } from "../../trace";

/** Failures after which the grant may well still be valid at the service. */
const UNSURE = ["unavailable", "unreachable", "timeout", "rate-limited"];

/**
 * `grant revoke [--repo R]`: revokes the grant at its service (RFC 7009), then removes it from the
 * grants file and drops the tokens it minted: its cache entries, and the fast path's daemons (which may
 * hold one). When the service cannot be reached the grant is kept, and the user told it may still work.
 */
export async function runGrantRevoke(io: Io, flags: Flags, options: { repo?: string }): Promise<number> {
  const held = heldGrants(io);
  const grant = chosen(held.grants, options.repo);
  const settings = resolveSettings(flags, io.env);
  const network = await import("../../sources");
  try {
    await network.revokeGrant(grant, { deadline: Deadline.in(settings.timeoutMs, io.now), trace: createTrace(io), now: io.now, env: io.env, maxAttempts: 3 });
  } catch (err) {
    if (!isHelperError(err) || !UNSURE.includes(err.code)) throw err;
    throw new HelperError(err.code, `${describeGrant(grant)} was not revoked: ${err.what}; it may still be valid`, "run git-credential-vers grant revoke again later; the grant is kept until then", err.status);
  }
  const done = [`revoked ${describeGrant(grant)}`];
  const id = grantIdOf(grant.refreshToken.value);
  if (held.file && grant.refreshToken.origin !== ENV_GRANT_ORIGIN) {
    await updateGrants(io, (grants) => grants.filter((g) => grantIdOf(g.refreshToken.value) !== id));
    done.push(`removed it from ${held.file.shown}`);
  }
  done.push(await dropTokens(io, grant));
  io.stdout(done.join("; ") + "\n");
  const fromEnv = io.env.VERS_REFRESH_TOKEN?.trim();
  if (fromEnv && grantIdOf(fromEnv) === id) io.stdout("unset VERS_REFRESH_TOKEN: the grant in it no longer works\n");
  return 0;
}

/** The grant for --repo, or the only grant held. */
function chosen(grants: Grant[], repo: string | undefined): Grant {
  if (repo !== undefined) {
    const wanted = parseRepository(repo.trim());
    if (!wanted) throw new HelperError("bad-setting", `--repo "${repo.slice(0, 200)}" is not owner/repo`, "give the repository as owner/repo");
    const grant = grants.find((g) => sameRepository(g.repository, `${wanted.owner}/${wanted.name}`));
    if (!grant) throw new HelperError("no-key", `no refresh grant is held for ${wanted.owner}/${wanted.name}`, "git-credential-vers grant list shows the grants held");
    return grant;
  }
  if (grants.length === 1) return grants[0]!;
  if (grants.length === 0) throw new HelperError("no-key", "no refresh grant is held", "there is nothing to revoke");
  throw new HelperError("bad-setting", `${grants.length} refresh grants are held (${grants.map((g) => g.repository).join(", ")})`, "say which with --repo owner/repo");
}

/** Removes the grant's cached tokens, and stops the fast path's daemons, which may hold one. */
async function dropTokens(io: Io, grant: Grant): Promise<string> {
  const folder = cacheFolder(io);
  if (folder.problem) return `its cached tokens were left alone (${folder.problem.what})`;
  const identity = grantIdentity(grant);
  const removed = new CacheStore(folder.dir, io.uid).removeEntries((key) => keySourceIdentity(key) === identity);
  await stopDaemons(folder.dir, io.env);
  return `dropped ${removed} cached token${removed === 1 ? "" : "s"}`;
}
