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
