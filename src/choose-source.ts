import { hash64 } from "./hash";
import { HelperError } from "./errors";
import { grantFor, grantScope, type GrantRequest } from "./grants/choose";
import { describeGrant, grantHost, grantIdentity, isRefreshGrant, type Grant } from "./grants/grant";
import { heldGrants, type HeldGrants } from "./grants/held";
import type { Env, Io } from "./io";
import type { Scope } from "./scope";
import { findStaticToken, findVersKey, homeFile, type Secret } from "./secrets";
import { normalizeBaseUrl, normalizeHost, type Settings } from "./settings";
import { hasControlCharacter } from "./text";

/**
 * The token source one invocation uses. `identity` names whose tokens these are (kind, where, a
 * fingerprint of the credentials, never a secret): the cache keys its entries by it. A grant source is
 * one grant, for one repository; `grant.refreshToken` is its secret.
 */
export type SourceConfig =
  | { kind: "broker"; identity: string; baseUrl: string; apiKey: Secret }
  | { kind: "github-app"; identity: string; apiUrl: string; appId: string; installationId?: string; env: Env; homedir: string }
  | { kind: "grant"; identity: string; grant: Grant }
  | { kind: "static"; token: Secret };

/** The sources that mint over the network (and so are cached); static tokens need neither. */
export type NetworkSource = Exclude<SourceConfig, { kind: "static" }>;

/** The configured source before a request picks one grant: grants stay a set here (status, grant list). */
export type PickedSource = Exclude<SourceConfig, { kind: "grant" }> | ({ kind: "grants" } & HeldGrants);

type SourceIo = Pick<Io, "env" | "homedir" | "uid">;

/**
 * The source for a request: an explicit --source, or auto = broker if a Vers key is found, else grant if
 * a grant is held, else github-app if GITHUB_APP_ID. A grant is chosen for the request's repository
 * (grants/choose.ts); without a request, the one grant held.
 */
export function chooseSource(settings: Settings, io: SourceIo, request?: GrantRequest): SourceConfig {
  const picked = pickSource(settings, io, request?.refreshToken);
  return picked.kind === "grants" ? grantSource(grantFor(picked, settings, io.env, request)) : picked;
}

export function grantSource(grant: Grant): Extract<SourceConfig, { kind: "grant" }> {
  return { kind: "grant", identity: grantIdentity(grant), grant };
}

/**
 * The one host a source's tokens go to (the SPEC's "one host per source"). With one configured host,
 * the source serves that host (a grant that records another host excepted: it serves only that one).
 * With several: the broker, whose API carries no host, and a static token serve the first listed; the
 * GitHub App the host of its GITHUB_API_URL; a grant the host it was issued for (grantHost). A pure
 * function of the source and the hosts, so that commands that count more hosts as configured can call it.
 */
export function servedHost(source: SourceConfig, hosts: readonly string[]): string {
  if (source.kind === "grant") return grantHost(source.grant, hosts);
  if (hosts.length === 1) return hosts[0]!;
  return source.kind === "github-app" ? apiHost(source.apiUrl) : hosts[0]!;
}

/** The git host of a GitHub API URL: https://api.github.com → github.com, https://H/api/v3 → H, api.X → X. */
export function apiHost(apiUrl: string): string {
  const host = normalizeHost(new URL(apiUrl).host);
  return host.startsWith("api.") ? host.slice("api.".length) : host;
}

/**
 * The error for a request to `host` that `source` does not serve, or undefined when it does. The
 * pipeline calls this once, after choosing the source and before the cache or the network: a token
 * never goes to a host other than the one its source mints for.
 */
export function hostRefusal(source: SourceConfig, host: string, hosts: readonly string[]): HelperError | undefined {
  const served = servedHost(source, hosts);
  if (served === host) return undefined;
  const forHost = `set VERS_GITHUB_HOST=${host} with a source for that host`;
  switch (source.kind) {
    case "broker":
      return new HelperError("bad-setting", `the broker mints tokens for ${served}, not ${host}`, `${forHost}, e.g. GITHUB_API_URL=https://${host}/api/v3`);
    case "github-app":
      return new HelperError("bad-setting", `the GitHub App at ${source.apiUrl} mints tokens for ${served}, not ${host}`, `${forHost}, e.g. GITHUB_API_URL=https://${host}/api/v3`);
    case "grant":
      return new HelperError("bad-setting", `${describeGrant(source.grant)} serves ${served}, not ${host}`, `a grant's tokens go only to the host it was issued for; add one issued for ${host} (with "host": "${host}") with git-credential-vers grant add`);
    case "static":
      return new HelperError("bad-setting", `the static token in ${source.token.origin.replace(/^env /, "")} is sent only to ${served}, not ${host}`, `${forHost}, e.g. GITHUB_API_URL=https://${host}/api/v3`);
  }
}

