import { isHelperError } from "../errors";
import { parseRepository } from "../scope";
import type { Secret } from "../secrets";
import { isHostName, normalizeBaseUrl, normalizeHost } from "../settings";

/**
 * A refresh grant: `ghr_<grantId>.<secret>` for one repository, redeemed at a token endpoint (OAuth 2.0
 * refresh, RFC 6749 §6). The grant id may be shown (`ghr_<grantId>`); the secret never.
 */
export interface Grant {
  /** "owner/repo", as the grant names it. */
  repository: string;
  /** The whole ghr_<grantId>.<secret>, and where it was found ("~/.vers/grants.json", "env VERS_REFRESH_TOKEN"). */
  refreshToken: Secret;
  tokenEndpoint: string;
  clientId?: string;
  /** RFC 7009 revocation endpoint; the token endpoint's sibling …/revoke when not given. */
  revokeEndpoint?: string;
  /** The git host the grant was issued for (normalized like configured hosts); github.com when not recorded (see grantHost). */
  host?: string;
  /**
   * The grant id this grant was first issued under, when the service has since rotated it to a new id
   * (ghr_<first id>). A grant's lineage (this, else its own id) names it for its lifetime: the cache key,
   * its redemption lock and which grant supersedes which follow the lineage, not the id of the moment.
   */
  lineage?: string;
}

/** Where a grant from the environment comes from (its `refreshToken.origin`). */
export const ENV_GRANT_ORIGIN = "env VERS_REFRESH_TOKEN";

/** A grant's fields before they are checked, from a file, the environment or `grant add`. */
export interface GrantFields {
  repository?: unknown;
  refreshToken?: unknown;
  tokenEndpoint?: unknown;
  clientId?: unknown;
  revokeEndpoint?: unknown;
  host?: unknown;
  lineage?: unknown;
}

/** Where a grant git presented in a request comes from (its `refreshToken.origin`). */
export const PRESENTED_ORIGIN = "git's oauth_refresh_token";

/** The host a grant serves when it records none and several hosts are configured. */
export const DEFAULT_GRANT_HOST = "github.com";

const REFRESH_TOKEN = /^ghr_([A-Za-z0-9_-]{1,128})\.([A-Za-z0-9_-]{8,512})$/;
const GRANT_ID = /^ghr_[A-Za-z0-9_-]{1,128}$/;
const CLIENT_ID = /^[\x21-\x7e]{1,256}$/;

/** True for a well-formed ghr_<grantId>.<secret> (GitHub's own ghr_ refresh tokens have no "." and are not grants). */
export function isRefreshGrant(value: string): boolean {
  return REFRESH_TOKEN.test(value);
}

/** "ghr_<grantId>": what may be shown of a grant, and what the cache key holds. */
export function grantIdOf(refreshToken: string): string {
  const dot = refreshToken.indexOf(".");
  return dot < 0 ? "ghr_?" : refreshToken.slice(0, dot);
}

/** "ghr_<first grant id>": the grant id a grant was first issued under, which its rotations keep. */
export function grantLineage(grant: Grant): string {
  return grant.lineage ?? grantIdOf(grant.refreshToken.value);
}

/** True when `a` and `b` are one grant, maybe at different rotations: same endpoint, same lineage. */
export function sameLineage(a: Grant, b: Grant): boolean {
  return a.tokenEndpoint === b.tokenEndpoint && grantLineage(a) === grantLineage(b);
}

/**
 * The source identity of a grant (the cache key covers it): the endpoint and the grant's lineage, never
 * the secret. A rotation to a new grant id keeps the lineage, so the tokens cached for the grant stay
 * found after it rotates.
 */
export function grantIdentity(grant: Grant): string {
  return `grant ${grant.tokenEndpoint} ${grantLineage(grant)}`;
}

/**
 * The one host a grant's tokens go to: the host it records; else, with one configured host, that host;
 * else github.com. A recorded host is never widened: a grant issued for ghe.example.com serves only it.
 */
export function grantHost(grant: Grant, hosts: readonly string[]): string {
  return grant.host ?? (hosts.length === 1 ? hosts[0]! : DEFAULT_GRANT_HOST);
}

/** Same repository on the same recorded host (github.com when none is recorded): one grant per such pair. */
export function sameTarget(a: Grant, b: Grant): boolean {
  return sameRepository(a.repository, b.repository) && (a.host ?? DEFAULT_GRANT_HOST) === (b.host ?? DEFAULT_GRANT_HOST);
}

/** "the grant ghr_abc for acme/widgets". */
export function describeGrant(grant: Grant): string {
  return `the grant ${grantIdOf(grant.refreshToken.value)} for ${grant.repository}`;
}

