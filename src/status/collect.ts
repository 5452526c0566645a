import { accessSync, constants, lstatSync } from "node:fs";
import { isUsable, type CacheEntry } from "../cache/entry";
import { cacheFolder } from "../cache/folder";
import { isFresh, refreshPolicy } from "../cache/freshness";
import { keySourceIdentity } from "../cache/key";
import { CacheStore } from "../cache/store";
import { grantSource, pickSource, type NetworkSource } from "../choose-source";
import { errorLine, isHelperError } from "../errors";
import { parseRedisUrl } from "../fleet/url";
import { gitConfig } from "../git-config";
import { grantFor } from "../grants/choose";
import { grantSummary, type GrantSummary } from "../grants/summary";
import type { Io } from "../io";
import { appKeyOrigin } from "../secrets";
import type { Settings } from "../settings";
import { redact } from "../trace";
import { VERSION } from "../version";
import { hostWiring, type HostWiring } from "./wiring";

export interface Problem {
  what: string;
  fix: string;
}

/** The stable shape of `status --json` (documented in the README). `ok` is derived: no problems. */
export interface Status {
  version: string;
  ok: boolean;
  problems: Problem[];
  /** What does not stop git but should be fixed (a key file others can read). */
  warnings: Problem[];
  source: Record<string, string | null>;
  /** The grant source only: every grant held. */
  grants?: GrantSummary[];
  settings: { hosts: string[]; profile: string | null; refreshMarginSeconds: number; timeoutSeconds: number; fallback: string | null; strict: boolean };
  cache: { dir: string; exists: boolean; mode: string | null; uid: number | null; usable: boolean; entries: EntryStatus[]; unreadable: string[] };
  /** The fleet tier, when VERS_REDIS_URL is set: the URL (password hidden), whether Redis answers, and what it is ("single node", "cluster, 3 of 3 primaries reached", "sentinel, master m"). */
  fleet: { url: string; reachable: boolean; problem: string | null; topology?: string | null } | null;
  git: HostWiring[];
  /** `--check`: what minting did, or what failed (`message`) and what to do about it (`fix`). */
  check?: { ok: boolean; ms: number; message: string; fix?: string };
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
  /** With a fleet tier: whether Redis holds this scope's entry (null without one). */
  inFleet: boolean | null;
}

/** Everything `status` shows but the check, with the problems found on the way, and the sources `--check` mints from (each grant held). */
export async function collectStatus(io: Io, settings: Settings, problems: Problem[]): Promise<{ status: Omit<Status, "ok" | "warnings">; sources: NetworkSource[] }> {
  const { sources, summary, grants } = describeSource(io, settings, problems);
  const { cache, keys } = describeCache(io, settings, problems);
  const fleet = await describeFleet(settings, sources, keys, cache.entries, problems);
  const config = gitConfig(io.env, io.cwd);
  const git = await Promise.all(settings.hosts.map((host) => hostWiring(config, host, io.helperPath, io.env, io.cwd)));
  for (const w of git) {
    if (!w.wired) problems.push({ what: `git is not wired to this helper for https://${w.host}`, fix: `run git-credential-vers install --host ${w.host}` });
    else if (w.commandProblem) problems.push({ what: `git runs ${w.command} for https://${w.host}, but ${w.commandProblem}`, fix: `run git-credential-vers install --host ${w.host} again from where the helper now is` });
    else if (!w.answersFor.includes(w.host)) problems.push({ what: `git asks this helper for https://${w.host}, but as wired it answers only for ${w.answersFor.join(", ") || "no host"}`, fix: `run git-credential-vers install --host ${w.host}` });
    else if (w.others.length) problems.push({ what: `git also runs ${w.others.join(", ")} for https://${w.host}, which may store or shadow our tokens`, fix: `run git-credential-vers install --host ${w.host} (it adds an empty reset before this helper)` });
  }
  const status = {
    version: VERSION,
    problems,
    source: summary,
    ...(grants && { grants }),
    settings: {
      hosts: settings.hosts,
      profile: settings.profile ?? null,
      refreshMarginSeconds: settings.refreshMarginMs / 1000,
      timeoutSeconds: settings.timeoutMs / 1000,
      fallback: settings.fallbackStatic ? "static" : null,
      strict: settings.strict,
    },
    cache,
    fleet,
    git,
  };
  return { status, sources };
}

type SourceDescription = { sources: NetworkSource[]; summary: Record<string, string | null>; grants?: GrantSummary[] };

