import { describe, expect, it } from "vitest";
import { HelperError } from "../../src/errors";
import { parseRequest, type CredentialRequest } from "../../src/protocol/parse";
import { describeScope, matchHost, parseRepository, scopeFor, scopeFromRepoArgument, type Scope } from "../../src/scope";
import { resolveSettings, type Flags, type Settings } from "../../src/settings";
import { errorOf } from "./expect-error";

function settings(flags: Flags = {}): Settings {
  return resolveSettings(flags, {});
}

function request(fields: Omit<CredentialRequest, "lists">): CredentialRequest {
  return { lists: {}, ...fields };
}

/** What `get` does: matchHost, then scopeFor on the host it matched; undefined when no host matches. */
function matchRequest(req: CredentialRequest, s: Settings): Scope | undefined {
  const host = matchHost(req, s.hosts);
  return host === undefined ? undefined : scopeFor(host, req, s);
}

describe("matchHost + scopeFor: what matches", () => {
  it.each([
    { protocol: "https", host: "github.com" },
    { protocol: "HTTPS", host: "github.com" },
    { protocol: "Https", host: "GitHub.COM" },
    { protocol: "https", host: "github.com:443" },
  ])("$protocol://$host matches github.com", (fields) => {
    expect(matchRequest(request(fields), settings())).toEqual({ host: "github.com", repositories: [], permissions: undefined, profile: undefined });
  });

  it("a configured host with a port matches only with that port", () => {
    const s = settings({ host: ["ghe.example.com:8443"] });
    expect(matchRequest(request({ protocol: "https", host: "GHE.example.com:8443" }), s)?.host).toBe("ghe.example.com:8443");
    expect(matchRequest(request({ protocol: "https", host: "ghe.example.com" }), s)).toBeUndefined();
    expect(matchRequest(request({ protocol: "https", host: "ghe.example.com:443" }), s)).toBeUndefined();
    expect(matchRequest(request({ protocol: "https", host: "ghe.example.com:9443" }), s)).toBeUndefined();
  });

  it("any of several configured hosts matches, and nothing else", () => {
    const s = settings({ host: ["github.com", "ghe.example.com"] });
    expect(matchRequest(request({ protocol: "https", host: "ghe.example.com" }), s)?.host).toBe("ghe.example.com");
    expect(matchRequest(request({ protocol: "https", host: "github.com" }), s)?.host).toBe("github.com");
    expect(matchRequest(request({ protocol: "https", host: "gitlab.com" }), s)).toBeUndefined();
  });

  it("with a path, the scope is that one repository, owner kept", () => {
    expect(matchRequest(request({ protocol: "https", host: "github.com", path: "acme/widgets.git" }), settings())).toEqual({
      host: "github.com",
      owner: "acme",
      repositories: ["widgets"],
      permissions: undefined,
      profile: undefined,
    });
  });

  it("carries the profile and its permissions", () => {
    expect(matchRequest(request({ protocol: "https", host: "github.com" }), settings({ profile: "clone" }))).toEqual({
      host: "github.com",
      repositories: [],
      permissions: { contents: "read" },
      profile: "clone",
    });
  });

  it("a path that names no repository is not an answer, even for a matching host", () => {
    expect(() => matchRequest(request({ protocol: "https", host: "github.com", path: "acme" }), settings())).toThrowError(expect.objectContaining({ code: "bad-input" }) as Error);
  });

  it("works on a parsed request, url= included", () => {
    const req = parseRequest("url=https://x-access-token@github.com/acme/widgets.git\n\n");
    expect(matchRequest(req, settings())).toEqual({ host: "github.com", owner: "acme", repositories: ["widgets"], permissions: undefined, profile: undefined });
  });
});

