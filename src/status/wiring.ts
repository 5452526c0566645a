import type { GitConfig } from "../git-config";
import { isOurs } from "../helper-lines";

export interface HostWiring {
  host: string;
  /** The helpers git runs for https://host, in order, after empty-value resets. */
  helpers: string[];
  wired: boolean;
  /** Other helpers git would also run (they could store our short-lived tokens). */
  others: string[];
}

/**
 * Which helpers git runs for https://host: every `credential.helper` and matching
 * `credential.<url>.helper` in config order, an empty value clearing the list — as git's
 * credential.c does. URL patterns match on scheme and host (with `*` per label); a pattern with a path
 * applies to some repositories only, so it does not decide how the host as a whole is wired.
 */
export async function hostWiring(config: GitConfig, host: string, helperPath: string): Promise<HostWiring> {
  const entries = await config.getRegexp("^credential\\..*helper$");
  let helpers: string[] = [];
  for (const { key, value } of entries) {
    const pattern = key.slice("credential.".length, -".helper".length);
    if (pattern && !urlMatches(pattern, host)) continue;
    helpers = value === "" ? [] : [...helpers, value];
  }
  const wired = helpers.some((h) => isOurs(h, helperPath));
  return { host, helpers, wired, others: helpers.filter((h) => !isOurs(h, helperPath)) };
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