function describeSource(io: Io, settings: Settings, problems: Problem[]): SourceDescription {
  try {
    const source = pickSource(settings, io);
    switch (source.kind) {
      case "broker":
        return { sources: [source], summary: { kind: "broker", baseUrl: source.baseUrl, key: redact(source.apiKey.value), keyFrom: source.apiKey.origin } };
      case "github-app":
        if (!appKeyOrigin(io.env)) {
          problems.push({ what: `no private key is set for GitHub App ${source.appId}`, fix: "set GITHUB_APP_PRIVATE_KEY, GITHUB_APP_PRIVATE_KEY_B64 or GITHUB_APP_PRIVATE_KEY_FILE" });
        }
        return {
          sources: [source],
          summary: { kind: "github-app", apiUrl: source.apiUrl, appId: source.appId, installationId: source.installationId ?? null, keyFrom: appKeyOrigin(io.env) ?? null },
        };
      case "grants":
        // No grant at all, or a profile (which a grant cannot honour): grantFor throws why. Several grants are fine.
        if (source.grants.length === 0 || settings.permissions) grantFor(source, settings, io.env);
        return { sources: source.grants.map(grantSource), summary: { kind: "grant", file: source.file?.path ?? null, grants: String(source.grants.length) }, grants: source.grants.map(grantSummary) };
      case "static":
        return { sources: [], summary: { kind: "static", key: redact(source.token.value), keyFrom: source.token.origin } };
    }
  } catch (err) {
    const message = isHelperError(err) ? err : undefined;
    problems.push({ what: message?.what ?? errorLine(err), fix: message?.hint ?? "see the README" });
    return { sources: [], summary: { kind: settings.source, error: message?.what ?? errorLine(err) } };
  }
}

/** The fleet tier: the URL with its password hidden, whether Redis answers (a problem when not), and which entries it holds. */
async function describeFleet(settings: Settings, sources: NetworkSource[], keys: string[], entries: EntryStatus[], problems: Problem[]): Promise<Status["fleet"]> {
  if (settings.redisUrl === undefined) return null;
  const target = parseRedisUrl(settings.redisUrl);
  if ("problem" in target) {
    problems.push({ what: `the fleet tier is not used: ${target.problem}`, fix: "use redis://[user:password@]host:port[/db], rediss://…, or redis-sentinel://[[user]:password@]host[:port][,host[:port]…][/db]#<master name>" });
    return { url: "(unreadable)", reachable: false, problem: target.problem };
  }
  if (sources.length === 0) return { url: target.shown, reachable: false, problem: "no source to share tokens of" };
  const fleet = await import("../fleet");
  let problem: string | undefined;
  let topology: string | undefined;
  // Each source (each grant) has its own secret, so its own names: ask for each entry under its own source's.
  for (const source of sources) {
    const mine = keys.map((key, i) => ({ key, i })).filter(({ key }) => keySourceIdentity(key) === source.identity);
    let found: { problem?: string; topology?: string; held: boolean[] };
    try {
      found = await fleet.fleetStatus(target.url, fleet.sharedSecret(source), mine.map((m) => m.key));
    } catch (err) {
      found = { problem: isHelperError(err) ? err.what : String(err), held: [] };
    }
    problem ??= found.problem;
    topology ??= found.topology;
    mine.forEach(({ i }, j) => (entries[i]!.inFleet = found.held[j] ?? false));
  }
  if (problem) problems.push({ what: `the fleet tier at ${target.shown} is not usable: ${problem}`, fix: "check VERS_REDIS_URL, the password and the network; meanwhile each machine mints for itself" });
  for (const e of entries) e.inFleet ??= false;
  return { url: target.shown, reachable: !problem, problem: problem ?? null, topology: topology ?? null };
}

function describeCache(io: Io, settings: Settings, problems: Problem[]): { cache: Status["cache"]; keys: string[] } {
  const folder = cacheFolder(io);
  let mode: string | null = null;
  let uid: number | null = null;
  try {
    const st = lstatSync(folder.dir);
    mode = (st.mode & 0o777).toString(8);
    uid = st.uid;
  } catch {
    // Not created yet: the first get makes it.
  }
  let usable = !folder.problem;
  if (folder.problem) problems.push(folder.problem);
  else if (mode !== null && !writable(folder.dir)) {
    usable = false;
    problems.push({ what: `the cache folder ${folder.dir} is not writable: every git operation mints a new token`, fix: `make it writable (chmod u+w ${folder.dir}), or remove it` });
  }
  const listed = folder.problem ? { entries: [], unreadable: [] } : new CacheStore(folder.dir, io.uid).list();
  for (const u of listed.unreadable) {
    if (u.why.startsWith("mode ")) problems.push({ what: `the cache entry ${u.name} has ${u.why}`, fix: `run git-credential-vers cache clear (or chmod 600 ${folder.dir}/${u.name})` });
  }
  const now = io.now();
  const policy = refreshPolicy(settings, io);
  const entries = listed.entries.map((e) => describeEntry(e, now, isFresh(e, now, policy)));
  return { cache: { dir: folder.dir, exists: mode !== null, mode, uid, usable, entries, unreadable: listed.unreadable.map((u) => u.name) }, keys: listed.entries.map((e) => e.key) };
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function describeEntry(e: CacheEntry, now: number, fresh: boolean): EntryStatus {
  return {
    host: e.host,
    owner: e.owner ?? null,
    repositories: e.repositories,
    permissions: e.permissions ?? {},
    source: e.source,
    expiresAt: new Date(e.expiresAt).toISOString(),
    secondsLeft: Math.max(0, Math.round((e.expiresAt - now) / 1000)),
    state: fresh ? "fresh" : isUsable(e, now) ? "refresh-due" : "expired",
    token: redact(e.token),
    inFleet: null,
  };
}
