import { isHelperError } from "../errors";
import type { Io } from "../io";
import { formatAnswer } from "../protocol/format";
import { inputComplete, MAX_INPUT_BYTES, parseRequest } from "../protocol/parse";
import { matchRequest } from "../scope";
import { serveToken } from "../serve";
import { resolveSettings, type Flags } from "../settings";
import { createTrace } from "../trace";

/**
 * `get`: parse → settings → scope → cache → source → format. Requests for other protocols
 * or hosts get no answer and no network call.
 */
export async function runGet(io: Io, flags: Flags): Promise<void> {
  const input = await io.readStdin(MAX_INPUT_BYTES, inputComplete);
  const request = parseRequest(input);
  const settings = resolveSettings(flags, io.env);
  const trace = createTrace(settings.trace, io.stderr, io.now);
  const scope = matchRequest(request, settings);
  if (!scope) {
    trace(`not answering for ${request.protocol ?? "?"}://${request.host ?? "?"} (hosts: ${settings.hosts.join(", ")})`);
    return;
  }
  trace(`matched ${scope.host}${scope.repositories.length ? ` path ${scope.owner}/${scope.repositories.join(",")}` : ""}`);
  const served = await serveToken({ io, settings, trace }, scope);
  io.stdout(
    formatAnswer({
      username: "x-access-token",
      password: served.token,
      passwordExpiryUtc: served.expiresAt === undefined ? undefined : Math.floor(served.expiresAt / 1000),
    }),
  );
}

export function isBadInput(err: unknown): boolean {
  return isHelperError(err) && err.code === "bad-input";
}