describe("matchHost: what does not match", () => {
  const notMatching: { name: string; fields: Omit<CredentialRequest, "lists"> }[] = [
    { name: "http", fields: { protocol: "http", host: "github.com" } },
    { name: "HTTP", fields: { protocol: "HTTP", host: "github.com" } },
    { name: "ssh", fields: { protocol: "ssh", host: "github.com" } },
    { name: "git", fields: { protocol: "git", host: "github.com" } },
    { name: "httpss", fields: { protocol: "httpss", host: "github.com" } },
    { name: "https with a trailing space", fields: { protocol: "https ", host: "github.com" } },
    { name: "an empty protocol", fields: { protocol: "", host: "github.com" } },
    { name: "no protocol", fields: { host: "github.com" } },
    { name: "no host", fields: { protocol: "https" } },
    { name: "an empty host", fields: { protocol: "https", host: "" } },
    { name: "another host", fields: { protocol: "https", host: "gitlab.com" } },
    { name: "a suffix look-alike", fields: { protocol: "https", host: "github.com.evil.example" } },
    { name: "a prefix look-alike", fields: { protocol: "https", host: "evilgithub.com" } },
    { name: "a subdomain", fields: { protocol: "https", host: "api.github.com" } },
    { name: "a trailing dot", fields: { protocol: "https", host: "github.com." } },
    { name: "another port", fields: { protocol: "https", host: "github.com:8443" } },
    { name: "port 80", fields: { protocol: "https", host: "github.com:80" } },
    { name: "an empty port", fields: { protocol: "https", host: "github.com:" } },
    { name: "userinfo in the host", fields: { protocol: "https", host: "github.com@evil.example" } },
    { name: "userinfo before the host", fields: { protocol: "https", host: "evil.example@github.com" } },
    { name: "a path in the host", fields: { protocol: "https", host: "github.com/evil" } },
    { name: "a NUL-like suffix", fields: { protocol: "https", host: "github.com\u0000" } },
    { name: "a unicode look-alike", fields: { protocol: "https", host: "gіthub.com" } },
    { name: "nothing at all", fields: {} },
  ];

  it.each(notMatching)("$name", ({ fields }) => {
    expect(matchRequest(request(fields), settings())).toBeUndefined();
    expect(matchHost(request(fields), ["github.com"])).toBeUndefined();
  });

  it("github.com:8443 is not github.com", () => {
    expect(matchRequest(request({ protocol: "https", host: "github.com:8443" }), settings({ host: ["github.com"] }))).toBeUndefined();
  });

  it("a parsed http url does not match", () => {
    expect(matchRequest(parseRequest("url=http://github.com/acme/widgets.git\n\n"), settings())).toBeUndefined();
  });

  /** SPEC: host must *equal* a configured host; only case and https's default port are forgiven. */
  it.each([" github.com", "github.com\t", "github.com\n"])("a host with whitespace, %j, does not match", (host) => {
    expect(matchRequest(request({ protocol: "https", host }), settings())).toBeUndefined();
  });

  it.each(["https://github.com%0a/acme/widgets.git", "https://github.com%20/acme/widgets.git"])(
    "a url whose host decodes to whitespace, %s, does not match",
    (url) => {
      expect(matchRequest(parseRequest(`url=${url}\n\n`), settings())).toBeUndefined();
    },
  );
});

describe("parseRepository: owner/repo, optionally .git, and nothing else", () => {
  it.each<[string, { owner: string; name: string }]>([
    ["acme/widgets", { owner: "acme", name: "widgets" }],
    ["acme/widgets.git", { owner: "acme", name: "widgets" }],
    ["acme/widgets.GIT", { owner: "acme", name: "widgets" }],
    ["Acme/Widgets.GIT", { owner: "Acme", name: "Widgets" }],
    ["acme/widgets.js.git", { owner: "acme", name: "widgets.js" }],
    ["acme/widgets.js", { owner: "acme", name: "widgets.js" }],
    ["a-b_c.d/e-f_g.h", { owner: "a-b_c.d", name: "e-f_g.h" }],
    ["acme/.github", { owner: "acme", name: ".github" }],
    ["acme/...", { owner: "acme", name: "..." }],
    ["acme/widgets.git.git", { owner: "acme", name: "widgets.git" }],
  ])("%j → %j", (path, want) => {
    expect(parseRepository(path)).toStrictEqual(want);
  });

  it.each([
    ["no slash", "acme"],
    ["an empty repository", "acme/"],
    ["only .git", "acme/.git"],
    ["a .git owner without a slash", "acme.git"],
    ["an empty owner", "/widgets.git"],
    ["a leading slash", "/acme/widgets"],
    ["a trailing slash", "acme/widgets/"],
    ["a trailing slash after .git", "acme/widgets.git/"],
    ["a third part", "acme/widgets/extra"],
    ["git's smart-http path", "acme/widgets.git/info/refs"],
    ["a parent folder as repository", "acme/.."],
    ["the current folder as repository", "acme/."],
    ["a parent folder as owner", "../widgets"],
    ["a parent folder with .git", "acme/...git"],
    ["nothing", ""],
    ["a slash alone", "/"],
    ["a space", "acme/wid gets"],
    ["a newline", "acme/widgets\n"],
    ["a percent", "acme/wid%20gets"],
    ["a backslash", "acme\\widgets"],
    ["a colon", "acme/widgets:main"],
    ["a non-ASCII letter", "acmé/widgets"],
    ["a query", "acme/widgets?x=1"],
  ])("%s (%j) names no repository", (_name, path) => {
    expect(parseRepository(path)).toBeUndefined();
  });
});

