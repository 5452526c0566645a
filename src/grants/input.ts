import { HelperError } from "../errors";
import { parseRepository } from "../scope";
import { normalizeBaseUrl } from "../settings";
import { checkGrant, refreshTokenProblem, type Grant, type GrantFields } from "./grant";

/** `grant add`'s flags: they supply what the grant on stdin does not say, and may not contradict it. */
export interface GrantAddOptions {
  repo?: string;
  tokenEndpoint?: string;
  clientId?: string;
}

/**
 * The grant `grant add` reads on stdin (never argv, so the secret stays out of `ps` and shell history):
 * a bare ghr_<grantId>.<secret>, the minting service's JSON (`refreshToken`, `tokenEndpoint`,
 * `clientId`, `repository` as "owner/repo", `{full_name}` or only `{id}`, an optional `host`), or the grants file's
 * snake_case form. A malformed grant is one error line that never repeats the input.
 */
export function grantFromInput(text: string, options: GrantAddOptions, origin: string): Grant {
  const input = text.trim();
  if (!input) throw refused("nothing was read on stdin", "pipe the grant in: … | git-credential-vers grant add");
  const fields = input.startsWith("{") ? jsonFields(input) : bareFields(input);
  const merged: GrantFields = {
    ...fields,
    repository: pick("repository", fields.repository, options.repo, (a, b) => sameRepo(a, b)),
    tokenEndpoint: pick("token endpoint", fields.tokenEndpoint, options.tokenEndpoint, sameUrl),
    clientId: pick("client id", fields.clientId, options.clientId, (a, b) => a === b),
  };
  const tokenProblem = refreshTokenProblem(merged.refreshToken);
  if (tokenProblem) throw refused(tokenProblem, "check what was piped in: a ghr_<grantId>.<secret>, or the service's JSON");
  if (merged.repository === undefined && fields.repositoryId !== undefined) {
    throw refused(`the grant names repository id ${fields.repositoryId} but not its owner/repo`, "give it with --repo owner/repo");
  }
  if (merged.tokenEndpoint === undefined) throw refused("it has no token endpoint", "give it with --token-endpoint https://…");
  if (merged.repository === undefined) throw refused("it names no repository", "give it with --repo owner/repo");
  const grant = checkGrant(merged, origin);
  if (typeof grant === "string") throw refused(grant, "check what was piped in: a ghr_<grantId>.<secret>, or the service's JSON");
  return grant;
}

type InputFields = GrantFields & { repositoryId?: string };

function jsonFields(input: string): InputFields {
  let data: unknown;
  try {
    data = JSON.parse(input);
  } catch {
    throw refused("stdin starts with { but is not JSON", "pipe the service's JSON as it is, or the bare ghr_… grant");
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw refused("the JSON is not an object", "pipe the service's JSON as it is");
  const d = data as Record<string, unknown>;
  const repo = d.repository;
  const record = typeof repo === "object" && repo !== null ? (repo as Record<string, unknown>) : undefined;
  return {
    refreshToken: d.refreshToken ?? d.refresh_token,
    tokenEndpoint: d.tokenEndpoint ?? d.token_endpoint,
    clientId: d.clientId ?? d.client_id,
    revokeEndpoint: d.revokeEndpoint ?? d.revoke_endpoint,
    host: d.host,
    repository: record ? (record.full_name ?? record.fullName) : repo,
    repositoryId: typeof record?.id === "number" || typeof record?.id === "string" ? String(record.id).slice(0, 40) : undefined,
  };
}

function bareFields(input: string): InputFields {
  if (/\s/.test(input)) throw refused("stdin holds more than one word and is not JSON", "pipe the bare ghr_… grant alone, or the service's JSON");
  return { refreshToken: input };
}

/** The grant's own value, else the flag's; both given and different is an error. */
function pick(name: string, own: unknown, flag: string | undefined, same: (a: string, b: string) => boolean): unknown {
  if (own === undefined || own === null || own === "") return flag;
  if (flag !== undefined && typeof own === "string" && !same(own, flag)) {
    throw refused(`the grant's ${name} is ${own.slice(0, 200)}, but the flag says ${flag.slice(0, 200)}`, `drop the flag, or fix the grant`);
  }
  return own;
}

function sameRepo(a: string, b: string): boolean {
  const x = parseRepository(a);
  const y = parseRepository(b);
  return !!x && !!y && `${x.owner}/${x.name}`.toLowerCase() === `${y.owner}/${y.name}`.toLowerCase();
}

function sameUrl(a: string, b: string): boolean {
  try {
    return normalizeBaseUrl(a, "", false) === normalizeBaseUrl(b, "", false);
  } catch {
    return a === b;
  }
}

function refused(what: string, hint: string): HelperError {
  return new HelperError("bad-input", `not adding the grant: ${what}`, hint);
}
