import { appendFileSync } from "node:fs";

/** Shows a secret as "…" plus its last 4 characters; never more. */
export function redact(secret: string | undefined): string {
  if (!secret) return "(none)";
  return secret.length <= 8 ? "…" : `…${secret.slice(-4)}`;
}

export type Trace = (message: string) => void;

/**
 * VERS_CREDENTIAL_TRACE: unset/0/false → off; 1/true → stderr; anything else → a file path to append to.
 * Callers pass secrets only through `redact`; messages are never given a raw token or key.
 */
export function createTrace(setting: string | undefined, stderr: (text: string) => void, now: () => number): Trace {
  const value = (setting ?? "").trim();
  if (!value || value === "0" || value.toLowerCase() === "false") return () => {};
  const write =
    value === "1" || value.toLowerCase() === "true"
      ? stderr
      : (text: string) => {
          try {
            appendFileSync(value, text, { mode: 0o600 });
          } catch {
            // A trace must never break git: an unwritable trace file is ignored.
          }
        };
  return (message) => write(`${new Date(now()).toISOString()} git-credential-vers[${process.pid}] ${message}\n`);
}
