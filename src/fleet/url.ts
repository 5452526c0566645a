/**
 * VERS_REDIS_URL: redis://[user:password@]host:port[/db] or rediss:// (TLS). Read without loading
 * any Redis code: a local cache hit must cost the same with the setting as without it.
 */
export interface RedisTarget {
  url: string;
  /** The URL with its password hidden, for status and the trace. */
  shown: string;
}

/** The Redis target, or why the setting cannot be used (a misconfigured Redis is a miss, never a failure). */
export function parseRedisUrl(raw: string): RedisTarget | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `VERS_REDIS_URL is not a URL` };
  }
  const shown = hidePassword(url);
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return { problem: `VERS_REDIS_URL ${shown} must start with redis:// or rediss://` };
  if (!url.hostname) return { problem: `VERS_REDIS_URL ${shown} names no host` };
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,2}$/.test(url.pathname)) return { problem: `VERS_REDIS_URL ${shown} has a path that is not a database number` };
  if (url.search || url.hash) return { problem: `VERS_REDIS_URL ${shown} must not have a query or fragment` };
  return { url: url.href, shown };
}

function hidePassword(url: URL): string {
  if (!url.password) return url.href;
  const copy = new URL(url.href);
  copy.password = "***";
  return copy.href;
}
