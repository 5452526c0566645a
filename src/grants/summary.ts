import { redact } from "../trace";
import { grantIdOf, type Grant } from "./grant";

/** A grant as `grant list` and `status` show it: the grant id, and of the secret only its last 4 characters. */
export interface GrantSummary {
  repository: string;
  grant: string;
  secret: string;
  tokenEndpoint: string;
  clientId: string | null;
  from: string;
}

export function grantSummary(grant: Grant): GrantSummary {
  return {
    repository: grant.repository,
    grant: grantIdOf(grant.refreshToken.value),
    secret: redact(grant.refreshToken.value),
    tokenEndpoint: grant.tokenEndpoint,
    clientId: grant.clientId ?? null,
    from: grant.refreshToken.origin,
  };
}

export const GRANT_COLUMNS = ["REPOSITORY", "GRANT", "SECRET", "TOKEN ENDPOINT", "FROM"];

export function grantRow(g: GrantSummary): string[] {
  return [g.repository, g.grant, g.secret, g.tokenEndpoint, g.from];
}
