import { HelperError } from "./errors";
import type { CredentialRequest } from "./protocol/parse";
import type { Permissions } from "./profiles";
import { normalizeHost, type Settings } from "./settings";

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
 * The security boundary: the configured host a request is for, or undefined. https only, and the
 * host exactly equal to a configured one but for case and an explicit :443 — no trimming, so
 * " github.com" never matches.
 */
export function matchHost(request: CredentialRequest, hosts: string[]): string | undefined {
  if (request.protocol?.toLowerCase() !== "https" || request.host === undefined) return undefined;
  const host = request.host.toLowerCase().replace(/:443$/, "");
  return hosts.includes(host) ? host : undefined;
}

/**
 * The scope of a request whose host `matchHost` accepted. No path (git's default) is org-wide; a
 * path (credential.useHttpPath) must name one repository, or the request gets no answer: a path
 * never widens to org-wide.
 */
export function scopeFor(host: string, request: CredentialRequest, settings: Settings): Scope {
  const base = { host, permissions: settings.permissions, profile: settings.profile };
  if (request.path === undefined) return { ...base, repositories: [] };
  const repo = parseRepository(request.path);
  if (!repo) {
    throw new HelperError("bad-input", `git asked for path "${request.path.slice(0, 200)}", which names no repository`, "with credential.useHttpPath the path must be owner/repo; no token is given for anything else");
  }
  return { ...base, owner: repo.owner, repositories: [repo.name] };
}

/**
 * "owner/repo" with an optional ".git": each name [A-Za-z0-9_.-]+, never "." or "..", and nothing
 * else (no leading or trailing slash, no third part). The one check for paths and `--repo`.
 */
export function parseRepository(path: string): { owner: string; name: string } | undefined {
  const parts = path.split("/");
  if (parts.length !== 2) return undefined;
  const owner = parts[0]!;
  const name = parts[1]!.replace(/\.git$/i, "");
  return isName(owner) && isName(name) ? { owner, name } : undefined;
}

/** A short human description, e.g. "acme/widgets with profile clone" or "every repository". */
export function describeScope(scope: Scope): string {
  const where = scope.repositories.length ? scope.repositories.map((r) => (scope.owner ? `${scope.owner}/${r}` : r)).join(", ") : "every repository";
  return scope.profile ? `${where} with profile ${scope.profile}` : where;
}

/** A GitHub owner or repository name: letters, digits, "_", ".", "-"; never "." or "..". */
export function isName(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name) && name !== "." && name !== "..";
}

/**
 * `token --repo R`: owner/repo, HOST/owner/repo or https://HOST/owner/repo, each optionally
 * ending in .git. HOST must be configured; owner/repo alone means the first configured host.
 */
export function scopeFromRepoArgument(value: string | undefined, settings: Settings): Scope {
  const base = { permissions: settings.permissions, profile: settings.profile };
  if (value === undefined) return { host: settings.hosts[0]!, repositories: [], ...base };
  const bad = () => new HelperError("bad-setting", `--repo "${value.slice(0, 200)}" is not a repository`, "use owner/repo, HOST/owner/repo or https://HOST/owner/repo");
  let rest = value.trim().replace(/\/+$/, "");
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
  const repo = parseRepository(parts.join("/"));
  if (!repo) throw bad();
  return { host, owner: repo.owner, repositories: [repo.name], ...base };
}
