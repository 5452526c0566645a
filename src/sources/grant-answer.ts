import { isRefreshGrant, sameRepository } from "../grants/grant";
import { hideSecrets, isCleanToken, oneLine } from "../text";
import type { Token } from "../token";
import { MAX_LIFETIME_MS } from "./answer";

/**
 * Reads a 200 answer of a token endpoint (RFC 6749 §5.1: access_token, token_type, expires_in, optional
 * refresh_token and scope) for the grant of `repository`, or says why it is invalid. The expiry counts
 * from `sentAt`, when the request was sent: the service's clock never enters into it. A `scope` naming
 * another repository (`repo:owner/name`) makes the answer invalid: that token is never handed to git.
 */
export function readGrantAnswer(text: string, sentAt: number, repository: string): Token | string {
  const data = jsonObject(text);
  if (typeof data === "string") return data;
  const { access_token: token, token_type: type, expires_in: expiresIn, scope } = data;
  if (typeof token !== "string" || !token) return "no access_token";
  if (!isCleanToken(token)) return "the access_token holds whitespace or control characters, or is over 8 KiB";
  if (type !== undefined && (typeof type !== "string" || type.toLowerCase() !== "bearer")) return `token_type is ${oneLine(JSON.stringify(type), 40)}, not Bearer`;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn)) return "expires_in is missing or not a number";
  if (expiresIn <= 0) return `expires_in is ${expiresIn}`;
  if (expiresIn * 1000 > MAX_LIFETIME_MS) return "expires_in is more than 24 hours";
  const others = typeof scope === "string" ? scopeRepositories(scope).filter((r) => !sameRepository(r, repository)) : [];
  if (others.length) return `the token is for ${oneLine(others.join(", "), 200)}, not ${repository}`;
  return { token, expiresAt: sentAt + expiresIn * 1000, repositories: [repository.split("/")[1]!] };
}

/** A new refresh grant in a 200 answer (the service rotated it), when it is one and not `current`. */
export function rotatedGrant(text: string, current: string): string | undefined {
  const data = jsonObject(text);
  const value = typeof data === "string" ? undefined : data.refresh_token;
  return typeof value === "string" && value !== current && isRefreshGrant(value) ? value : undefined;
}

/**
 * The `error` and `error_description` of an OAuth error answer (RFC 6749 §5.2), each on one escaped
 * line, with the grants the request carried (`sent`) hidden before the text is cut.
 */
export function oauthError(text: string, sent: readonly string[] = []): { error: string; description: string } {
  const data = jsonObject(text);
  if (typeof data === "string") return { error: "", description: "" };
  const line = (v: unknown, max: number) => (typeof v === "string" ? oneLine(hideSecrets(v, sent), max) : "");
  return { error: line(data.error, 60), description: line(data.error_description, 200) };
}

function scopeRepositories(scope: string): string[] {
  return scope
    .split(/\s+/)
    .filter((s) => s.startsWith("repo:"))
    .map((s) => s.slice("repo:".length));
}

function jsonObject(text: string): Record<string, unknown> | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  return typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : "not a JSON object";
}
