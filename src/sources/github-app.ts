import type { NetworkSource } from "../choose-source";
import { isHelperError } from "../errors";
import type { Scope } from "../scope";
import { gitHubClient, type GitHubClient } from "./github-app/client";
import { findInstallation, type FindOptions } from "./github-app/installation";
import { loadPrivateKey } from "./github-app/private-key";
import { mintToken } from "./github-app/token";
import type { Token } from "../token";
import type { Transport } from "./http";
import type { MintContext, Source } from "./types";

type GitHubAppConfig = Extract<NetworkSource, { kind: "github-app" }>;

/**
 * A GitHub App's own credentials (@octokit/auth-app): the key from GITHUB_APP_PRIVATE_KEY(_B64|_FILE),
 * the installation from GITHUB_INSTALLATION_ID or looked up (and memoised), then an installation token
 * for the scope. Loaded only on a cache miss, through the sources chunk.
 */
export function githubAppSource(config: GitHubAppConfig, http: Transport): Source {
  return {
    async mint(scope: Scope, ctx: MintContext): Promise<Token> {
      const key = loadPrivateKey(config.env, config.homedir, config.appId);
      ctx.trace(`GitHub App ${config.appId} at ${config.apiUrl}, private key from ${key.origin}`);
      const client = gitHubClient({ apiUrl: config.apiUrl, appId: config.appId, privateKeyPem: key.pem, ctx, http });
      return mintFromInstallation(client, scope, config, ctx);
    },
  };
}

/** Finds the installation and mints; an installation remembered from an earlier miss that GitHub no longer knows is looked up again, once. */
async function mintFromInstallation(client: GitHubClient, scope: Scope, config: GitHubAppConfig, ctx: MintContext): Promise<Token> {
  const find: FindOptions = { appId: config.appId, installationId: config.installationId, memo: ctx.memo, trace: ctx.trace };
  const installation = await findInstallation(client, scope, find);
  try {
    return await mintToken(client, installation, scope, config.appId, ctx.now);
  } catch (err) {
    if (!installation.fromMemo || !isHelperError(err) || err.code !== "not-found") throw err;
    ctx.trace(`installation ${installation.id} is gone (HTTP 404); looking it up again`);
    const fresh = await findInstallation(client, scope, { ...find, skipMemo: true });
    return mintToken(client, fresh, scope, config.appId, ctx.now);
  }
}
