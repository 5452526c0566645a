import { hash64 } from "./hash";
import { HelperError } from "./errors";
import type { Env, Io } from "./io";
import { findStaticToken, findVersKey, homeFile, type Secret } from "./secrets";
import { normalizeBaseUrl, type Settings } from "./settings";

/**
 * The token source one invocation uses. `identity` names whose tokens these are (kind, where, a
 * fingerprint of the credentials, never a secret): the cache keys its entries by it.
 */
export type SourceConfig =
  | { kind: "broker"; identity: string; baseUrl: string; apiKey: Secret }
  | { kind: "github-app"; identity: string; apiUrl: string; appId: string; installationId?: string; env: Env; homedir: string }
  | { kind: "static"; token: Secret };

/** The sources that mint over the network (and so are cached); static tokens need neither. */
export type NetworkSource = Exclude<SourceConfig, { kind: "static" }>;

/** Picks the source: an explicit --source, or auto = broker if a key is found, else github-app if GITHUB_APP_ID. */
export function chooseSource(settings: Settings, io: Pick<Io, "env" | "homedir">): SourceConfig {
  const { env, homedir } = io;
  const wanted = settings.source;
  if (wanted === "static") {
    const token = findStaticToken(env);
    if (!token) throw new HelperError("no-key", "no static token is set", "set GITHUB_TOKEN or GH_TOKEN");
    return { kind: "static", token };
  }
  const apiKey = wanted === "github-app" ? undefined : findVersKey(env, homedir);
  if (apiKey) return { kind: "broker", identity: `broker ${settings.baseUrl} ${hash64(apiKey.value)}`, baseUrl: settings.baseUrl, apiKey };
  const appId = env.GITHUB_APP_ID?.trim();
  if (wanted !== "broker" && appId) {
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
    "set VERS_API_KEY or write it to ~/.vers/keys.json; for a GitHub App set GITHUB_APP_ID and its private key",
  );
}