describe("scopeFor: the scope of a request whose host matched", () => {
  const s = settings({ profile: "clone" });
  const base = { host: "github.com", permissions: { contents: "read" }, profile: "clone" };

  it("no path: every repository", () => {
    expect(scopeFor("github.com", request({ protocol: "https", host: "github.com" }), s)).toStrictEqual({ ...base, repositories: [] });
  });

  it.each([
    ["acme/widgets", "acme", "widgets"],
    ["acme/widgets.git", "acme", "widgets"],
    ["Acme/Widgets.GIT", "Acme", "Widgets"],
  ])("path %j: that one repository, owner kept", (path, owner, name) => {
    expect(scopeFor("github.com", request({ protocol: "https", host: "github.com", path }), s)).toStrictEqual({ ...base, owner, repositories: [name] });
  });

  it.each(["acme", "acme/", "acme/.git", "acme.git", "/widgets.git", "acme/widgets/extra", "acme/..", ""])(
    "path %j: no answer (bad-input), never widened to every repository",
    (path) => {
      const err = errorOf(() => scopeFor("github.com", request({ protocol: "https", host: "github.com", path }), s));
      expect(err.code).toBe("bad-input");
      expect(err.what).toBe(`git asked for path "${path}", which names no repository`);
      expect(err.hint).toBe("with credential.useHttpPath the path must be owner/repo; no token is given for anything else");
    },
  );

  it("cuts a long path to 200 characters in the message", () => {
    const path = `acme/${"x".repeat(300)}/extra`;
    expect(errorOf(() => scopeFor("github.com", request({ path }), s)).what).toBe(`git asked for path "${path.slice(0, 200)}", which names no repository`);
  });

  it("takes the host as given (matchHost already chose it)", () => {
    expect(scopeFor("ghe.example.com:8443", request({ path: "acme/widgets" }), settings()).host).toBe("ghe.example.com:8443");
  });
});

describe("describeScope", () => {
  it.each<{ scope: Scope; text: string }>([
    { scope: { host: "github.com", repositories: [] }, text: "every repository" },
    { scope: { host: "github.com", owner: "acme", repositories: ["widgets"] }, text: "acme/widgets" },
    { scope: { host: "github.com", repositories: ["widgets"] }, text: "widgets" },
    { scope: { host: "github.com", owner: "acme", repositories: ["a", "b"] }, text: "acme/a, acme/b" },
    { scope: { host: "github.com", owner: "acme", repositories: ["widgets"], profile: "clone", permissions: { contents: "read" } }, text: "acme/widgets with profile clone" },
    { scope: { host: "github.com", repositories: [], profile: "ci" }, text: "every repository with profile ci" },
  ])("$text", ({ scope, text }) => {
    expect(describeScope(scope)).toBe(text);
  });
});

describe("scopeFromRepoArgument (token --repo)", () => {
  const s = settings({ host: ["github.com", "ghe.example.com:8443"], profile: "clone" });
  const base = { permissions: { contents: "read" }, profile: "clone" };

  it.each([
    ["acme/widgets", "github.com"],
    ["acme/widgets.git", "github.com"],
    ["acme/widgets/", "github.com"],
    ["github.com/acme/widgets", "github.com"],
    ["GitHub.com/acme/widgets.git", "github.com"],
    ["https://github.com/acme/widgets", "github.com"],
    ["https://github.com/acme/widgets.git", "github.com"],
    ["HTTPS://github.com:443/acme/widgets", "github.com"],
    ["ghe.example.com:8443/acme/widgets", "ghe.example.com:8443"],
    ["https://ghe.example.com:8443/acme/widgets.git", "ghe.example.com:8443"],
  ])("%s → %s acme/widgets", (value, host) => {
    expect(scopeFromRepoArgument(value, s)).toEqual({ host, owner: "acme", repositories: ["widgets"], ...base });
  });

  it("without --repo: the first configured host, every repository", () => {
    expect(scopeFromRepoArgument(undefined, s)).toEqual({ host: "github.com", repositories: [], ...base });
  });

  it.each(["acme", "acme/widgets/extra/more", "http://github.com/acme/widgets", "ssh://github.com/acme/widgets", "https://github.com/acme", "acme/..", "../widgets", "acme/wid gets", ""])(
    "refuses %j",
    (value) => {
      let caught: unknown;
      try {
        scopeFromRepoArgument(value, s);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(HelperError);
      expect((caught as HelperError).code).toBe("bad-setting");
      expect((caught as HelperError).what).toBe(`--repo "${value}" is not a repository`);
    },
  );

  it("refuses a host that is not configured, naming the configured ones", () => {
    let caught: unknown;
    try {
      scopeFromRepoArgument("https://evil.example/acme/widgets", s);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HelperError);
    expect((caught as HelperError).message).toBe(
      "--repo names host evil.example, which is not configured (configured: github.com, ghe.example.com:8443; add it with --host or VERS_GITHUB_HOST)",
    );
  });
});
