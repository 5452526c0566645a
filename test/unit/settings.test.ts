import { describe, expect, it } from "vitest";
import { isLoopback, normalizeBaseUrl, normalizeHost, resolveHosts, resolveSettings, resolveSettingsLeniently, type Flags } from "../../src/settings";
import { errorOf } from "./expect-error";

type Env = Record<string, string | undefined>;

describe("resolveSettings defaults", () => {
  it("with no flags and no environment", () => {
    expect(resolveSettings({}, {})).toEqual({
      baseUrl: "https://vers.sh",
      hosts: ["github.com"],
      profile: undefined,
      permissions: undefined,
      source: "auto",
      fallbackStatic: false,
      refreshMarginMs: 300_000,
      timeoutMs: 15_000,
      strict: false,
    });
  });

  it("treats empty and blank environment values as unset", () => {
    const env: Env = {
      VERS_BASE_URL: "",
      VERS_GITHUB_HOST: "  ",
      VERS_GITHUB_PROFILE: "",
      VERS_TOKEN_SOURCE: " ",
      VERS_FALLBACK: "",
      VERS_REFRESH_MARGIN: "",
      VERS_TIMEOUT: "  ",
      VERS_CREDENTIAL_STRICT: "",
    };
    expect(resolveSettings({}, env)).toEqual(resolveSettings({}, {}));
  });
});

describe("resolveSettings: flag > environment > default, for every setting", () => {
  const cases: {
    setting: string;
    flags: Flags;
    env: Env;
    pick: (s: ReturnType<typeof resolveSettings>) => unknown;
    fromFlag: unknown;
    fromEnv: unknown;
    byDefault: unknown;
  }[] = [
    {
      setting: "baseUrl",
      flags: { baseUrl: "https://flag.example" },
      env: { VERS_BASE_URL: "https://env.example" },
      pick: (s) => s.baseUrl,
      fromFlag: "https://flag.example",
      fromEnv: "https://env.example",
      byDefault: "https://vers.sh",
    },
    {
      setting: "hosts",
      flags: { host: ["flag.example"] },
      env: { VERS_GITHUB_HOST: "env.example" },
      pick: (s) => s.hosts,
      fromFlag: ["flag.example"],
      fromEnv: ["env.example"],
      byDefault: ["github.com"],
    },
    {
      setting: "profile",
      flags: { profile: "clone" },
      env: { VERS_GITHUB_PROFILE: "ci" },
      pick: (s) => [s.profile, s.permissions],
      fromFlag: ["clone", { contents: "read" }],
      fromEnv: ["ci", { actions: "write", checks: "read", statuses: "read", contents: "read", metadata: "read" }],
      byDefault: [undefined, undefined],
    },
    {
      setting: "source",
      flags: { source: "static" },
      env: { VERS_TOKEN_SOURCE: "github-app" },
      pick: (s) => s.source,
      fromFlag: "static",
      fromEnv: "github-app",
      byDefault: "auto",
    },
    {
      setting: "fallback",
      flags: { fallback: "off" },
      env: { VERS_FALLBACK: "static" },
      pick: (s) => s.fallbackStatic,
      fromFlag: false,
      fromEnv: true,
      byDefault: false,
    },
    {
      setting: "refreshMargin",
      flags: { refreshMargin: "60" },
      env: { VERS_REFRESH_MARGIN: "120" },
      pick: (s) => s.refreshMarginMs,
      fromFlag: 60_000,
      fromEnv: 120_000,
      byDefault: 300_000,
    },
    {
      setting: "timeout",
      flags: { timeout: "2.5" },
      env: { VERS_TIMEOUT: "30" },
      pick: (s) => s.timeoutMs,
      fromFlag: 2_500,
      fromEnv: 30_000,
      byDefault: 15_000,
    },
  ];

  describe.each(cases)("$setting", ({ flags, env, pick, fromFlag, fromEnv, byDefault }) => {
    it("the flag wins over the environment", () => {
      expect(pick(resolveSettings(flags, env))).toEqual(fromFlag);
    });
    it("the environment wins over the default", () => {
      expect(pick(resolveSettings({}, env))).toEqual(fromEnv);
    });
    it("the default applies when neither is set", () => {
      expect(pick(resolveSettings({}, {}))).toEqual(byDefault);
    });
  });

  it("fallback static from the flag wins over VERS_FALLBACK=off", () => {
    expect(resolveSettings({ fallback: "static" }, { VERS_FALLBACK: "off" }).fallbackStatic).toBe(true);
  });

  it("an empty --host list falls back to VERS_GITHUB_HOST", () => {
    expect(resolveSettings({ host: [] }, { VERS_GITHUB_HOST: "ghe.example.com" }).hosts).toEqual(["ghe.example.com"]);
  });

  describe("strict", () => {
    it.each(["1", "true", "TRUE", "yes", "on", " On "])("VERS_CREDENTIAL_STRICT=%j turns it on", (value) => {
      expect(resolveSettings({}, { VERS_CREDENTIAL_STRICT: value }).strict).toBe(true);
    });
    it.each(["0", "false", "no", "off", "", "2"])("VERS_CREDENTIAL_STRICT=%j leaves it off", (value) => {
      expect(resolveSettings({}, { VERS_CREDENTIAL_STRICT: value }).strict).toBe(false);
    });
    it("--strict turns it on", () => {
      expect(resolveSettings({ strict: true }, {}).strict).toBe(true);
    });
    it("is off by default", () => {
      expect(resolveSettings({}, {}).strict).toBe(false);
    });
  });

  it("accepts a refresh margin of 0 and fractional seconds", () => {
    expect(resolveSettings({ refreshMargin: "0" }, {}).refreshMarginMs).toBe(0);
    expect(resolveSettings({}, { VERS_REFRESH_MARGIN: "0.5" }).refreshMarginMs).toBe(500);
  });

  it("source names are case-insensitive", () => {
    expect(resolveSettings({ source: "BROKER" }, {}).source).toBe("broker");
    expect(resolveSettings({}, { VERS_TOKEN_SOURCE: "GitHub-App" }).source).toBe("github-app");
  });

  it.each([
    ["static", true],
    ["STATIC", true],
    ["off", false],
    ["none", false],
    ["0", false],
    ["false", false],
  ] as const)("VERS_FALLBACK=%s → %s", (value, on) => {
    expect(resolveSettings({}, { VERS_FALLBACK: value }).fallbackStatic).toBe(on);
  });
});

