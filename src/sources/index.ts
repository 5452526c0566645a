/**
 * The network side of a miss, in a bundle chunk of its own (undici, @octokit/auth-app): only the
 * process that mints loads it.
 */
import type { NetworkSource } from "../choose-source";
import type { Scope } from "../scope";
import type { Token } from "../token";
import { brokerSource } from "./broker";
import { githubAppSource } from "./github-app";
import { grantSource } from "./grant";
import { createTransport, type Transport } from "./http";
import type { MintContext, Source } from "./types";
import { compileWasmBaselineOnly } from "./wasm-tier";

export { revokeGrant } from "./grant-revoke";

/** Mints one token for the scope from the configured source, over one transport closed afterwards. */
export async function mintFrom(config: NetworkSource, scope: Scope, ctx: MintContext): Promise<Token> {
  compileWasmBaselineOnly();
  const http = createTransport(ctx.env, ctx.deadline, ctx.trace);
  try {
    return await createSource(config, http).mint(scope, ctx);
  } finally {
    await http.close();
  }
}

function createSource(config: NetworkSource, http: Transport): Source {
  switch (config.kind) {
    case "broker":
      return brokerSource({ baseUrl: config.baseUrl, apiKey: config.apiKey.value }, http);
    case "github-app":
      return githubAppSource(config, http);
    case "grant":
      return grantSource(config.grant, http);
  }
}
