import { isCleanToken } from "../cache/entry";
import type { Access, Permissions } from "../profiles";
import type { Token } from "./types";

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
  const expiresAt = Date.parse(expiresAtText);
  if (!Number.isFinite(expiresAt)) return "expires_at is not a date";
  if (expiresAt <= now) return "expires_at is already past";
  return { token, expiresAt, permissions: readPermissions(permissions), repositories: readRepositories(repositories) };
}

function readPermissions(value: unknown): Permissions | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const out: Permissions = {};
  for (const [name, access] of Object.entries(value)) {
    if (access === "read" || access === "write") out[name] = access as Access;
  }
  return out;
}

function readRepositories(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((r) => (typeof r === "object" && r !== null ? (r as { name?: unknown }).name : r)).filter((n): n is string => typeof n === "string");
}

/** The `error`/`message` text of an error answer, made safe for one line of stderr. */
export function errorText(text: string): string {
  let message = "";
  try {
    const data = JSON.parse(text) as { error?: unknown; message?: unknown; error_description?: unknown };
    const parts = [data.message ?? data.error_description, data.error].filter((p): p is string => typeof p === "string");
    message = parts[0] ?? "";
  } catch {
    message = "";
  }
  return message.replace(/[\p{Cc}\s]+/gu, " ").trim().slice(0, 200);
}
