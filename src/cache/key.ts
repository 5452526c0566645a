import type { SourceConfig } from "../credentials";
import type { Scope } from "../scope";

/**
 * FNV-1a, 64-bit, over the UTF-8 bytes, as 16 hex digits. Not a cryptographic hash: it names cache
 * files and tells keys apart. node:crypto would cost ~3 ms on every cache hit, and the folder is
 * private (0700) and holds the tokens themselves.
 */
export function hash64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, "utf8")) {
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

/** Which source minted a token: its kind, where it lives and (as a fingerprint) whose credentials. */
export function sourceIdentity(source: SourceConfig): string {
  switch (source.kind) {
    case "broker":
      return `broker ${source.baseUrl} ${hash64(source.apiKey.value)}`;
    case "github-app":
      return `github-app ${source.apiUrl} ${source.appId} ${source.installationId ?? "auto"}`;
    case "static":
      return `static ${hash64(source.token.value)}`;
  }
}

/** Permissions as "name:access" pairs in name order, e.g. "contents:read,metadata:read". */
export function canonicalPermissions(permissions: Record<string, string> | undefined): string {
  return Object.keys(permissions ?? {})
    .sort()
    .map((name) => `${name}:${permissions![name]}`)
    .join(",");
}

/**
 * The cache key of a scope: source identity, host, owner, repository set and permissions,
 * each in a canonical (sorted) order. Two different scopes never share an entry.
 */
export function scopeKey(source: SourceConfig, scope: Scope): string {
  const identity = [
    sourceIdentity(source),
    scope.host,
    scope.owner?.toLowerCase() ?? "",
    scope.repositories.map((r) => r.toLowerCase()).sort().join(","),
    canonicalPermissions(scope.permissions),
  ].join("\n");
  return hash64(identity);
}