describe("hosts", () => {
  it.each([
    { env: "github.com", hosts: ["github.com"] },
    { env: "github.com,ghe.example.com", hosts: ["github.com", "ghe.example.com"] },
    { env: " GitHub.com , GHE.Example.COM:8443 ", hosts: ["github.com", "ghe.example.com:8443"] },
    { env: "github.com:443,ghe.example.com:443", hosts: ["github.com", "ghe.example.com"] },
    { env: "github.com,,github.com:443,GITHUB.COM", hosts: ["github.com"] },
    { env: "127.0.0.1:8443,[::1]:9443", hosts: ["127.0.0.1:8443", "[::1]:9443"] },
    { env: "ghe.example.com:4430", hosts: ["ghe.example.com:4430"] },
  ])("VERS_GITHUB_HOST=$env → $hosts", ({ env, hosts }) => {
    expect(resolveSettings({}, { VERS_GITHUB_HOST: env }).hosts).toEqual(hosts);
  });

  it("--host is repeatable, normalised the same way, and may hold commas", () => {
    expect(resolveHosts({ host: ["GitHub.com:443", "ghe.example.com:8443,other.example"] }, {})).toEqual([
      "github.com",
      "ghe.example.com:8443",
      "other.example",
    ]);
  });

  it.each([",", " , ,"])("refuses a list with no host in it (%j)", (value) => {
    const err = errorOf(() => resolveSettings({}, { VERS_GITHUB_HOST: value }));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe("no host is configured");
  });

  it.each(["github.com/acme", "user@github.com", "git hub.com", "github.com?x", "https://github.com"])("refuses %j as a host", (value) => {
    const err = errorOf(() => resolveSettings({ host: [value] }, {}));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(`"${value.toLowerCase()}" is not a host name`);
  });
});

describe("normalizeHost", () => {
  it.each([
    ["github.com", "github.com"],
    ["GitHub.COM", "github.com"],
    ["github.com:443", "github.com"],
    ["GITHUB.COM:443", "github.com"],
    ["github.com:8443", "github.com:8443"],
    ["github.com:4433", "github.com:4433"],
    ["github.com:80", "github.com:80"],
    [" github.com ", "github.com"],
  ])("%j → %j", (input, output) => {
    expect(normalizeHost(input)).toBe(output);
  });
});

