import type { GitConfig } from "../git-config";
import { flagValues, isOurs, ourHelperWords } from "../helper-lines";
import { normalizeHost } from "../settings";

/**
 * The hosts git is wired to this helper for, in config order, as `install` wrote them
 * (`credential.https://H.helper`), or as a line of ours names them (`--host H` on a generic
 * `credential.helper`). With a config read as git reads it, every scope counts (system, global, local);
 * with one scope's, that file alone.
 */
export async function wiredHostsIn(config: GitConfig, helperPath: string): Promise<string[]> {
  const hosts: string[] = [];
  for (const { key, value } of await config.getRegexp("^credential\\..*helper$")) {
    if (!isOurs(value, helperPath)) continue;
    const pattern = /^credential\.https:\/\/([^/]+)\/?\.helper$/i.exec(key)?.[1];
    const named = pattern ? [pattern.replace(/^[^@]*@/, "")] : flagValues(ourHelperWords(value, helperPath) ?? [], "--host");
    for (const host of named.map(normalizeHost)) if (host && !host.includes("*") && !hosts.includes(host)) hosts.push(host);
  }
  return hosts;
}
