import { basename } from "node:path";

/**
 * The credential.helper value that runs this helper. git runs an absolute path as is; a path that
 * needs quoting no longer starts with "/", so it must become a shell snippet ("!'…' args").
 */
export function helperValue(path: string, args: string[]): string {
  const plain = /^[A-Za-z0-9_./-]+$/.test(path);
  const quoted = plain ? path : `'${path.replace(/'/g, `'\\''`)}'`;
  return `${plain ? "" : "!"}${[quoted, ...args].join(" ")}`;
}

/** True when a helper value runs this program (`git-credential-vers …`, a path to it, `!'path' …`, or `vers`). */
export function isOurs(helper: string, helperPath: string): boolean {
  const value = helper.trim().replace(/^!/, "");
  const first = value.startsWith("'") ? value.slice(1, value.indexOf("'", 1)) : (value.split(/\s+/)[0] ?? "");
  return first === helperPath || first === "vers" || basename(first) === "git-credential-vers";
}
