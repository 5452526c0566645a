import { statSync } from "node:fs";
import { isFresh, isUsable, type CacheEntry } from "../cache/entry";
import { cacheDir } from "../cache/location";
import { CacheStore, folderProblem } from "../cache/store";
import { appKeyOrigin, resolveSource, type SourceConfig } from "../credentials";
import { errorLine, isHelperError } from "../errors";
import { gitConfig } from "../git-config";
import type { Io } from "../io";
import type { Settings } from "../settings";
import { redact } from "../trace";
import { VERSION } from "../version";
import { hostWiring, type HostWiring } from "./wiring";

export interface Problem {
  what: string;
  fix: string;
}

/** The stable shape of `status --json` (documented in the README). */
export interface Status {
  version: string;
  ok: boolean;
  problems: Problem[];
  source: Record<string, string | null>;
  settings: { hosts: string[]; profile: string | null; refreshMarginSeconds: number; timeoutSeconds: number; fallback: string | null; strict: boolean };
  cache: { dir: string; exists: boolean; mode: string | null; uid: number | null; usable: boolean; entries: EntryStatus[]; unreadable: string[] };
  git: HostWiring[];
  check?: { ok: boolean; ms: number; message: string };
}

export interface EntryStatus {
  host: string;
  owner: string | null;
  repositories: string[];
  permissions: Record<string, string>;
  source: string;
  expiresAt: string;
  secondsLeft: number;
  state: "fresh" | "refresh-due" | "expired";
  token: string;
}

export async function collectStatus(io: Io, settings: Settings): Promise<{ status: Status; source?: SourceConfig }> {
  const problems: Problem[] = [];
  const { source, summary } = describeSource(io, settings, problems);
  const cache = describeCache(io, settings, problems);
  const config = gitConfig(io.env, io.cwd);
  const git = await Promise.all(settings.hosts.map((host) => hostWiring(config, host, io.helperPath)));
  for (const w of git) {
    if (!w.wired) problems.push({ what: `git is not wired to this helper for https://${w.host}`, fix: `run git-credential-vers install --host ${w.host}` });
    else if (w.others.length) problems.push({ what: `git also runs ${w.others.join(", ")} for https://${w.host}, which may store or shadow our tokens`, fix: `run git-credential-vers install --host ${w.host} (it adds an empty reset before this helper)` });
  }
  const status: Status = {
    version: VERSION,
    ok: problems.length === 0,
    problems,
    source: summary,
    settings: {
      hosts: settings.hosts,
      profile: settings.profile ?? null,
      refreshMarginSeconds: settings.refreshMarginMs / 1000,
      timeoutSeconds: settings.timeoutMs / 1000,
      fallback: settings.fallbackStatic ? "static" : null,
      strict: settings.strict,
    },
    cache,
    git,
  };
  return { status, source };
}

function describeSource(io: Io, settings: Settings, problems: Problem[]): { source?: SourceConfig; summary: Record<string, string | null> } {
  try {
    const source = resolveSource(settings, io.env, io.homedir);
    switch (source.kind) {
      case "broker":
        return { source, summary: { kind: "broker", baseUrl: source.baseUrl, key: redact(source.apiKey.value), keyFrom: source.apiKey.origin } };
      case "github-app":
        if (!appKeyOrigin(io.env)) {
          problems.push({ what: `no private key is set for GitHub App ${source.appId}`, fix: "set GITHUB_APP_PRIVATE_KEY, GITHUB_APP_PRIVATE_KEY_B64 or GITHUB_APP_PRIVATE_KEY_FILE" });
        }
        return {
          source,
          summary: { kind: "github-app", apiUrl: source.apiUrl, appId: source.appId, installationId: source.installationId ?? null, keyFrom: appKeyOrigin(io.env) ?? null },
        };
      case "static":
        return { source, summary: { kind: "static", key: redact(source.token.value), keyFrom: source.token.origin } };
    }
  } catch (err) {
    const message = isHelperError(err) ? err : undefined;
    problems.push({ what: message?.what ?? errorLine(err), fix: message?.hint ?? "see the README" });
    return { summary: { kind: settings.source, error: message?.what ?? errorLine(err) } };
  }
}

function describeCache(io: Io, settings: Settings, problems: Problem[]): Status["cache"] {
  const dir = cacheDir();
  let mode: string | null = null;
  let uid: number | null = null;
  try {
    const st = statSync(dir);
    mode = (st.mode & 0o777).toString(8);
    uid = st.uid;
  } catch {
    // Not created yet: the first get makes it.
  }
  const problem = folderProblem(dir);
  if (problem) problems.push({ what: `the cache is not used: ${problem}`, fix: `chmod 700 ${dir} (or remove it)` });
  const { entries, unreadable } = problem ? { entries: [], unreadable: [] } : new CacheStore(dir).list();
  const now = io.now();
  return { dir, exists: mode !== null, mode, uid, usable: !problem, entries: entries.map((e) => describeEntry(e, now, settings.refreshMarginMs)), unreadable };
}

function describeEntry(e: CacheEntry, now: number, marginMs: number): EntryStatus {
  return {
    host: e.host,
    owner: e.owner ?? null,
    repositories: e.repositories,
    permissions: e.permissions ?? {},
    source: e.source,
    expiresAt: new Date(e.expiresAt).toISOString(),
    secondsLeft: Math.max(0, Math.round((e.expiresAt - now) / 1000)),
    state: isFresh(e, now, marginMs) ? "fresh" : isUsable(e, now) ? "refresh-due" : "expired",
    token: redact(e.token),
  };
}
