/**
 * The security boundary and hygiene: answer only https requests for a configured host, refuse bad
 * input, never trace a secret, and keep network/CLI code out of the cache-hit, store and
 * non-matching paths.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { helper } from "./harness";
import {
  brokerCounter,
  CHUNKS_OBSERVABLE,
  getToken,
  lines,
  moduleProbe,
  networkOrCliModules,
  parseLines,
  request,
  tempEnvs,
  useServers,
  type ModuleProbe,
} from "./fixtures";

const servers = useServers({ gitHost: true });
let probe: ModuleProbe;

beforeAll(async () => {
  probe = await moduleProbe();
});

afterAll(async () => {
  await probe?.dispose();
});

beforeEach(async () => {
  await probe.reset();
});

/** The git host (127.0.0.1:PORT) and github.com are the configured hosts. */
const env = tempEnvs(() => ({
  brokerUrl: servers.broker.url,
  apiKey: servers.apiKey,
  hosts: [servers.gitHost.host, "github.com"],
  wireGit: false,
  extraEnv: { VERS_TIMEOUT: "10" },
}));

type Env = Awaited<ReturnType<typeof env>>;

function raw(fields: Record<string, string>): string {
  return `${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join("\n")}\n\n`;
}

function otherPort(): string {
  const port = Number(servers.gitHost.host.split(":")[1]);
  return `127.0.0.1:${port === 65535 ? port - 1 : port + 1}`;
}

describe("matching", () => {
  const refused: Array<[string, () => string]> = [
    ["another host", () => raw({ protocol: "https", host: "example.com" })],
    ["protocol=http for the git host", () => raw({ protocol: "http", host: servers.gitHost.host })],
    ["protocol=http for github.com", () => raw({ protocol: "http", host: "github.com" })],
    ["protocol=ssh", () => raw({ protocol: "ssh", host: "github.com" })],
    ["no protocol", () => raw({ host: "github.com" })],
    ["no host", () => raw({ protocol: "https" })],
    ["github.com.evil.example", () => raw({ protocol: "https", host: "github.com.evil.example" })],
    ["evilgithub.com", () => raw({ protocol: "https", host: "evilgithub.com" })],
    ["evil-127.0.0.1", () => raw({ protocol: "https", host: "evil-127.0.0.1" })],
    ["evil-127.0.0.1 with the git host's port", () => raw({ protocol: "https", host: `evil-${servers.gitHost.host}` })],
    ["the git host's host with a suffix", () => raw({ protocol: "https", host: `${servers.gitHost.host}.evil.example` })],
    ["the git host's address with another port", () => raw({ protocol: "https", host: otherPort() })],
    ["the git host's address without its port", () => raw({ protocol: "https", host: "127.0.0.1" })],
    ["github.com with a port", () => raw({ protocol: "https", host: "github.com:8443" })],
    ["a url whose userinfo looks like the host", () => raw({ url: "https://github.com@evil.example/acme/widgets.git" })],
  ];

  it.each(refused)("%s: no answer, exit 0, nobody contacted", async (_name, input) => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const r = await helper(t, ["get"], input());
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(count.requests()).toBe(0);
  });

  // Positive controls, so the refusals above are refusals of the host and not of everything.
  // URL schemes are case-insensitive (RFC 3986) and HTTPS is still TLS: protocol=HTTPS is https.
  // The broker serves the first configured host (one host per source), so github.com is listed first for its controls.
  const githubFirst = () => ({ hosts: ["github.com", servers.gitHost.host] });
  it.each<[string, () => string, (() => { hosts: string[] }) | undefined]>([
    ["the git host", () => raw({ protocol: "https", host: servers.gitHost.host }), undefined],
    ["protocol=HTTPS for the git host", () => raw({ protocol: "HTTPS", host: servers.gitHost.host }), undefined],
    ["GitHub.COM (hosts compare case-insensitively)", () => raw({ protocol: "https", host: "GitHub.COM" }), githubFirst],
    ["url=https://github.com/acme/widgets.git", () => raw({ url: "https://github.com/acme/widgets.git" }), githubFirst],
  ])("%s: answered", async (_name, input, hosts) => {
    const t = await env(hosts?.());
    const count = brokerCounter(servers.broker);
    const r = await helper(t, ["get"], input());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(servers.broker.registry.lookup(parseLines(r.stdout).password!)).toBeDefined();
    expect(count.mints()).toBe(1);
  });
});