describe("isLoopback", () => {
  it.each(["127.0.0.1", "127.1.2.3", "127.255.255.255", "localhost", "::1", "[::1]"])("%s is loopback", (host) => {
    expect(isLoopback(host)).toBe(true);
  });
  it.each([
    "128.0.0.1",
    "10.0.0.1",
    "0.0.0.0",
    "127.0.0.1.nip.io",
    "127.0.0.1.evil.example",
    "x127.0.0.1",
    "localhost.evil.example",
    "evillocalhost",
    "::2",
    "[::]",
    "vers.sh",
    "",
  ])("%j is not loopback", (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});

describe("normalizeBaseUrl", () => {
  it.each([
    ["https://vers.sh", "https://vers.sh"],
    ["https://vers.sh/", "https://vers.sh"],
    ["https://VERS.sh//", "https://vers.sh"],
    ["https://api.vers.sh", "https://vers.sh"],
    ["https://API.vers.sh/", "https://vers.sh"],
    ["https://api.staging.vers.sh", "https://staging.vers.sh"],
    ["https://myapi.vers.sh", "https://myapi.vers.sh"],
    ["https://vers.sh:8443/", "https://vers.sh:8443"],
    ["https://vers.sh:443", "https://vers.sh"],
    ["https://broker.example/prefix/", "https://broker.example/prefix"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["http://127.0.0.1:8080/", "http://127.0.0.1:8080"],
    ["http://127.9.9.9", "http://127.9.9.9"],
    ["http://localhost:3000", "http://localhost:3000"],
    ["http://[::1]:3000/", "http://[::1]:3000"],
  ])("%s → %s", (raw, out) => {
    expect(normalizeBaseUrl(raw, "VERS_BASE_URL")).toBe(out);
  });

  it("keeps api. when told not to drop it (GITHUB_API_URL)", () => {
    expect(normalizeBaseUrl("https://api.github.com/", "GITHUB_API_URL", false)).toBe("https://api.github.com");
  });

  it.each([
    ["http://vers.sh", "VERS_BASE_URL must use https (got http://vers.sh)"],
    ["http://127.0.0.1.evil.example", "VERS_BASE_URL must use https (got http://127.0.0.1.evil.example)"],
    ["http://localhost.evil.example:80", "VERS_BASE_URL must use https (got http://localhost.evil.example)"],
    ["http://10.0.0.1:8080", "VERS_BASE_URL must use https (got http://10.0.0.1:8080)"],
    ["ftp://vers.sh", "VERS_BASE_URL must use https (got ftp://vers.sh)"],
    ["file:///etc/passwd", "VERS_BASE_URL must use https (got file://)"],
  ])("refuses %s", (raw, what) => {
    const err = errorOf(() => normalizeBaseUrl(raw, "VERS_BASE_URL"));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(what);
    expect(err.hint).toBe("plain http is allowed only on loopback");
  });

  it.each(["https://octo:s3cr3t@vers.sh", "https://s3cr3t@vers.sh", "https://:s3cr3t@vers.sh", "http://u:s3cr3t@127.0.0.1:8080"])(
    "refuses credentials in %s, without echoing them",
    (raw) => {
      const err = errorOf(() => normalizeBaseUrl(raw, "VERS_BASE_URL"));
      expect(err.code).toBe("bad-setting");
      expect(err.what).toBe("VERS_BASE_URL must not hold credentials");
      expect(err.message).not.toContain("s3cr3t");
    },
  );

  it.each(["https://vers.sh?x", "https://vers.sh/?x=1", "https://vers.sh#frag", "https://vers.sh/#", "https://vers.sh?", "http://127.0.0.1:8080/?a=b#c"])(
    "refuses a query or fragment in %j, whole or empty",
    (raw) => {
      const err = errorOf(() => normalizeBaseUrl(raw, "VERS_BASE_URL"));
      expect(err.code).toBe("bad-setting");
      expect(err.what).toBe(`VERS_BASE_URL must not have a query or fragment (got "${raw}")`);
      expect(err.hint).toBe("remove everything from ? or #");
    },
  );

  it("refuses a query in --base-url, and names the setting", () => {
    expect(errorOf(() => resolveSettings({ baseUrl: "https://vers.sh?x" }, {})).what).toBe('VERS_BASE_URL must not have a query or fragment (got "https://vers.sh?x")');
  });

  it.each(["vers.sh", "not a url", "https://", ""])("refuses %j as not a URL", (raw) => {
    const err = errorOf(() => normalizeBaseUrl(raw, "VERS_BASE_URL"));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(`VERS_BASE_URL "${raw}" is not a URL`);
  });

  it("is applied to --base-url and VERS_BASE_URL", () => {
    expect(resolveSettings({ baseUrl: "https://api.vers.sh/" }, {}).baseUrl).toBe("https://vers.sh");
    expect(resolveSettings({}, { VERS_BASE_URL: "https://api.vers.sh/" }).baseUrl).toBe("https://vers.sh");
    expect(errorOf(() => resolveSettings({}, { VERS_BASE_URL: "http://vers.sh" })).code).toBe("bad-setting");
    expect(errorOf(() => resolveSettings({ baseUrl: "http://vers.sh" }, { VERS_BASE_URL: "https://vers.sh" })).code).toBe("bad-setting");
  });
});

describe("bad numbers", () => {
  it.each([
    { flags: { refreshMargin: "abc" }, env: {}, what: '--refresh-margin / VERS_REFRESH_MARGIN must be a number of seconds (got "abc")', hint: "e.g. 300" },
    { flags: {}, env: { VERS_REFRESH_MARGIN: "-1" }, what: '--refresh-margin / VERS_REFRESH_MARGIN must be a number of seconds (got "-1")', hint: "e.g. 300" },
    { flags: {}, env: { VERS_REFRESH_MARGIN: "Infinity" }, what: '--refresh-margin / VERS_REFRESH_MARGIN must be a number of seconds (got "Infinity")', hint: "e.g. 300" },
    { flags: {}, env: { VERS_REFRESH_MARGIN: "5m" }, what: '--refresh-margin / VERS_REFRESH_MARGIN must be a number of seconds (got "5m")', hint: "e.g. 300" },
    { flags: { timeout: "0" }, env: {}, what: '--timeout / VERS_TIMEOUT must be more than 0 seconds (got "0")', hint: "e.g. 15" },
    { flags: {}, env: { VERS_TIMEOUT: "0.0" }, what: '--timeout / VERS_TIMEOUT must be more than 0 seconds (got "0.0")', hint: "e.g. 15" },
    { flags: { timeout: "-5" }, env: {}, what: '--timeout / VERS_TIMEOUT must be a number of seconds (got "-5")', hint: "e.g. 15" },
    { flags: {}, env: { VERS_TIMEOUT: "NaN" }, what: '--timeout / VERS_TIMEOUT must be a number of seconds (got "NaN")', hint: "e.g. 15" },
    { flags: {}, env: { VERS_TIMEOUT: "ten" }, what: '--timeout / VERS_TIMEOUT must be a number of seconds (got "ten")', hint: "e.g. 15" },
  ] as { flags: Flags; env: Env; what: string; hint: string }[])("$what", ({ flags, env, what, hint }) => {
    const err = errorOf(() => resolveSettings(flags, env));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(what);
    expect(err.hint).toBe(hint);
  });

  it("a bad flag is refused even when the environment is good", () => {
    expect(errorOf(() => resolveSettings({ timeout: "x" }, { VERS_TIMEOUT: "10" })).code).toBe("bad-setting");
  });
});

describe("unknown names are refused, naming the known values", () => {
  it("source", () => {
    const err = errorOf(() => resolveSettings({}, { VERS_TOKEN_SOURCE: "vault" }));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe('unknown token source "vault"');
    expect(err.hint).toBe("use one of: auto, broker, grant, github-app, static");
  });

  it("fallback", () => {
    const err = errorOf(() => resolveSettings({ fallback: "cache" }, {}));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe('unknown fallback "cache"');
    expect(err.hint).toBe("the only fallback is static");
  });

  it.each(["admin", "READ", "__proto__", "toString", "constructor"])("profile %j", (name) => {
    const err = errorOf(() => resolveSettings({ profile: name }, {}));
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe(`unknown profile "${name}"`);
    expect(err.hint).toBe("use one of: read, develop, clone, ci");
  });

  it("profile from the environment", () => {
    const err = errorOf(() => resolveSettings({}, { VERS_GITHUB_PROFILE: "maintain" }));
    expect(err.message).toBe('unknown profile "maintain" (use one of: read, develop, clone, ci)');
  });
});

describe("resolveSettingsLeniently (for status)", () => {
  it("with good settings: the same as resolveSettings, no problems", () => {
    const env = { VERS_BASE_URL: "https://api.vers.sh", VERS_GITHUB_HOST: "ghe.example.com", VERS_GITHUB_PROFILE: "clone", VERS_TIMEOUT: "5" };
    expect(resolveSettingsLeniently({ strict: true }, env)).toEqual({ settings: resolveSettings({ strict: true }, env), problems: [] });
  });

  it("every bad setting is replaced by its default and reported; the good ones are kept", () => {
    const { settings, problems } = resolveSettingsLeniently(
      { baseUrl: "http://vers.sh", timeout: "0" },
      { VERS_GITHUB_HOST: "bad host", VERS_GITHUB_PROFILE: "maintain", VERS_TOKEN_SOURCE: "vault", VERS_FALLBACK: "cache", VERS_REFRESH_MARGIN: "60", VERS_CREDENTIAL_STRICT: "1" },
    );
    expect(settings).toEqual({
      baseUrl: "https://vers.sh",
      hosts: ["github.com"],
      profile: undefined,
      permissions: undefined,
      source: "auto",
      fallbackStatic: false,
      refreshMarginMs: 60_000,
      timeoutMs: 15_000,
      strict: true,
    });
    expect(problems.map((p) => p.what)).toEqual([
      'unknown profile "maintain"',
      "VERS_BASE_URL must use https (got http://vers.sh)",
      '"bad host" is not a host name',
      'unknown token source "vault"',
      'unknown fallback "cache"',
      '--timeout / VERS_TIMEOUT must be more than 0 seconds (got "0")',
    ]);
    expect(problems.every((p) => p.code === "bad-setting")).toBe(true);
  });
});
