import { HelperError } from "./errors";
import type { CredentialRequest } from "./protocol/parse";
import { normalizeHost, type Settings } from "./settings";
import type { Permissions } from "./profiles";

/** What a token is for: one host, optionally one repository, optionally limited permissions. */
export interface Scope {
  host: string;
  /** Owner (user or organisation) of the repository, when git sent a path. */
  owner?: string;
  /** Bare repository names; empty = every repository the installation can reach. */
  repositories: string[];
  permissions?: Permissions;
  profile?: string;
}

/**
 * The security boundary: a request gets an answer only over https and for a configured host
 * (exact match, case-insensitive, port included). Anything else returns undefined.
 */
export function matchRequest(request: CredentialRequest, settings: Settings): Scope | undefined {
  const host = matchHost(request, settings.hosts);
  return host === undefined ? undefined : scopeFor(host, request, settings);
}

/** The scope of a request whose host `matchHost` already accepted: its repository, the profile's permissions. */
export function scopeFor(host: string, request: CredentialRequest, settings: Settings): Scope {
  return { host, ...repositoryFromPath(request.path), permissions: settings.permissions, profile: settings.profile };
}

/**
 * The configured host a request is for, or undefined: https only, and the host exactly equal to a
 * configured one but for case and an explicit :443 — no trimming, so " github.com" never matches.
 */
export function matchHost(request: CredentialRequest, hosts: string[]): string | undefined {
  if (request.protocol?.toLowerCase() !== "https" || request.host === undefined) return undefined;
  const host = request.host.toLowerCase().replace(/:443$/, "");
  return hosts.includes(host) ? host : undefined;
}

/** "owner/repo.git" → { owner, repositories: ["repo"] }; anything shorter is org-wide. */
export function repositoryFromPath(path: string | undefined): Pick<Scope, "owner" | "repositories"> {
  const [owner, repo] = (path ?? "").split("/").filter(Boolean);
  const name = repo?.replace(/\.git$/i, "");
  if (!owner || !name) return { repositories: [] };
  return { owner, repositories: [name] };
}

/** A short human description, e.g. "acme/widgets with profile clone" or "every repository". */
export function describeScope(scope: Scope): string {
  const where = scope.repositories.length ? scope.repositories.map((r) => (scope.owner ? `${scope.owner}/${r}` : r)).join(", ") : "every repository";
  return scope.profile ? `${where} with profile ${scope.profile}` : where;
}

/** A GitHub owner or repository name: letters, digits, "_", ".", "-"; never "." or "..". */
function isName(name: string | undefined): name is string {
  return !!name && /^[A-Za-z0-9_.-]+$/.test(name) && name !== "." && name !== "..";
}

/**
 * `token --repo R`: owner/repo, HOST/owner/repo or https://HOST/owner/repo, each optionally
 * ending in .git. HOST must be configured; owner/repo alone means the first configured host.
 */
export function scopeFromRepoArgument(value: string | undefined, settings: Settings): Scope {
  const base = { permissions: settings.permissions, profile: settings.profile };
  if (value === undefined) return { host: settings.hosts[0]!, repositories: [], ...base };
  const bad = () =>
    new HelperError("bad-setting", `--repo "${value}" is not a repository`, "use owner/repo, HOST/owner/repo or https://HOST/owner/repo");
  let rest = value.trim().replace(/\/+$/, "").replace(/\.git$/i, "");
  let host = settings.hosts[0]!;
  const withScheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(rest);
  if (withScheme) {
    if (withScheme[1]!.toLowerCase() !== "https") throw bad();
    rest = withScheme[2]!;
  }
  const parts = rest.split("/");
  if (parts.length === 3 || withScheme) {
    if (parts.length !== 3) throw bad();
    host = normalizeHost(parts.shift()!);
    if (!settings.hosts.includes(host)) {
      throw new HelperError("bad-setting", `--repo names host ${host}, which is not configured`, `configured: ${settings.hosts.join(", ")}; add it with --host or VERS_GITHUB_HOST`);
    }
  }
  const [owner, repo] = parts;
  if (parts.length !== 2 || !isName(owner) || !isName(repo)) throw bad();
  return { host, owner, repositories: [repo], ...base };
}