describe("bad input", () => {
  const badInputs: Array<[string, () => string]> = [
    ["a line without =", () => `protocol=https\nhost=${servers.gitHost.host}\nthis line has no equals sign\n\n`],
    ["a NUL byte", () => `protocol=https\nhost=${servers.gitHost.host}\0\n\n`],
    ["more than 1 MiB", () => `protocol=https\nhost=${servers.gitHost.host}\npath=acme/${"a".repeat(1536 * 1024)}\n\n`],
  ];

  it.each(badInputs)("get with %s: exit 1, nothing on stdout, one line on stderr, no request", async (_name, input) => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const r = await helper(t, ["get"], input());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^git-credential-vers: /);
    expect(r.stderr).not.toContain("    at ");
    expect(count.requests()).toBe(0);
  });

  it.each(badInputs)("erase with %s: exit 0, nothing on stdout, one line on stderr, cache untouched", async (_name, input) => {
    const t = await env();
    const { token } = await getToken(t, servers.gitHost.host);
    const r = await helper(t, ["erase"], input());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^git-credential-vers: /);
    expect(r.stderr).not.toContain("    at ");
    const count = brokerCounter(servers.broker);
    expect((await getToken(t, servers.gitHost.host)).token).toBe(token);
    expect(count.requests()).toBe(0);
  });
});

describe("trace", () => {
  it("VERS_CREDENTIAL_TRACE=1 traces a miss and a hit to stderr without the token or the key", async () => {
    const t = await env({ extraEnv: { VERS_CREDENTIAL_TRACE: "1" } });
    const cold = await helper(t, ["get"], request(servers.gitHost.host));
    expect(cold.code).toBe(0);
    const token = parseLines(cold.stdout).password!;
    expect(servers.broker.registry.lookup(token)).toBeDefined();
    expect(cold.stderr).toContain("cache miss");
    expect(cold.stderr).toContain("HTTP 201");
    const hit = await helper(t, ["get"], request(servers.gitHost.host));
    expect(hit.code).toBe(0);
    expect(parseLines(hit.stdout).password).toBe(token);
    expect(hit.stderr).toContain("cache hit");
    for (const stderr of [cold.stderr, hit.stderr]) {
      expect(stderr).not.toContain(token);
      expect(stderr).not.toContain(servers.apiKey);
    }
  });

  it("VERS_CREDENTIAL_TRACE=<path> appends there and leaves stderr empty", async () => {
    const t = await env();
    const file = join(t.home, "trace.log");
    t.env.VERS_CREDENTIAL_TRACE = file;
    const cold = await helper(t, ["get"], request(servers.gitHost.host));
    const hit = await helper(t, ["get"], request(servers.gitHost.host));
    expect(cold).toMatchObject({ code: 0, stderr: "" });
    expect(hit).toMatchObject({ code: 0, stderr: "" });
    const token = parseLines(cold.stdout).password!;
    const trace = await readFile(file, "utf8");
    expect(trace).toContain("cache miss");
    expect(trace).toContain("HTTP 201");
    expect(trace).toContain("cache hit");
    // Appended: the miss comes before the hit.
    expect(trace.indexOf("cache miss")).toBeLessThan(trace.indexOf("cache hit"));
    expect(trace).not.toContain(token);
    expect(trace).not.toContain(servers.apiKey);
  });
});

describe.skipIf(!CHUNKS_OBSERVABLE)("lazy loading (bin/ only: the single binary is one bundle)", () => {
  async function probed(t: Env, args: string[], input: string): Promise<string[]> {
    await probe.reset();
    const r = await helper({ ...t, env: { ...t.env, ...probe.env } }, args, input);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const runs = await probe.runs();
    expect(runs).toHaveLength(1);
    return runs[0]!;
  }

  it("a cold get loads the lock and network chunks (lockfile.cjs, sources.cjs)", async () => {
    const t = await env();
    const loaded = await probed(t, ["get"], request(servers.gitHost.host));
    expect(loaded.some((p) => p.endsWith("lockfile.cjs"))).toBe(true);
    expect(loaded.some((p) => p.endsWith("sources.cjs"))).toBe(true);
  });

  it("a cache hit loads no network, lock or CLI code", async () => {
    const t = await env();
    await getToken(t, servers.gitHost.host);
    const loaded = await probed(t, ["get"], request(servers.gitHost.host));
    expect(loaded.some((p) => p.endsWith("main.cjs"))).toBe(true);
    expect(networkOrCliModules(loaded)).toEqual([]);
  });

  it("store loads no network, lock or CLI code", async () => {
    const t = await env();
    const loaded = await probed(t, ["store"], request(servers.gitHost.host, { username: "x-access-token", password: "ghs_x" }));
    expect(loaded.length).toBeGreaterThan(0); // the entry script itself
    expect(networkOrCliModules(loaded)).toEqual([]);
  });

  it("a get for a host that does not match loads no network, lock or CLI code", async () => {
    const t = await env();
    const loaded = await probed(t, ["get"], request("example.com"));
    expect(loaded.some((p) => p.endsWith("main.cjs"))).toBe(true);
    expect(networkOrCliModules(loaded)).toEqual([]);
  });
});
