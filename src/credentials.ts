import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HelperError } from "./errors";
import { normalizeBaseUrl, type Settings } from "./settings";

type Env = Readonly<Record<string, string | undefined>>;

/** A secret and where it was found, e.g. { value: "…", origin: "~/.vers/keys.json" }. */
export interface Secret {
  value: string;
  origin: string;
}

/** The token source one invocation uses, with what identifies it in the cache. */
export type SourceConfig =
  | { kind: "broker"; baseUrl: string; apiKey: Secret }
  | { kind: "github-app"; apiUrl: string; appId: string; installationId?: string; env: Env; homedir: string }
  | { kind: "static"; token: Secret };

/**
 * The Vers key: VERS_API_KEY, else ~/.vers/keys.json {"keys":{"VERS_API_KEY":…}}, else ~/.versrc {"apiKey":…}.
 * git often runs outside the login shell that exports the variable, hence the files.
 */
export function findVersKey(env: Env, homedir: string): Secret | undefined {
  const fromEnv = env.VERS_API_KEY?.trim();
  if (fromEnv) return { value: fromEnv, origin: "env VERS_API_KEY" };
  const keys = readJson(join(homedir, ".vers", "keys.json")) as { keys?: { VERS_API_KEY?: unknown } } | undefined;
  const fromKeys = keys?.keys?.VERS_API_KEY;
  if (typeof fromKeys === "string" && fromKeys.trim()) return { value: fromKeys.trim(), origin: "~/.vers/keys.json" };
  const rc = readJson(join(homedir, ".versrc")) as { apiKey?: unknown } | undefined;
  if (typeof rc?.apiKey === "string" && rc.apiKey.trim()) return { value: rc.apiKey.trim(), origin: "~/.versrc" };
  return undefined;
}

/** GITHUB_TOKEN, then GH_TOKEN. */
export function findStaticToken(env: Env): Secret | undefined {
  for (const name of ["GITHUB_TOKEN", "GH_TOKEN"]) {
    const value = env[name]?.trim();
    if (value) return { value, origin: `env ${name}` };
  }
  return undefined;
}

/** Picks the source: an explicit --source, or auto = broker if a key is found, else github-app if GITHUB_APP_ID. */
export function resolveSource(settings: Settings, env: Env, homedir: string): SourceConfig {
  const wanted = settings.source;
  if (wanted === "static") {
    const token = findStaticToken(env);
    if (!token) throw new HelperError("no-key", "no static token is set", "set GITHUB_TOKEN or GH_TOKEN");
    return { kind: "static", token };
  }
  const apiKey = wanted === "github-app" ? undefined : findVersKey(env, homedir);
  if (apiKey) return { kind: "broker", baseUrl: settings.baseUrl, apiKey };
  const appId = env.GITHUB_APP_ID?.trim();
  if (wanted !== "broker" && appId) {
    const apiUrl = normalizeBaseUrl(env.GITHUB_API_URL?.trim() || "https://api.github.com", "GITHUB_API_URL", false);
    const installationId = env.GITHUB_INSTALLATION_ID?.trim() || undefined;
    return { kind: "github-app", apiUrl, appId, installationId, env, homedir };
  }
  if (wanted === "broker") {
    throw new HelperError("no-key", "no Vers API key was found", "set VERS_API_KEY or write it to ~/.vers/keys.json");
  }
  if (wanted === "github-app") {
    throw new HelperError("no-key", "GITHUB_APP_ID is not set", "set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for the github-app source");
  }
  throw new HelperError(
    "no-key",
    "no Vers API key was found",
    "set VERS_API_KEY or write it to ~/.vers/keys.json; for a GitHub App set GITHUB_APP_ID and its private key",
  );
}

/** Which variable holds the GitHub App's private key (the key itself is read only on a miss). */
export function appKeyOrigin(env: Env): string | undefined {
  const name = ["GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_B64", "GITHUB_APP_PRIVATE_KEY_FILE"].find((n) => env[n]?.trim());
  return name && `env ${name}`;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}