export function revokeEndpointOf(grant: Grant): string {
  return grant.revokeEndpoint ?? new URL("revoke", grant.tokenEndpoint).href;
}

/** GitHub owner and repository names are case-insensitive. */
export function sameRepository(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * `grants` with `grant` in the place of the one for its repository (on its host) or of its lineage (one
 * grant per repository and host), else added at the end; and the grant it replaced, if any.
 */
export function putGrant(grants: Grant[], grant: Grant): { grants: Grant[]; replaced?: Grant } {
  const id = grantIdOf(grant.refreshToken.value);
  const matches = (g: Grant) => grantIdOf(g.refreshToken.value) === id || sameLineage(g, grant) || sameTarget(g, grant);
  const at = grants.findIndex(matches);
  const rest = grants.filter((g) => !matches(g));
  if (at < 0) return { grants: [...rest, grant] };
  // Every grant before the first match is kept, so `at` is still its place in `rest`.
  return { grants: [...rest.slice(0, at), grant, ...rest.slice(at)], replaced: grants[at] };
}

/** Checks a grant's fields; the grant, or why it is not one. No message ever holds the refresh token. */
export function checkGrant(fields: GrantFields, origin: string): Grant | string {
  const { repository, refreshToken, tokenEndpoint, clientId, revokeEndpoint, lineage } = fields;
  const tokenProblem = refreshTokenProblem(refreshToken);
  if (tokenProblem || typeof refreshToken !== "string") return tokenProblem ?? "it has no refresh token";
  if (typeof repository !== "string" || !repository) return "it names no repository";
  const repo = parseRepository(repository);
  if (!repo) return `its repository "${repository.slice(0, 200)}" is not owner/repo`;
  if (typeof tokenEndpoint !== "string" || !tokenEndpoint) return "it has no token endpoint";
  const endpoint = checkUrl(tokenEndpoint, "its token endpoint");
  if (!endpoint.ok) return endpoint.why;
  if (clientId !== undefined && (typeof clientId !== "string" || !CLIENT_ID.test(clientId))) return "its client id is not printable ASCII of at most 256 characters";
  const revoke = revokeEndpoint === undefined ? undefined : checkUrl(String(revokeEndpoint), "its revoke endpoint");
  if (revoke && !revoke.ok) return revoke.why;
  const host = checkHost(fields.host);
  if (host !== undefined && !host.ok) return host.why;
  if (lineage !== undefined && (typeof lineage !== "string" || !GRANT_ID.test(lineage))) return "its lineage is not a grant id ghr_<grantId>";
  return {
    repository: `${repo.owner}/${repo.name}`,
    refreshToken: { value: refreshToken, origin },
    tokenEndpoint: endpoint.url,
    ...(clientId !== undefined && { clientId: clientId as string }),
    ...(revoke && { revokeEndpoint: revoke.url }),
    ...(host && { host: host.host }),
    ...(lineage !== undefined && lineage !== grantIdOf(refreshToken) && { lineage: lineage as string }),
  };
}

/** A recorded host, checked like the configured ones (normalized: lower case, no :443); undefined when none is given. */
function checkHost(value: unknown): { ok: true; host: string } | { ok: false; why: string } | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const host = typeof value === "string" ? normalizeHost(value) : "";
  return host && isHostName(host) ? { ok: true, host } : { ok: false, why: `its host "${String(value).slice(0, 200)}" is not a host name such as github.com or ghe.example.com:8443` };
}

/** Why a value is not a refresh grant, or undefined when it is one. Never repeats the value. */
export function refreshTokenProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || !value) return "it has no refresh token";
  return isRefreshGrant(value) ? undefined : "its refresh token is not ghr_<grantId>.<secret> (letters, digits, _ and -; a secret of 8 or more)";
}

/** https, or http on loopback; no credentials, query or fragment (as for the broker). */
function checkUrl(raw: string, name: string): { ok: true; url: string } | { ok: false; why: string } {
  try {
    return { ok: true, url: normalizeBaseUrl(raw, name, false) };
  } catch (err) {
    if (isHelperError(err)) return { ok: false, why: `${err.what} (${err.hint})` };
    throw err;
  }
}

/** A grant as the grants file stores it (snake_case, as the service's OAuth answers spell it). */
export function storedGrant(grant: Grant): Record<string, string> {
  return {
    repository: grant.repository,
    refresh_token: grant.refreshToken.value,
    token_endpoint: grant.tokenEndpoint,
    ...(grant.clientId !== undefined && { client_id: grant.clientId }),
    ...(grant.revokeEndpoint !== undefined && { revoke_endpoint: grant.revokeEndpoint }),
    ...(grant.host !== undefined && { host: grant.host }),
    ...(grant.lineage !== undefined && { lineage: grant.lineage }),
  };
}
