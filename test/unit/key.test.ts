import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scopeKey } from "../../src/cache/key";
import type { Permissions } from "../../src/profiles";
import type { Scope } from "../../src/scope";

const BROKER = "broker https://vers.sh ce3e3ab44e25f411";
const scope: Scope = { host: "github.com", owner: "acme", repositories: ["widgets"], permissions: { contents: "read" } };

describe("scopeKey: the full canonical key", () => {
  const key = scopeKey(BROKER, scope);

  it("is a JSON array: identity, host, owner, sorted lower-case repositories, canonical permissions", () => {
    expect(key).toBe('["broker https://vers.sh ce3e3ab44e25f411","github.com","acme",["widgets"],"contents:read"]');
  });

  it("an org-wide scope with no permissions: owner null, no repositories, empty permissions", () => {
    expect(scopeKey(BROKER, { host: "github.com", repositories: [] })).toBe('["broker https://vers.sh ce3e3ab44e25f411","github.com",null,[],""]');
  });

  it("is stable", () => {
    expect(scopeKey(BROKER, { ...scope, repositories: ["widgets"], permissions: { contents: "read" } })).toBe(key);
  });

  it.each<{ name: string; identity: string; scope: Scope }>([
    { name: "source identity", identity: "broker https://vers.sh 0000000000000000", scope },
    { name: "source kind", identity: "github-app https://api.github.com 1 auto", scope },
    { name: "host", identity: BROKER, scope: { ...scope, host: "ghe.example.com" } },
    { name: "host port", identity: BROKER, scope: { ...scope, host: "github.com:8443" } },
    { name: "owner", identity: BROKER, scope: { ...scope, owner: "other" } },
    { name: "no owner", identity: BROKER, scope: { ...scope, owner: undefined } },
    { name: "repository", identity: BROKER, scope: { ...scope, repositories: ["gadgets"] } },
    { name: "more repositories", identity: BROKER, scope: { ...scope, repositories: ["widgets", "gadgets"] } },
    { name: "every repository", identity: BROKER, scope: { ...scope, owner: undefined, repositories: [] } },
    { name: "permission access", identity: BROKER, scope: { ...scope, permissions: { contents: "write" } } },
    { name: "permission set", identity: BROKER, scope: { ...scope, permissions: { contents: "read", metadata: "read" } } },
    { name: "no permissions", identity: BROKER, scope: { ...scope, permissions: undefined } },
  ])("differs by $name", ({ identity, scope: other }) => {
    expect(scopeKey(identity, other)).not.toBe(key);
  });

  it("does not depend on the order of repositories", () => {
    expect(scopeKey(BROKER, { ...scope, repositories: ["a", "b", "c"] })).toBe(scopeKey(BROKER, { ...scope, repositories: ["c", "a", "b"] }));
  });

  it("does not depend on the order of permissions", () => {
    expect(scopeKey(BROKER, { ...scope, permissions: { contents: "read", metadata: "read", actions: "write" } })).toBe(
      scopeKey(BROKER, { ...scope, permissions: { actions: "write", metadata: "read", contents: "read" } }),
    );
  });

  it("does not depend on the profile's name, only its permissions", () => {
    expect(scopeKey(BROKER, { ...scope, profile: "clone" })).toBe(key);
  });

  it("does not depend on the case of owner and repository (GitHub's names are case-insensitive)", () => {
    expect(scopeKey(BROKER, { ...scope, owner: "ACME", repositories: ["Widgets"] })).toBe(key);
  });
});

describe("scopeKey is injective over its fields", () => {
  /** Pairs that a key made by joining the fields with "\n" (or "," or "/") would confuse. */
  it.each<{ name: string; a: [string, Scope]; b: [string, Scope] }>([
    {
      name: "a newline moved from the owner into the repository",
      a: [BROKER, { host: "github.com", owner: "a\nb", repositories: ["c"] }],
      b: [BROKER, { host: "github.com", owner: "a", repositories: ["b\nc"] }],
    },
    {
      name: "a newline moved from the identity into the host",
      a: ["broker x\ngithub.com", { host: "h", repositories: [] }],
      b: ["broker x", { host: "github.com\nh", repositories: [] }],
    },
    {
      name: "two repositories and one holding a comma",
      a: [BROKER, { host: "github.com", owner: "acme", repositories: ["a", "b"] }],
      b: [BROKER, { host: "github.com", owner: "acme", repositories: ["a,b"] }],
    },
    {
      name: "owner/repo against an owner holding the slash",
      a: [BROKER, { host: "github.com", owner: "acme", repositories: ["widgets"] }],
      b: [BROKER, { host: "github.com", owner: "acme/widgets", repositories: [] }],
    },
    {
      name: "no owner against an owner named null",
      a: [BROKER, { host: "github.com", repositories: [] }],
      b: [BROKER, { host: "github.com", owner: "null", repositories: [] }],
    },
    {
      name: "no owner against an empty owner",
      a: [BROKER, { host: "github.com", repositories: [] }],
      b: [BROKER, { host: "github.com", owner: "", repositories: [] }],
    },
    {
      name: "permissions against a repository spelled like them",
      a: [BROKER, { host: "github.com", owner: "acme", repositories: ["contents:read"] }],
      b: [BROKER, { host: "github.com", owner: "acme", repositories: [], permissions: { contents: "read" } }],
    },
    {
      name: "a quote or backslash in a field",
      a: [BROKER, { host: "github.com", owner: 'a"', repositories: ["b"] }],
      b: [BROKER, { host: "github.com", owner: "a", repositories: ['"b'] }],
    },
  ])("$name", ({ a, b }) => {
    expect(scopeKey(...a)).not.toBe(scopeKey(...b));
  });

  const field = fc.string({ unit: fc.constantFrom(..."ab,\n/:\"\\[]null "), maxLength: 6 });
  const access = fc.constantFrom<"read" | "write">("read", "write");
  const permissions = fc.option(fc.dictionary(fc.constantFrom("contents", "metadata", "issues"), access, { maxKeys: 3 }), { nil: undefined });
  /** A scope in its canonical form (owner and repositories lower-case, repositories sorted and distinct). */
  const canonical = fc.record({
    identity: field,
    host: field,
    owner: fc.option(field.map((s) => s.toLowerCase()), { nil: undefined }),
    repositories: fc.uniqueArray(field.map((s) => s.toLowerCase()), { maxLength: 3 }).map((r) => [...r].sort()),
    permissions,
  });
  const same = (p?: Permissions, q?: Permissions) => JSON.stringify(Object.entries(p ?? {}).sort()) === JSON.stringify(Object.entries(q ?? {}).sort());

  it("different field tuples give different keys; equal ones the same key", () => {
    fc.assert(
      fc.property(canonical, canonical, (x, y) => {
        const kx = scopeKey(x.identity, { host: x.host, owner: x.owner, repositories: x.repositories, permissions: x.permissions });
        const ky = scopeKey(y.identity, { host: y.host, owner: y.owner, repositories: y.repositories, permissions: y.permissions });
        const equalFields =
          x.identity === y.identity &&
          x.host === y.host &&
          x.owner === y.owner &&
          JSON.stringify(x.repositories) === JSON.stringify(y.repositories) &&
          same(x.permissions, y.permissions);
        expect(kx === ky).toBe(equalFields);
      }),
      { numRuns: 2000 },
    );
  });
});
