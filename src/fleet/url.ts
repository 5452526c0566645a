/**
 * VERS_REDIS_URL / --redis-url, read without loading any Redis code (a local cache hit must cost the
 * same with the setting as without it):
 *   redis://[user[:password]@]host[:port][/db]          one node, or any node of a Redis Cluster (detected on connect)
 *   rediss://…                                           the same over TLS
 *   redis-sentinel://[[user]:password@]host[:port][,host[:port]…][/db][?sentinel_password=…]#<master name>
 *   rediss-sentinel://…                                  the same over TLS (sentinels and data nodes)
 *
 * Parsed by hand, not with WHATWG URL: the credentials are everything before the LAST "@", so a password
 * holding "/", "#", "?" or "@" (`redis://default:/Zk9p…@host`, `default:12#secret@…`) is read as the
 * password and never taken for a path or a fragment. No message, valid URL or rejected, shows a password:
 * `shown` is rebuilt from the parsed parts, and a problem names what is wrong, never the text given.
 */
export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisTarget {
  /** As given, for connectFleet (which parses it again). */
  url: string;
  /** The URL with every password as ***, for status and the trace. */
  shown: string;
  kind: "node" | "sentinel";
  tls: boolean;
  /** The node (one), or the sentinels. */
  nodes: RedisNode[];
  username?: string;
  password?: string;
  db?: number;
  /** Sentinel only: the master's name, and the sentinels' own credentials when they need some. */
  master?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
}

const SCHEMES: Record<string, { kind: RedisTarget["kind"]; tls: boolean; port: number }> = {
  redis: { kind: "node", tls: false, port: 6379 },
  rediss: { kind: "node", tls: true, port: 6379 },
  "redis-sentinel": { kind: "sentinel", tls: false, port: 26379 },
  "rediss-sentinel": { kind: "sentinel", tls: true, port: 26379 },
};
const WHAT = "VERS_REDIS_URL";
const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

/** The Redis target, or why the setting cannot be used (a misconfigured Redis is a miss, never a failure). */
export function parseRedisUrl(raw: string): RedisTarget | { problem: string } {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw)?.[1];
  if (scheme === undefined) return { problem: `${WHAT} is not a URL` };
  const form = SCHEMES[scheme.toLowerCase()];
  if (!form || !raw.slice(scheme.length).startsWith("://")) return { problem: `${WHAT} must start with redis://, rediss://, redis-sentinel:// or rediss-sentinel://` };
  const rest = raw.slice(scheme.length + 3);
  const at = rest.lastIndexOf("@");
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const credentials = splitUserinfo(userinfo);
  if ("problem" in credentials) return credentials;

  const [beforeFragment, fragment] = cut(at >= 0 ? rest.slice(at + 1) : rest, "#");
  const [beforeQuery, query] = cut(beforeFragment, "?");
  const [tail, path] = cut(beforeQuery, "/");
  if (tail === "") return { problem: `${WHAT} names no host` };
  if (path !== undefined && path !== "" && !/^\d{1,2}$/.test(path)) return { problem: `${WHAT} has a path that is not a database number` };
  const db = path ? Number(path) : undefined;

  const hosts = tail.split(",");
  if (form.kind === "node" && hosts.length > 1) return { problem: `${WHAT} names several hosts; only redis-sentinel:// takes a list (of sentinels)` };
  const nodes: RedisNode[] = [];
  for (const h of hosts) {
    const node = parseHostPort(h, form.port);
    if (typeof node === "string") return { problem: `${WHAT} ${node}` };
    nodes.push(node);
  }

  const target: RedisTarget = { url: raw, shown: "", kind: form.kind, tls: form.tls, nodes, ...credentials, db };
  if (form.kind === "node") {
    if (query !== undefined || fragment !== undefined) return { problem: `${WHAT} must not have a query or fragment` };
  } else {
    const master = fragment === undefined ? "" : decode(fragment);
    if (master === undefined || master === "" || /[\s,]/.test(master)) return { problem: `${WHAT} (Sentinel) must end with #<master name>` };
    target.master = master;
    const sentinel = sentinelCredentials(query);
    if ("problem" in sentinel) return sentinel;
    Object.assign(target, sentinel);
  }
  target.shown = show(scheme.toLowerCase(), target, path);
  return target;
}

/** Every password the setting holds (data nodes', sentinels'), for the trace's and error lines' second guard. */
export function redisPasswords(raw: string | undefined): string[] {
  if (!raw) return [];
  const target = parseRedisUrl(raw);
  if ("problem" in target) {
    // Unusable, but it may still hold one: hide everything before the last "@" (and after a ":").
    const rest = raw.replace(/^[^:]*:\/\//, "");
    const at = rest.lastIndexOf("@");
    if (at < 0) return [];
    const userinfo = rest.slice(0, at);
    return [userinfo, userinfo.slice(userinfo.indexOf(":") + 1)].filter((p) => p.length > 0);
  }
  return [target.password, target.sentinelPassword].filter((p): p is string => !!p);
}

function cut(text: string, sep: string): [string, string | undefined] {
  const i = text.indexOf(sep);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function splitUserinfo(userinfo: string | undefined): { username?: string; password?: string } | { problem: string } {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(":");
  const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? "" : decode(userinfo.slice(colon + 1));
  if (user === undefined || password === undefined) return { problem: `${WHAT} has a user name or password that is not percent-encoded properly` };
  return { username: user || undefined, password: password || undefined };
}

function parseHostPort(text: string, defaultPort: number): RedisNode | string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(text);
  if (!m || m[1] === "") return "names no host";
  const host = m[1]!;
  if (!HOSTNAME.test(host) && !IPV6.test(host)) return "names a host that is not a host name or IP address";
  const port = m[2] === undefined || m[2] === "" ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return "has a port that is not a number from 1 to 65535";
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

function sentinelCredentials(query: string | undefined): { sentinelUsername?: string; sentinelPassword?: string } | { problem: string } {
  if (query === undefined || query === "") return {};
  const out: { sentinelUsername?: string; sentinelPassword?: string } = {};
  for (const pair of query.split("&")) {
    const [name, value] = cut(pair, "=");
    const decoded = value === undefined ? undefined : decode(value);
    if (name === "sentinel_password" && decoded) out.sentinelPassword = decoded;
    else if (name === "sentinel_username" && decoded) out.sentinelUsername = decoded;
    else return { problem: `${WHAT} (Sentinel) takes only sentinel_username and sentinel_password in its query` };
  }
  return out;
}

function show(scheme: string, t: RedisTarget, path: string | undefined): string {
  const auth = t.username || t.password ? `${t.username ? encodeURIComponent(t.username) : ""}${t.password ? ":***" : ""}@` : "";
  const hosts = t.nodes.map((n) => `${n.host.includes(":") ? `[${n.host}]` : n.host}:${n.port}`).join(",");
  const query = t.sentinelUsername || t.sentinelPassword
    ? `?${[t.sentinelUsername && `sentinel_username=${encodeURIComponent(t.sentinelUsername)}`, t.sentinelPassword && "sentinel_password=***"].filter(Boolean).join("&")}`
    : "";
  return `${scheme}://${auth}${hosts}${path === undefined ? "" : `/${path}`}${query}${t.master === undefined ? "" : `#${encodeURIComponent(t.master)}`}`;
}
