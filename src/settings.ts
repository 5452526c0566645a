import { HelperError, isHelperError } from "./errors";
import type { Env } from "./io";
import { profilePermissions, type Permissions } from "./profiles";

export type SourceName = "auto" | "broker" | "grant" | "github-app" | "static";
const SOURCES: readonly SourceName[] = ["auto", "broker", "grant", "github-app", "static"];

/** Command-line flags, as commander hands them over (all optional). */
export interface Flags {
  baseUrl?: string;
  host?: string[];
  profile?: string;
  source?: string;
  fallback?: string;
  refreshMargin?: string;
  timeout?: string;
  strict?: boolean;
  redisUrl?: string;
}

/** Every setting, resolved flag > environment > default (SPEC, "Settings"). */
export interface Settings {
  baseUrl: string;
  hosts: string[];
  profile?: string;
  permissions?: Permissions;
  source: SourceName;
  fallbackStatic: boolean;
  refreshMarginMs: number;
  timeoutMs: number;
  strict: boolean;
  /** The fleet tier's Redis, as given: checked only where it is used (a bad one is a miss, never a failure). */
  redisUrl?: string;
}

export const DEFAULT_BASE_URL = "https://vers.sh";
export const DEFAULT_HOST = "github.com";

/** Resolves every setting; the first bad one throws a bad-setting error saying which and how to fix it. */
export function resolveSettings(flags: Flags, env: Env): Settings {
  return resolveWith(flags, env, (err) => {
    throw err;
  });
}

/**
 * For `status`: every setting, a bad one replaced by its default and reported, so the table can
 * still show everything else.
 */
export function resolveSettingsLeniently(flags: Flags, env: Env): { settings: Settings; problems: HelperError[] } {
  const problems: HelperError[] = [];
  const settings = resolveWith(flags, env, (err) => {
    if (!isHelperError(err)) throw err;
    problems.push(err);
  });
  return { settings, problems };
}

function resolveWith(flags: Flags, env: Env, onError: (err: unknown) => void): Settings {
  const get = <T>(resolve: () => T, fallback: T): T => {
    try {
      return resolve();
    } catch (err) {
      onError(err);
      return fallback;
    }
  };
  const profile = flags.profile ?? nonEmpty(env.VERS_GITHUB_PROFILE);
  const permissions = get(() => (profile ? profilePermissions(profile) : undefined), undefined);
  return {
    baseUrl: get(() => normalizeBaseUrl(flags.baseUrl ?? nonEmpty(env.VERS_BASE_URL) ?? DEFAULT_BASE_URL, "VERS_BASE_URL"), DEFAULT_BASE_URL),
    hosts: get(() => resolveHosts(flags, env), [DEFAULT_HOST]),
    profile: permissions ? profile : undefined,
    permissions,
    source: get(() => parseSource(flags.source ?? nonEmpty(env.VERS_TOKEN_SOURCE) ?? "auto"), "auto" as SourceName),
    fallbackStatic: get(() => parseFallback(flags.fallback ?? nonEmpty(env.VERS_FALLBACK)), false),
    refreshMarginMs: get(() => seconds(flags.refreshMargin ?? nonEmpty(env.VERS_REFRESH_MARGIN), 300, "--refresh-margin / VERS_REFRESH_MARGIN", true), 300) * 1000,
    timeoutMs: get(() => seconds(flags.timeout ?? nonEmpty(env.VERS_TIMEOUT), 15, "--timeout / VERS_TIMEOUT", false), 15) * 1000,
    strict: flags.strict === true || isTrue(env.VERS_CREDENTIAL_STRICT),
    redisUrl: flags.redisUrl ?? nonEmpty(env.VERS_REDIS_URL),
  };
}

/** The hosts answered for: --host (repeatable), else VERS_GITHUB_HOST (comma list), else github.com. */
export function resolveHosts(flags: Pick<Flags, "host">, env: Env): string[] {
  return parseHosts(flags.host?.length ? flags.host : (nonEmpty(env.VERS_GITHUB_HOST)?.split(",") ?? [DEFAULT_HOST]));
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function isTrue(value: string | undefined): boolean {
  return ["1", "true", "yes", "on"].includes((value ?? "").trim().toLowerCase());
}

/** "GitHub.com:443" → "github.com"; the port stays when it is not https's default. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/:443$/, "");
}

/** A host as configured hosts are written once normalized: lower-case letters, digits, ".", "-", "[", "]", ":" (a port). */
export function isHostName(host: string): boolean {
  return /^[a-z0-9.\-[\]:]+$/.test(host);
}

function parseHosts(list: string[]): string[] {
  const hosts = list.flatMap((h) => h.split(",")).map(normalizeHost).filter(Boolean);
  if (hosts.length === 0) throw badSetting("no host is configured", "set --host or VERS_GITHUB_HOST, e.g. github.com");
  for (const host of hosts) {
    if (!isHostName(host)) throw badSetting(`"${host}" is not a host name`, "give a host such as github.com or ghe.example.com:8443");
  }
  return [...new Set(hosts)];
}

/** Loopback hosts may use plain http (tests, local brokers); everything else must be https. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Validates an https origin (http only on loopback), with no credentials, query or fragment. For the
 * broker, a leading "api." in the host is dropped, since the SDKs point VERS_BASE_URL at the API host.
 */
export function normalizeBaseUrl(raw: string, name: string, dropApi = true): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badSetting(`${name} "${raw}" is not a URL`, "use an https URL such as https://vers.sh");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    throw badSetting(`${name} must use https (got ${url.protocol}//${url.host})`, "plain http is allowed only on loopback");
  }
  if (url.username || url.password) throw badSetting(`${name} must not hold credentials`, "remove user:password@ from it");
  if (url.search || url.hash || /[?#]/.test(raw)) throw badSetting(`${name} must not have a query or fragment (got "${raw}")`, "remove everything from ? or #");
  if (dropApi && url.hostname.startsWith("api.")) url.hostname = url.hostname.slice(4);
  return url.href.replace(/\/+$/, "");
}

function parseSource(value: string): SourceName {
  const v = value.toLowerCase() as SourceName;
  if (!SOURCES.includes(v)) throw badSetting(`unknown token source "${value}"`, `use one of: ${SOURCES.join(", ")}`);
  return v;
}

function parseFallback(value: string | undefined): boolean {
  if (value === undefined || ["off", "none", "0", "false"].includes(value.toLowerCase())) return false;
  if (value.toLowerCase() === "static") return true;
  throw badSetting(`unknown fallback "${value}"`, "the only fallback is static");
}

function seconds(value: string | undefined, fallback: number, name: string, zeroAllowed: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw badSetting(`${name} must be a number of seconds (got "${value}")`, `e.g. ${fallback}`);
  if (n === 0 && !zeroAllowed) throw badSetting(`${name} must be more than 0 seconds (got "${value}")`, `e.g. ${fallback}`);
  return n;
}

function badSetting(what: string, hint: string): HelperError {
  return new HelperError("bad-setting", what, hint);
}
