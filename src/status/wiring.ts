import { askFastPath } from "../fast-path/daemons";
import { isFastPathLine } from "../fast-path/lines";
import type { GitConfig } from "../git-config";
import { flagValues, isOurs, ourHelperWords } from "../helper-lines";
import type { Env } from "../io";
import { normalizeHost, resolveHosts } from "../settings";
import { redact } from "../trace";
import { commandProblem } from "./helper-runs";

export interface HostWiring {
  host: string;
  /** The helpers git runs for https://host, in order, after empty-value resets. */
  helpers: string[];
  wired: boolean;
  /** Other helpers git would also run (they could store our short-lived tokens). */
  others: string[];
  /** True when git asks the fast path (git credential-cache) before this helper. */
  fastPath: boolean;
  /** The hosts this helper, as wired, answers for: its line's --host flags, else the environment's. */
  answersFor: string[];
  /** What the fast path's daemon answers for the host, redacted; null when it answers nothing (not started, or nothing held yet). */
  daemonToken: string | null;
  /** The helper program our line runs (its path, or a bare name), and why git cannot run it (null when it can, or when not wired). */
  command: string | null;
  commandProblem: string | null;
}

/**
 * Which helpers git runs for https://host: every `credential.helper` and matching
 * `credential.<url>.helper` in config order, an empty value clearing the list — as git's
 * credential.c does. URL patterns match on scheme and host (with `*` per label); a pattern with a path
 * applies to some repositories only, so it does not decide how the host as a whole is wired. The fast
 * path's daemon is asked, at the socket the very line git runs would use, what it holds.
 */
export async function hostWiring(config: GitConfig, host: string, helperPath: string, env: Env, cwd: string): Promise<HostWiring> {
  const entries = await config.getRegexp("^credential\\..*helper$");
  let helpers: string[] = [];
  for (const { key, value } of entries) {
    const pattern = key.slice("credential.".length, -".helper".length);
    if (pattern && !urlMatches(pattern, host)) continue;
    helpers = value === "" ? [] : [...helpers, value];
  }
  const words = helpers.map((h) => ourHelperWords(h, helperPath)).find((w) => w !== undefined);
  const fastLine = helpers.find(isFastPathLine);
  const token = fastLine === undefined ? undefined : await askFastPath(fastLine, host, env, cwd);
  return {
    host,
    helpers,
    wired: words !== undefined,
    others: helpers.filter((h) => !isOurs(h, helperPath)),
    fastPath: fastLine !== undefined,
    answersFor: words ? answeredHosts(words, env) : [],
    daemonToken: token === undefined ? null : redact(token),
    command: words?.[0] ?? null,
    commandProblem: (words && commandProblem(words[0]!, env)) ?? null,
  };
}

function answeredHosts(words: string[], env: Env): string[] {
  const flagged = flagValues(words, "--host").map(normalizeHost);
  if (flagged.length) return flagged;
  try {
    return resolveHosts({}, env);
  } catch {
    return [];
  }
}

function urlMatches(pattern: string, host: string): boolean {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(pattern);
  if (!m) return pattern.toLowerCase() === host; // credential.<host>.helper without a scheme
  if (m[1]!.toLowerCase() !== "https" || (m[3] ?? "/") !== "/") return false;
  const want = m[2]!.toLowerCase().replace(/^[^@]*@/, "").replace(/:443$/, "");
  const wantLabels = want.split(".");
  const hostLabels = host.split(".");
  return wantLabels.length === hostLabels.length && wantLabels.every((label, i) => label === "*" || label === hostLabels[i]);
}
