/**
 * The fleet tier, in a bundle chunk of its own (ioredis): loaded only by the process that holds the
 * local lock on a local miss, and only when VERS_REDIS_URL is set — and by `status`, `cache clear --fleet`.
 */
import { connectFleet, type Cleared } from "./client";
import { deriveKeys, namesFor } from "./keys";

export { connectFleet } from "./client";
export { sharedSecret } from "./shared-secret";
export { throughFleet, type FleetMiss } from "./tier";
export { eraseFromFleet } from "./erase";

/** For `status`: whether Redis answers, what it is (one node, a cluster and how many primaries answer, Sentinel), and whether it holds an entry for each scope key. */
export async function fleetStatus(url: string, secret: string, scopeKeys: string[]): Promise<{ problem?: string; topology?: string; held: boolean[] }> {
  try {
    const client = await connectFleet(url, { detect: true });
    try {
      const keys = deriveKeys(secret);
      const topology = await client.topology();
      return { topology, held: await client.exists(scopeKeys.map((k) => namesFor(keys, k).entry)) };
    } finally {
      client.close();
    }
  } catch (err) {
    return { problem: (err as Error).message, held: scopeKeys.map(() => false) };
  }
}

/** For `cache clear --fleet`: deletes this secret's entries, locks and notes (found by their derived prefix) on every primary. */
export async function clearFleet(url: string, secret: string): Promise<Cleared> {
  const client = await connectFleet(url, { detect: true });
  try {
    return await client.deletePrefix(deriveKeys(secret).prefix);
  } finally {
    client.close();
  }
}
