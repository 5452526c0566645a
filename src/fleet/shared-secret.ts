import type { NetworkSource } from "../choose-source";
import { loadPrivateKey } from "../sources/github-app/private-key";

/**
 * The secret a fleet's machines share for a source, from which the fleet tier derives its names and
 * its encryption key: the Vers key, the GitHub App's private key (as a canonical PEM, however it was
 * given), or the refresh grant (whole: a grant that rotates moves to new names with each redemption,
 * so a rotating grant is best held by one machine). Machines with another secret share nothing with these.
 */
export function sharedSecret(source: NetworkSource): string {
  switch (source.kind) {
    case "broker":
      return `broker\n${source.apiKey.value}`;
    case "github-app":
      return `github-app\n${loadPrivateKey(source.env, source.homedir, source.appId).pem}`;
    case "grant":
      return `grant\n${source.grant.refreshToken.value}`;
  }
}
