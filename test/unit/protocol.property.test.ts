import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isHelperError } from "../../src/errors";
import { parseRequest, type CredentialRequest } from "../../src/protocol/parse";
import { matchHost, scopeFor, type Scope } from "../../src/scope";
import { resolveSettings, type Settings } from "../../src/settings";

const RUNS = 1000;

/** What `get` does with a request: the host it matches, then the scope for it. */
function matchRequest(request: CredentialRequest, settings: Settings): Scope | undefined {
  const host = matchHost(request, settings.hosts);
  return host === undefined ? undefined : scopeFor(host, request, settings);
}

/** Characters that matter to the parser, mixed with ordinary and non-ASCII ones. */
const trickyChar = fc.constantFrom("=", "\n", "\r", "\0", "[", "]", ":", "/", "@", "%", "?", "#", " ", "\t", "a", "h", "u", "r", "l", "é", "😀", "\u2028", "\ufeff");
const trickyString = fc.string({ unit: trickyChar, maxLength: 40 });
const anyString = fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.string({ unit: "grapheme", maxLength: 60 }), trickyString);

const knownKey = fc.constantFrom("protocol", "host", "path", "username", "password", "url", "capability[]", "wwwauth[]", "state[]", "password_expiry_utc", "quit");
const key = fc.oneof(knownKey, fc.string({ unit: "binary", maxLength: 10 }));
/** Lines of key=value with arbitrary content, so some are valid, some not, some split by embedded newlines. */
const linesInput = fc
  .array(fc.tuple(key, anyString, fc.constantFrom("\n", "\r\n")), { maxLength: 12 })
  .map((lines) => lines.map(([k, v, eol]) => `${k}=${v}${eol}`).join(""));

