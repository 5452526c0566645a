import { HelperError } from "./errors";

export type Access = "read" | "write";
export type Permissions = Record<string, Access>;

/** Permission profiles (SPEC, "Scope and profiles"). None asks for administration: write. */
export const PROFILES: Readonly<Record<string, Permissions>> = {
  read: {
    administration: "read",
    contents: "read",
    pull_requests: "read",
    issues: "read",
    checks: "read",
    statuses: "read",
    actions: "read",
    metadata: "read",
  },
  develop: {
    administration: "read",
    contents: "write",
    pull_requests: "write",
    issues: "write",
    checks: "read",
    statuses: "read",
    actions: "read",
    metadata: "read",
  },
  clone: { contents: "read" },
  ci: { actions: "write", checks: "read", statuses: "read", contents: "read", metadata: "read" },
};

export function profileNames(): string[] {
  return Object.keys(PROFILES);
}

export function profilePermissions(name: string): Permissions {
  const permissions = Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
  if (!permissions) {
    throw new HelperError(
      "bad-setting",
      `unknown profile "${name}"`,
      `use one of: ${profileNames().join(", ")}`,
    );
  }
  return withoutAdministrationWrite(permissions);
}

/** The last guard before any request leaves: administration is never asked for with write access. */
export function withoutAdministrationWrite(permissions: Permissions): Permissions {
  const safe = { ...permissions };
  if (safe.administration === "write") safe.administration = "read";
  return safe;
}

/** Permissions as "name:access" pairs in name order, e.g. "contents:read,metadata:read". */
export function canonicalPermissions(permissions: Permissions | undefined): string {
  return Object.keys(permissions ?? {})
    .sort()
    .map((name) => `${name}:${permissions![name]}`)
    .join(",");
}
