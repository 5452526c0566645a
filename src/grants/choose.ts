import { HelperError } from "../errors";
import type { Env } from "../io";
import type { Scope } from "../scope";
import type { Settings } from "../settings";
import { checkGrant, grantHost, grantIdOf, grantLineage, isRefreshGrant, PRESENTED_ORIGIN, sameRepository, type Grant } from "./grant";
import type { HeldGrants } from "./held";

/** What one request asks of the grant source: its scope, and git's oauth_refresh_token if it sent one. */
export interface GrantRequest {
  scope?: Scope;
  refreshToken?: string;
}

/**
 * The grant that serves a request, or an error saying why none does (so git gets no answer and no
 * request is sent). A grant serves only its repository and its host (grantHost): with a path, that
 * repository's grant for the request's host; with no path, the one grant held for that host, if exactly
 * one is. A grant for the repository on another host is returned as it is: the pipeline's host check
 * (choose-source.ts hostRefusal) then refuses the request, naming the host it serves. git's
 * oauth_refresh_token, when it is a grant, is used for the request (see presentedGrant). A grant cannot
 * narrow a token's permissions, so a profile is an error rather than a wider token than asked for.
 */
export function grantFor(held: HeldGrants, settings: Settings, env: Env, request: GrantRequest = {}): Grant {
  if (settings.permissions) {
    throw new HelperError("bad-setting", `a refresh grant cannot limit a token's permissions (profile ${settings.profile})`, "unset --profile / VERS_GITHUB_PROFILE for the grant source: its tokens have the permissions the grant was issued with");
  }
  const scope = request.scope;
  const wanted = scope?.owner && scope.repositories.length === 1 ? `${scope.owner}/${scope.repositories[0]}` : undefined;
  const onHost = (g: Grant) => scope === undefined || grantHost(g, settings.hosts) === scope.host;
  const presented = presentedGrant(held, env, request.refreshToken, wanted, onHost);
  if (presented) return presented;
  if (wanted) {
    const forRepository = held.grants.filter((g) => sameRepository(g.repository, wanted));
    const grant = forRepository.find(onHost) ?? forRepository[0];
    if (grant) return grant;
    throw new HelperError("no-key", `no refresh grant is held for ${wanted}${heldList(held)}`, "a grant serves only its own repository; add one for this one with git-credential-vers grant add");
  }
  const candidates = held.grants.filter(onHost);
  if (candidates.length === 1) return candidates[0]!;
  if (held.grants.length === 1) return held.grants[0]!;
  if (scope && candidates.length === 0 && held.grants.length > 1) {
    const served = [...new Set(held.grants.map((g) => grantHost(g, settings.hosts)))].join(", ");
    throw new HelperError("no-key", `the refresh grants held serve ${served}, not ${scope.host}`, "a grant's tokens go only to the host it was issued for; add a grant issued for this host with git-credential-vers grant add");
  }
  if (held.grants.length === 0 && !request.refreshToken) {
    throw new HelperError("no-key", "no refresh grant is held", "pipe one to git-credential-vers grant add, or set VERS_REFRESH_TOKEN, VERS_TOKEN_ENDPOINT and VERS_GRANT_REPOSITORY");
  }
  throw new HelperError(
    "no-key",
    `${held.grants.length === 0 ? "no refresh grant is held" : `${held.grants.length} refresh grants are held`} and git sent no repository path to choose one${heldList(held)}`,
    "set credential.useHttpPath so that git names the repository: git-credential-vers install --per-repo",
  );
}

/** The scope a grant's token really has: its one repository, on the host asked for. */
export function grantScope(scope: Scope, grant: Grant): Scope {
  const [owner, name] = grant.repository.split("/") as [string, string];
  return { host: scope.host, owner, repositories: [name] };
}

/**
 * git's oauth_refresh_token (git ≥ 2.41 passes one a storing helper kept) as the grant for this
 * request. A grant this machine holds under the same grant id or lineage (a retired id of it) is used
 * as held: the held copy is the one kept current when the grant rotates. Another grant is used for the
 * repository in the request's path, at the token endpoint (and host) of the grant held for that
 * repository, else VERS_TOKEN_ENDPOINT. Anything else (GitHub's own ghr_ tokens, no path, no endpoint)
 * is ignored: it is never sent anywhere.
 */
function presentedGrant(held: HeldGrants, env: Env, value: string | undefined, wanted: string | undefined, onHost: (g: Grant) => boolean): Grant | undefined {
  if (!value || !isRefreshGrant(value)) return undefined;
  const id = grantIdOf(value);
  const same = held.grants.find((g) => grantIdOf(g.refreshToken.value) === id || grantLineage(g) === id);
  if (same) return !wanted || sameRepository(same.repository, wanted) ? same : undefined;
  if (!wanted) return undefined;
  const forRepository = held.grants.filter((g) => sameRepository(g.repository, wanted));
  const base = forRepository.find(onHost) ?? forRepository[0];
  const tokenEndpoint = base?.tokenEndpoint ?? env.VERS_TOKEN_ENDPOINT?.trim();
  if (!tokenEndpoint) return undefined;
  const clientId = base ? base.clientId : env.VERS_CLIENT_ID?.trim() || undefined;
  const grant = checkGrant({ repository: wanted, refreshToken: value, tokenEndpoint, clientId, host: base?.host }, PRESENTED_ORIGIN);
  return typeof grant === "string" ? undefined : grant;
}

function heldList(held: HeldGrants): string {
  return held.grants.length ? ` (held: ${held.grants.map((g) => g.repository).join(", ")})` : "";
}
