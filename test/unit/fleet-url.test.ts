/**
 * VERS_REDIS_URL (src/fleet/url.ts): redis:// or rediss://, a host, an optional database number,
 * nothing else; the password never shown. A bad one is a problem (the tier is not used), never a throw.
 */
import { describe, expect, it } from "vitest";
import { parseRedisUrl } from "../../src/fleet/url";

const PASSWORD = "s3cret-Redis-Password";

describe("parseRedisUrl: usable", () => {
  it.each([
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
    ["redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/"],
    ["redis://cache.internal:6380/3", "redis://cache.internal:6380/3"],
    ["rediss://cache.internal:6380", "rediss://cache.internal:6380"],
    ["redis://[::1]:6379/15", "redis://[::1]:6379/15"],
  ])("%s", (raw, shown) => {
    expect(parseRedisUrl(raw)).toEqual({ url: raw, shown });
  });

  it.each([
    [`redis://:${PASSWORD}@127.0.0.1:6379`, "redis://:***@127.0.0.1:6379"],
    [`rediss://fleet:${PASSWORD}@cache.internal:6380/2`, "rediss://fleet:***@cache.internal:6380/2"],
  ])("keeps the password in url, hides it in shown: %s", (raw, shown) => {
    const target = parseRedisUrl(raw);
    expect(target).toEqual({ url: raw, shown });
  });

  it("a user without a password is shown as given", () => {
    expect(parseRedisUrl("redis://fleet@cache.internal:6379")).toEqual({ url: "redis://fleet@cache.internal:6379", shown: "redis://fleet@cache.internal:6379" });
  });
});

describe("parseRedisUrl: problems", () => {
  it.each([
    ["not a URL", "cache.internal", /not a URL/],
    ["host:port without a scheme", "cache.internal:6379", /must start with redis:\/\/ or rediss:\/\//],
    ["another scheme", "http://cache.internal:6379", /must start with redis:\/\/ or rediss:\/\//],
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
