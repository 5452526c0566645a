import type { Access, Permissions } from "../profiles";
import { isName } from "../scope";
import { hideSecrets, isCleanToken, oneLine } from "../text";
import type { Token } from "../token";

/** The latest expiry a token may have: installation tokens live an hour; anything past a day is not one. */
export const MAX_LIFETIME_MS = 24 * 3600_000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Reads a token answer ({token, expires_at, permissions, repositories}) or says why it is invalid. */
export function readTokenAnswer(text: string, now: number): Token | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (typeof data !== "object" || data === null) return "not a JSON object";
  const { token, expires_at: expiresAtText, permissions, repositories } = data as Record<string, unknown>;
  if (typeof token !== "string" || !token) return "no token";
  if (!isCleanToken(token)) return "the token holds whitespace or control characters, or is over 8 KiB";
  if (typeof expiresAtText !== "string") return "no expires_at";
  const expiresAt = readExpiry(expiresAtText, now);
  if (typeof expiresAt === "string") return expiresAt;
  return { token, expiresAt, permissions: readPermissions(permissions), repositories: readRepositories(repositories) };
}

/** An ISO 8601 time in the next 24 hours, in ms since the epoch, or why not. */
export function readExpiry(text: string, now: number): number | string {
  const expiresAt = ISO_8601.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(expiresAt)) return "expires_at is not an ISO 8601 time";
  if (expiresAt <= now) return "expires_at is already past";
  if (expiresAt - now > MAX_LIFETIME_MS) return "expires_at is more than 24 hours ahead";
  return expiresAt;
}

/**
 * Permissions and repositories are kept for `status` and `token --json` to show, so only what GitHub
 * could have sent is kept: a permission named in lower case (contents, pull_requests) at read or
 * write, a repository named as GitHub names them. Anything else — a name carrying terminal escapes —
 * is dropped here, before it is cached and shown.
 */
function readPermissions(value: unknown): Permissions | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const out: Permissions = {};
  for (const [name, access] of Object.entries(value)) {
    if (PERMISSION_NAME.test(name) && (access === "read" || access === "write")) out[name] = access as Access;
  }
  return out;
}

function readRepositories(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((r) => (typeof r === "object" && r !== null ? (r as { name?: unknown }).name : r)).filter((n): n is string => typeof n === "string" && isName(n));
}

const PERMISSION_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The `error`/`message` text of an error answer, on one escaped line. `sent` are the credentials the
 * request carried: a server (or a proxy) that quotes them back gets them hidden here, before the text
 * is cut to one line — a secret cut in half would no longer be recognised and hidden later.
 */
export function errorText(text: string, sent: readonly string[] = []): string {
  try {
    const data = JSON.parse(text) as { error?: unknown; message?: unknown; error_description?: unknown };
    const parts = [data.message ?? data.error_description, data.error].filter((p): p is string => typeof p === "string");
    return oneLine(hideSecrets(parts[0] ?? "", sent));
  } catch {
    return "";
  }
}
