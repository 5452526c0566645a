/** The SPEC's profile table ("Scope and profiles"), written out here so tests do not trust src/profiles.ts. */
const READ_ALL: Record<string, "read" | "write"> = {
  administration: "read",
  contents: "read",
  pull_requests: "read",
  issues: "read",
  checks: "read",
  statuses: "read",
  actions: "read",
  metadata: "read",
};

export const SPEC_PROFILES: Record<string, Record<string, "read" | "write">> = {
  read: READ_ALL,
  develop: { ...READ_ALL, contents: "write", pull_requests: "write", issues: "write" },
  clone: { contents: "read" },
  ci: { actions: "write", checks: "read", statuses: "read", contents: "read", metadata: "read" },
};