/** The scope a source's token really has: a grant's is its one repository, whatever git asked. */
export function sourceScope(source: SourceConfig, scope: Scope): Scope {
  return source.kind === "grant" ? grantScope(scope, source.grant) : scope;
}

/** Which source is configured; `presented` is git's oauth_refresh_token, which counts as a grant under auto when VERS_TOKEN_ENDPOINT says where to redeem it. */
export function pickSource(settings: Settings, io: SourceIo, presented?: string): PickedSource {
  const { env, homedir } = io;
  const wanted = settings.source;
  if (wanted === "static") {
    const token = findStaticToken(env);
    if (!token) throw new HelperError("no-key", "no static token is set", "set GITHUB_TOKEN or GH_TOKEN");
    return { kind: "static", token };
  }
  const apiKey = wanted === "auto" || wanted === "broker" ? findVersKey(env, homedir) : undefined;
  if (apiKey) return { kind: "broker", identity: `broker ${settings.baseUrl} ${hash64(apiKey.value)}`, baseUrl: settings.baseUrl, apiKey: sendable(apiKey) };
  if (wanted === "grant" || wanted === "auto") {
    const held = heldGrants(io);
    const usable = presented !== undefined && isRefreshGrant(presented) && !!env.VERS_TOKEN_ENDPOINT?.trim();
    if (wanted === "grant" || held.grants.length > 0 || usable) return { kind: "grants", ...held };
  }
  const appId = env.GITHUB_APP_ID?.trim();
  if ((wanted === "auto" || wanted === "github-app") && appId) {
    const apiUrl = normalizeBaseUrl(env.GITHUB_API_URL?.trim() || "https://api.github.com", "GITHUB_API_URL", false);
    const installationId = env.GITHUB_INSTALLATION_ID?.trim() || undefined;
    return { kind: "github-app", identity: `github-app ${apiUrl} ${appId} ${installationId ?? "auto"}`, apiUrl, appId, installationId, env, homedir };
  }
  const keyHint = homeFile(homedir) === undefined ? ` (HOME is not an absolute path, so ~/.vers/keys.json was not read)` : "";
  if (wanted === "broker") {
    throw new HelperError("no-key", `no Vers API key was found${keyHint}`, "set VERS_API_KEY or write it to ~/.vers/keys.json");
  }
  if (wanted === "github-app") {
    throw new HelperError("no-key", "GITHUB_APP_ID is not set", "set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for the github-app source");
  }
  throw new HelperError(
    "no-key",
    `no Vers API key was found${keyHint}`,
    "set VERS_API_KEY or write it to ~/.vers/keys.json; for a refresh grant use git-credential-vers grant add; for a GitHub App set GITHUB_APP_ID and its private key",
  );
}

/**
 * The key as it goes in an Authorization header: one with a control character inside (a newline from
 * a pasted or CRLF file) or a character outside ASCII (a typographic quote pasted with it) cannot be
 * sent — undici refuses the header, which would look like a network failure retried to the deadline.
 * Refused here instead, naming where it came from, never the key.
 */
function sendable(key: Secret): Secret {
  const fix = key.origin.startsWith("env ") ? `set ${key.origin.slice(4)} to the key alone` : `write the key alone in ${key.origin}`;
  if (hasControlCharacter(key.value)) {
    throw new HelperError("bad-setting", `the Vers API key from ${key.origin} holds a control character (a newline, CR, NUL or the like)`, fix);
  }
  const other = /[^\x20-\x7e]/u.exec(key.value)?.[0];
  if (other !== undefined) {
    const code = `U+${other.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    throw new HelperError("bad-setting", `the Vers API key from ${key.origin} holds a character that is not ASCII (${code}), so it cannot be sent`, `${fix}, without quotes`);
  }
  return key;
}
