import type { Io } from "../io";
import { printable } from "../protocol/format";
import { scopeFromRepoArgument } from "../scope";
import { serveToken } from "../serve-token";
import { resolveSettings, type Flags } from "../settings";
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
  const settings = resolveSettings(flags, io.env);
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