describe("parseRequest never fails in any other way than bad-input", () => {
  it("for arbitrary strings and arbitrary key=value lines", () => {
    fc.assert(
      fc.property(fc.oneof(anyString, linesInput, fc.tuple(linesInput, anyString).map(([a, b]) => a + b)), (input) => {
        let request;
        try {
          request = parseRequest(input);
        } catch (err) {
          expect(isHelperError(err)).toBe(true);
          expect((err as { code: string }).code).toBe("bad-input");
          return;
        }
        expect(request.lists).toBeTypeOf("object");
        for (const value of [request.protocol, request.host, request.path, request.username, request.password]) {
          if (value !== undefined) expect(typeof value).toBe("string");
        }
        for (const list of Object.values(request.lists)) {
          expect(Array.isArray(list)).toBe(true);
          for (const item of list) expect(item).not.toMatch(/[\n\0]/);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Requests that parse: every line is key=value with no newline or NUL in it.

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 2, maxLength: 4 }).map((labels) => labels.join("."));
const port = fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 443);
/** A configured host as resolveSettings stores it: lowercase, a port other than 443 kept. */
const configuredHost = fc.tuple(domain, fc.option(port, { nil: undefined })).map(([d, p]) => (p === undefined ? d : `${d}:${p}`));
const configuredHosts = fc.uniqueArray(configuredHost, { minLength: 1, maxLength: 4 });

/** A value that keeps its line intact: no line break, no NUL. */
const safeValue = fc.string({ unit: fc.constantFrom(..."abcHTPSxyz0129.-_:/@%?#[]=~é😀 \t"), maxLength: 30 });
const safeUrl = fc
  .tuple(fc.constantFrom("https", "http", "HTTPS", "ssh", "git"), safeValue, safeValue)
  .map(([protocol, authority, path]) => `${protocol}://${authority.replace(/\//g, "")}/${path}`);

/** Earlier lines of a request: anything, url= and host= included, later overridden. */
const earlierLine = fc.oneof(
  fc.tuple(fc.constantFrom("protocol", "host", "path", "username", "password", "capability[]", "wwwauth[]", "x-unknown"), safeValue).map(([k, v]) => `${k}=${v}`),
  safeUrl.map((u) => `url=${u}`),
);
/** Earlier lines that cannot set a host. */
const earlierLineWithoutHost = fc
  .tuple(fc.constantFrom("protocol", "path", "username", "password", "capability[]", "wwwauth[]", "x-unknown"), safeValue)
  .map(([k, v]) => `${k}=${v}`);

/** What the SPEC says matches: the host equals a configured one, ignoring case and https's default port. */
function specMatches(host: string, hosts: string[]): boolean {
  const lower = host.toLowerCase();
  return hosts.includes(lower) || hosts.includes(lower.replace(/:443$/, ""));
}

/** Strings that are not "https" in any case. */
const notHttps = fc.oneof(
  fc.constantFrom("http", "HTTP", "ssh", "git", "file", "", "https ", " https", "httpss", "http s", "hxxps", "https:", "https://"),
  safeValue,
).filter((p) => p.toLowerCase() !== "https");

/**
 * Hosts that are not configured: look-alikes built around a configured host (a prefix or suffix such
 * as ".evil.example", ":8443", "@evil.example"), or unrelated names. Whitespace is left out here: a
 * host with surrounding whitespace is covered on its own in scope.test.ts.
 */
const affixChar = fc.constantFrom(..."abcxyz019.-_:@/%?#[]");
const affix = fc.string({ unit: affixChar, minLength: 1, maxLength: 15 });

function notConfigured(hosts: string[]): fc.Arbitrary<string> {
  const base = fc.constantFrom(...hosts);
  return fc
    .oneof(
      fc.tuple(base, affix).map(([h, s]) => h + s),
      fc.tuple(affix, base).map(([p, h]) => p + h),
      fc.tuple(affix, base, affix).map(([p, h, s]) => p + h + s),
      fc.tuple(base, port).map(([h, p]) => `${h.replace(/:\d+$/, "")}:${p}`),
      base.map((h) => h.replace(/:\d+$/, "")),
      base.map((h) => h.slice(1)),
      base.map((h) => h.slice(0, -1)),
      configuredHost,
      affix,
    )
    .chain((h) => fc.mixedCase(fc.constant(h)))
    .filter((h) => !specMatches(h, hosts));
}

function request(earlier: string[], last: string[], eol: string): string {
  return [...earlier, ...last].map((l) => l + eol).join("") + eol;
}

describe("matchHost + scopeFor answer only https and configured hosts", () => {
  it("never matches a protocol other than https, whatever the host", () => {
    fc.assert(
      fc.property(
        configuredHosts.chain((hosts) =>
          fc.record({
            hosts: fc.constant(hosts),
            earlier: fc.array(earlierLine, { maxLength: 6 }),
            protocol: fc.option(notHttps, { nil: undefined }),
            host: fc.oneof(fc.constantFrom(...hosts), notConfigured(hosts), safeValue),
            protocolFirst: fc.boolean(),
            eol: fc.constantFrom("\n", "\r\n"),
          }),
        ),
        ({ hosts, earlier, protocol, host, protocolFirst, eol }) => {
          // With no protocol line, the earlier lines must not set one either.
          const before = protocol === undefined ? earlier.filter((l) => !l.startsWith("protocol=") && !l.startsWith("url=")) : earlier;
          const protocolLine = protocol === undefined ? [] : [`protocol=${protocol}`];
          const last = protocolFirst ? [...protocolLine, `host=${host}`] : [`host=${host}`, ...protocolLine];
          const settings = resolveSettings({ host: hosts }, {});
          expect(matchRequest(parseRequest(request(before, last, eol)), settings)).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("never matches a host that is not configured, nor a request without a host", () => {
    fc.assert(
      fc.property(
        configuredHosts.chain((hosts) =>
          fc.record({
            hosts: fc.constant(hosts),
            earlier: fc.array(earlierLine, { maxLength: 6 }),
            earlierNoHost: fc.array(earlierLineWithoutHost, { maxLength: 6 }),
            protocol: fc.mixedCase(fc.constant("https")),
            host: fc.option(notConfigured(hosts), { nil: undefined }),
            protocolFirst: fc.boolean(),
            eol: fc.constantFrom("\n", "\r\n"),
          }),
        ),
        ({ hosts, earlier, earlierNoHost, protocol, host, protocolFirst, eol }) => {
          const hostLine = host === undefined ? [] : [`host=${host}`];
          const last = protocolFirst ? [`protocol=${protocol}`, ...hostLine] : [...hostLine, `protocol=${protocol}`];
          const input = request(host === undefined ? earlierNoHost : earlier, last, eol);
          const settings = resolveSettings({ host: hosts }, {});
          expect(matchRequest(parseRequest(input), settings)).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("matches exactly when the lowercased host equals a configured host", () => {
    fc.assert(
      fc.property(
        configuredHosts.chain((hosts) =>
          fc.record({
            hosts: fc.constant(hosts),
            host: fc.mixedCase(fc.oneof(fc.constantFrom(...hosts), configuredHost)),
            protocol: fc.mixedCase(fc.constant("https")),
            path: fc.option(fc.constantFrom("acme/widgets.git", "acme/widgets", "acme"), { nil: undefined }),
          }),
        ),
        ({ hosts, host, protocol, path }) => {
          const settings = resolveSettings({ host: hosts }, {});
          const lines = [`protocol=${protocol}`, `host=${host}`, ...(path === undefined ? [] : [`path=${path}`])];
          const request = parseRequest(lines.join("\n") + "\n\n");
          const expected = hosts.includes(host.toLowerCase());
          expect(matchHost(request, settings.hosts)).toBe(expected ? host.toLowerCase() : undefined);
          if (!expected) return;
          if (path === "acme") {
            // A path that names no repository never widens to every repository: no answer.
            expect(() => matchRequest(request, settings)).toThrowError(expect.objectContaining({ code: "bad-input" }) as Error);
            return;
          }
          const scope = matchRequest(request, settings)!;
          expect(scope.host).toBe(host.toLowerCase());
          expect(scope.repositories).toEqual(path === undefined ? [] : ["widgets"]);
          expect(scope.owner).toBe(path === undefined ? undefined : "acme");
        },
      ),
      { numRuns: RUNS },
    );
  });
});
