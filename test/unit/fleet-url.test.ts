/**
 * VERS_REDIS_URL (src/fleet/url.ts): redis:// or rediss://, a host, an optional database number,
 * nothing else; the password never shown. A bad one is a problem (the tier is not used), never a throw.
 */
import { describe, expect, it } from "vitest";
import { parseRedisUrl, redisPasswords } from "../../src/fleet/url";

const PASSWORD = "s3cret-Redis-Password";

describe("parseRedisUrl: usable", () => {
  it.each([
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
    ["redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/"],
    ["redis://cache.internal:6380/3", "redis://cache.internal:6380/3"],
    ["rediss://cache.internal:6380", "rediss://cache.internal:6380"],
    ["redis://[::1]:6379/15", "redis://[::1]:6379/15"],
  ])("%s", (raw, shown) => {
    expect(parseRedisUrl(raw)).toMatchObject({ url: raw, shown, kind: "node" });
  });

  it.each([
    [`redis://:${PASSWORD}@127.0.0.1:6379`, "redis://:***@127.0.0.1:6379"],
    [`rediss://fleet:${PASSWORD}@cache.internal:6380/2`, "rediss://fleet:***@cache.internal:6380/2"],
  ])("keeps the password in url, hides it in shown: %s", (raw, shown) => {
    const target = parseRedisUrl(raw);
    expect(target).toMatchObject({ url: raw, shown, password: PASSWORD });
  });

  it("a user without a password is shown as given", () => {
    expect(parseRedisUrl("redis://fleet@cache.internal:6379")).toMatchObject({ url: "redis://fleet@cache.internal:6379", shown: "redis://fleet@cache.internal:6379", username: "fleet" });
  });
});

describe("parseRedisUrl: problems", () => {
  it.each([
    ["not a URL", "cache.internal", /not a URL/],
    ["host:port without a scheme", "cache.internal:6379", /must start with redis:\/\/, rediss:\/\//],
    ["another scheme", "http://cache.internal:6379", /must start with redis:\/\/, rediss:\/\//],
    ["unix socket scheme", "unix:///run/redis.sock", /must start with redis:\/\//],
    ["no host", "redis:///0", /names no host/],
    ["a path that is not a database", "redis://cache.internal:6379/tokens", /path that is not a database number/],
    ["two path segments", "redis://cache.internal:6379/1/2", /path that is not a database number/],
    ["a query", "redis://cache.internal:6379?db=1", /must not have a query or fragment/],
    ["a fragment", "redis://cache.internal:6379#main", /must not have a query or fragment/],
  ])("%s: %s", (_what, raw, problem) => {
    const target = parseRedisUrl(raw);
    expect(target).toHaveProperty("problem");
    expect((target as { problem: string }).problem).toMatch(problem);
  });

  it.each([
    `http://:${PASSWORD}@cache.internal:6379`,
    `redis://:${PASSWORD}@cache.internal:6379/tokens`,
    `redis://:${PASSWORD}@cache.internal:6379?tls=1`,
    `redis://:${PASSWORD}@[not a host`,
  ])("a problem never shows the password: %s", (raw) => {
    const target = parseRedisUrl(raw) as { problem?: string };
    expect(target.problem).toBeDefined();
    expect(target.problem).not.toContain(PASSWORD);
  });
});

describe("a password holding /, # or @ (issue 15, item 8): read as the password, never shown", () => {
  it.each([
    ["redis://default:/Zk9p-a-s3cret@cache.internal:6379/0", "/Zk9p-a-s3cret", "redis://default:***@cache.internal:6379/0"],
    ["redis://default:12#secret-part@cache.internal:6379", "12#secret-part", "redis://default:***@cache.internal:6379"],
    ["redis://default:a@b?c/d#e@cache.internal", "a@b?c/d#e", "redis://default:***@cache.internal:6379"],
    ["redis://:%2Fpercent%23encoded@cache.internal:6379", "/percent#encoded", "redis://:***@cache.internal:6379"],
  ])("%s", (raw, password, shown) => {
    const target = parseRedisUrl(raw);
    expect(target).toMatchObject({ kind: "node", password, shown, nodes: [{ host: "cache.internal", port: 6379 }] });
    expect(redisPasswords(raw)).toContain(password);
  });

  it.each([
    "redis://default:/Zk9p-a-s3cret@cache.internal:6379/tokens",
    "redis://default:12#secret-part@cache.internal:6379?x=1",
    "redis://default:12#secret-part@",
    "redis://default:/Zk9p-a-s3cret@not a host:6379",
    "redis://default:/Zk9p-a-s3cret@cache.internal:99999",
    "ftp://default:/Zk9p-a-s3cret@cache.internal",
    "redis-sentinel://default:/Zk9p-a-s3cret@s1,s2",
    "redis-sentinel://default:/Zk9p-a-s3cret@s1?sentinel_password=also-s3cret-here&db=2#m",
  ])("rejected without showing it: %s", (raw) => {
    const target = parseRedisUrl(raw) as { problem?: string };
    expect(target.problem).toBeDefined();
    for (const secret of ["Zk9p-a-s3cret", "secret-part", "also-s3cret-here"]) expect(target.problem).not.toContain(secret);
    // The trace's second guard hides whatever stood before the last "@".
    if (raw.includes("Zk9p")) expect(redisPasswords(raw).some((p) => p.includes("Zk9p-a-s3cret"))).toBe(true);
  });
});

describe("Sentinel", () => {
  it("sentinels (default port 26379), the data nodes' credentials, a database and the master's name", () => {
    const target = parseRedisUrl(`redis-sentinel://fleet:${PASSWORD}@s1.internal,s2.internal:26380,[::1]/2#mymaster`);
    expect(target).toMatchObject({
      kind: "sentinel",
      tls: false,
      nodes: [{ host: "s1.internal", port: 26379 }, { host: "s2.internal", port: 26380 }, { host: "::1", port: 26379 }],
      username: "fleet",
      password: PASSWORD,
      db: 2,
      master: "mymaster",
      shown: "redis-sentinel://fleet:***@s1.internal:26379,s2.internal:26380,[::1]:26379/2#mymaster",
    });
  });

  it("a password alone, TLS, and the sentinels' own password in the query, hidden too", () => {
    const target = parseRedisUrl(`rediss-sentinel://:${PASSWORD}@s1?sentinel_password=sentinel-s3cret-pw#m`);
    expect(target).toMatchObject({ kind: "sentinel", tls: true, password: PASSWORD, username: undefined, sentinelPassword: "sentinel-s3cret-pw", master: "m" });
    expect((target as { shown: string }).shown).toBe("rediss-sentinel://:***@s1:26379?sentinel_password=***#m");
    expect(redisPasswords(`rediss-sentinel://:${PASSWORD}@s1?sentinel_password=sentinel-s3cret-pw#m`)).toEqual([PASSWORD, "sentinel-s3cret-pw"]);
  });

  it.each([
    ["no master name", "redis-sentinel://s1:26379", /#<master name>/],
    ["an empty master name", "redis-sentinel://s1:26379#", /#<master name>/],
    ["another query", "redis-sentinel://s1:26379?db=1#m", /sentinel_username and sentinel_password/],
    ["a list for a single node", "redis://a:6379,b:6379", /several hosts/],
  ])("%s: a problem", (_what, raw, problem) => {
    expect((parseRedisUrl(raw) as { problem?: string }).problem).toMatch(problem);
  });
});
