import { closeSync, constants, fstatSync, openSync, writeSync } from "node:fs";
import type { Io } from "./io";
import { secretsIn } from "./secrets";
import { escapeText, hideSecrets } from "./text";

/** Shows a secret as "…" plus its last 4 characters; never more. */
export function redact(secret: string | undefined): string {
  if (!secret) return "(none)";
  return secret.length <= 8 ? "…" : `…${secret.slice(-4)}`;
}

export type Trace = (message: string) => void;

/**
 * VERS_CREDENTIAL_TRACE: unset/0/false → off; 1/true → stderr; anything else → a file path to append to.
 * Callers show secrets only through `redact`; as a second guard, any value of a secret variable
 * (VERS_API_KEY, GITHUB_TOKEN, …) is hidden here too. Every message is escaped, so a request field or a
 * server's text can neither forge a trace line nor reach the terminal raw.
 */
export function createTrace(io: Pick<Io, "env" | "stderr" | "now" | "pid"> & Partial<Pick<Io, "uid">>): Trace {
  const value = (io.env.VERS_CREDENTIAL_TRACE ?? "").trim();
  if (!value || value === "0" || value.toLowerCase() === "false") return () => {};
  const secrets = secretsIn(io.env);
  const write =
    value === "1" || value.toLowerCase() === "true"
      ? io.stderr
      : (text: string) => {
          try {
            // Appended, created 0600, never through a link (a trace file planted as a link to another file
            // writes nothing), without blocking, and only to a regular file of this user's: a FIFO planted
            // in its place would hold every git operation, another user's file would be handed the trace.
            const fd = openSync(value, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
            try {
              const st = fstatSync(fd);
              if (st.isFile() && (io.uid === undefined || st.uid === io.uid)) writeSync(fd, text);
            } finally {
              closeSync(fd);
            }
          } catch {
            // A trace must never break git: an unwritable trace file is ignored.
          }
        };
  return (message) => write(`${new Date(io.now()).toISOString()} git-credential-vers[${io.pid}] ${escapeText(hideSecrets(message, secrets))}\n`);
}
