import { canonicalPermissions } from "../profiles";
import type { Scope } from "../scope";

/**
 * The cache key of a scope under a source: the source's identity, host, owner, repository set and
 * permissions, each canonical (sorted, lower-cased names), as one JSON array — injective over its
 * fields, so two different scopes never share an entry. The store names files by a hash of it and
 * keeps the whole key inside each entry, compared on every read.
 */
export function scopeKey(sourceIdentity: string, scope: Scope): string {
  return JSON.stringify([
    sourceIdentity,
    scope.host,
    scope.owner?.toLowerCase() ?? null,
    scope.repositories.map((r) => r.toLowerCase()).sort(),
    canonicalPermissions(scope.permissions),
  ]);
}

/** The source identity a scope key was made under (its first field), or undefined for a key that is not one. */
export function keySourceIdentity(key: string): string | undefined {
  try {
    const fields: unknown = JSON.parse(key);
    return Array.isArray(fields) && typeof fields[0] === "string" ? fields[0] : undefined;
  } catch {
    return undefined;
  }
}
