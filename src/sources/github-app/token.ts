import { withoutAdministrationWrite } from "../../profiles";
import { describeScope, type Scope } from "../../scope";
import { readTokenAnswer } from "../answer";
import type { Token } from "../../token";
import type { GitHubClient, Read, Reply } from "./client";
import { dateOf } from "./errors";
import type { Installation } from "./installation";

/** Below this, a difference between GitHub's Date header and our clock is rounding and latency. */
const SKEW_THRESHOLD_MS = 5000;

/**
 * POST /app/installations/{id}/access_tokens with the bare repository names and the profile's
 * permissions (never administration: write). The answer is checked like the broker's; its expiry is
 * moved onto this machine's clock when GitHub's Date header shows a skew.
 */
export function mintToken(client: GitHubClient, installation: Installation, scope: Scope, appId: string, now: () => number): Promise<Token> {
  const params: { installation_id: number; repositories?: string[]; permissions?: Record<string, string> } = { installation_id: installation.id };
  if (scope.repositories.length) params.repositories = [...scope.repositories];
  const permissions = scope.permissions ? withoutAdministrationWrite(scope.permissions) : undefined;
  if (permissions) params.permissions = permissions;
  const repositories = describeScope({ ...scope, profile: undefined });
  return client.call({
    route: "POST /app/installations/{installation_id}/access_tokens",
    params,
    subject: { what: `a token for ${describeScope(scope)}`, target: installation.target, installationId: installation.id, appId, repositories, permissions },
    read: (reply) => readToken(reply, now()),
  });
}

/** The token answer, validated as readTokenAnswer does for the broker, on GitHub's clock. */
export function readToken(reply: Reply, now: number): Read<Token> {
  const skew = skewMs(reply, now);
  const token = readTokenAnswer(jsonText(reply.data), now + skew);
  if (typeof token === "string") return { invalid: token };
  return { value: { ...token, expiresAt: token.expiresAt === undefined ? undefined : token.expiresAt - skew } };
}

/** GitHub's clock minus ours, or 0 when the difference is too small to tell. */
function skewMs(reply: Reply, now: number): number {
  const date = dateOf(reply.headers);
  const skew = date === undefined ? 0 : date - now;
  return Math.abs(skew) < SKEW_THRESHOLD_MS ? 0 : skew;
}

/** @octokit/request parsed JSON (large numbers as BigInt) or left other content types as text. */
function jsonText(data: unknown): string {
  if (typeof data === "string") return data;
  try {
    return JSON.stringify(data, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)) ?? "";
  } catch {
    return "";
  }
}
