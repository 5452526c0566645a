import { gitInvocation } from "../argv";
import type { Io } from "../io";
import { printable } from "../protocol/format";
import { scopeFromRepoArgument } from "../scope";
import { serveToken } from "../serve-token";
import { gitConfig } from "../git-config";
import { flagValues, ourHelperWords } from "../helper-lines";
import { normalizeHost, resolveSettings, type Flags, type Settings } from "../settings";
import { wiredHostsIn } from "../status/wired-hosts";
import { createTrace } from "../trace";

export interface TokenOptions {
  repo?: string;
  json?: boolean;
}

/**
 * `token`: prints a token for other tools (GH_TOKEN=$(git-credential-vers token)), through the
 * same cache and lock as git's `get`. With --json: token, expires_at, permissions, repositories.
 */
export async function runToken(io: Io, flags: Flags, options: TokenOptions): Promise<void> {
  const settings = await withWiredHost(io, resolveSettings(flags, io.env), flags, options.repo);
  const scope = scopeFromRepoArgument(options.repo, settings);
  const served = await serveToken({ io, settings, trace: createTrace(io) }, scope);
  const token = printable(served);
  if (!options.json) {
    io.stdout(token + "\n");
    return;
  }
  const out = {
    token,
    expires_at: served.expiresAt === undefined ? null : new Date(served.expiresAt).toISOString(),
    permissions: served.permissions ?? null,
    repositories: served.repositories?.length ? served.repositories : scope.repositories.length ? scope.repositories : null,
    host: scope.host,
    profile: scope.profile ?? null,
  };
  io.stdout(JSON.stringify(out, null, 2) + "\n");
}

/**
 * A host `install` wired counts as configured: `--repo HOST/owner/repo` for a HOST that is not in the
 * settings but that git runs this helper for gets a token for HOST, as git's own `get` would — with the
 * flags of that line (its --profile, --base-url, …) where the command line gives none.
 */
async function withWiredHost(io: Io, settings: Settings, flags: Flags, repo: string | undefined): Promise<Settings> {
  const host = repoHost(repo);
  if (host === undefined || settings.hosts.includes(host)) return settings;
  const config = gitConfig(io.env, io.cwd);
  if (!(await wiredHostsIn(config, io.helperPath)).includes(host)) return settings;
  const line = (await config.getRegexp("^credential\\..*helper$"))
    .map(({ value }) => ourHelperWords(value, io.helperPath))
    .find((words) => words !== undefined && flagValues(words, "--host").map(normalizeHost).includes(host));
  const lineFlags = line ? gitInvocation([...line.slice(1), "get"])?.flags : undefined;
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return resolveSettings({ ...lineFlags, ...given, host: [host] }, io.env);
}

/** The HOST of `--repo HOST/owner/repo` or `https://HOST/owner/repo`; undefined for `owner/repo` (scope.ts reads it in full). */
function repoHost(repo: string | undefined): string | undefined {
  const rest = repo?.trim().replace(/^https:\/\//i, "").replace(/\/+$/, "");
  const parts = rest?.split("/") ?? [];
  return parts.length === 3 ? normalizeHost(parts[0]!) : undefined;
}
