/**
 * `status [--json] [--check]` and `cache clear`: what is configured, where the key came from, the
 * cache and its entries (tokens redacted), whether git is wired; exit 1 when something is wrong.
 */
import { chmod, mkdir, readFile, rm, symlink, writeFile, copyFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { credentialFill, git, helper, HELPER_BIN, run, type RunResult, type TestEnv, type TestEnvOptions } from "./harness";
import { CHUNKS_OBSERVABLE, ok, tempEnvs, useServers } from "./fixtures";

interface StatusJson {
  version: string;
  ok: boolean;
  problems: Array<{ what: string; fix: string }>;
  warnings: Array<{ what: string; fix: string }>;
  source: Record<string, string | null>;
  settings: { hosts: string[] };
  cache: { dir: string; mode: string | null; entries: Array<{ state: string; token: string }> };
  git: Array<{ host: string; wired: boolean; command: string | null; commandProblem: string | null }>;
  check?: { ok: boolean; message: string; fix?: string };
}

const servers = useServers({ gitHost: true });
let version: string;

beforeAll(async () => {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  version = pkg.version;
});

const made = tempEnvs(() => ({ brokerUrl: servers.broker.url, apiKey: servers.apiKey, hosts: [servers.gitHost.host], caFile: servers.gitHost.caFile, wireGit: false }));

/** A HOME wired by the helper's own `install`, as a user would do it. */
async function installedEnv(o: Partial<TestEnvOptions> = {}): Promise<TestEnv> {
  const t = await made(o);
  ok(await helper(t, ["install", "--global"]), "install");
  return t;
}

async function statusJson(t: TestEnv, extra: string[] = []): Promise<{ r: RunResult; s: StatusJson }> {
  const r = await helper(t, ["status", "--json", ...extra]);
  return { r, s: JSON.parse(r.stdout) as StatusJson };
}

async function getToken(t: TestEnv): Promise<string> {
  const r = ok(await credentialFill(t, { protocol: "https", host: servers.gitHost.host }), "git credential fill");
  const password = /^password=(.+)$/m.exec(r.stdout)?.[1];
  expect(password, r.stdout).toBeDefined();
  return password!;
}

function problemText(s: StatusJson): string {
  return s.problems.map((p) => `${p.what} (${p.fix})`).join("\n");
}

function expectNoSecrets(r: RunResult, ...secrets: string[]): void {
  for (const secret of secrets) {
    expect(r.stdout).not.toContain(secret);
    expect(r.stderr).not.toContain(secret);
  }
}

describe("status", () => {
  it("--json after a get: source, settings, cache and git wiring, with secrets redacted", async () => {
    const t = await installedEnv();
    const token = await getToken(t);
    const { r, s } = await statusJson(t);
    expect(r.code, r.stdout).toBe(0);
    expect(s.version).toBe(version);
    expect(s.source.kind).toBe("broker");
    expect(s.source.keyFrom).toBe("env VERS_API_KEY");
    expect(s.settings.hosts).toEqual([servers.gitHost.host]);
    expect(s.cache.mode).toBe("700");
    expect(s.cache.entries).toHaveLength(1);
    expect(s.cache.entries[0]!.state).toBe("fresh");
    expect(s.cache.entries[0]!.token).toBe(`…${token.slice(-4)}`);
    expect(s.git[0]!.wired).toBe(true);
    expect(s.problems).toEqual([]);
    expectNoSecrets(r, token, servers.apiKey);
  });

  it("not wired: exit 1 and a problem that says to run install", async () => {
    const t = await made();
    const { r, s } = await statusJson(t);
    expect(r.code).toBe(1);
    expect(s.git[0]!.wired).toBe(false);
    expect(problemText(s)).toMatch(/\binstall\b/);
  });

  it("a cache folder writable by others: exit 1, a problem naming the folder and chmod 700", async () => {
    const t = await installedEnv();
    await getToken(t);
    await chmod(t.cacheDir, 0o777);
    const { r, s } = await statusJson(t);
    expect(r.code).toBe(1);
    expect(s.cache.mode).toBe("777");
    expect(problemText(s)).toContain(t.cacheDir);
    expect(problemText(s)).toContain("chmod 700");
  });

  it("no key: exit 1, a problem naming VERS_API_KEY", async () => {
    const t = await installedEnv({ apiKey: undefined });
    const { r, s } = await statusJson(t);
    expect(r.code).toBe(1);
    expect(problemText(s)).toContain("VERS_API_KEY");
    const human = await helper(t, ["status"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("VERS_API_KEY");
  });

  it("a bad setting is one problem in the table, not the end of the report", async () => {
    const t = await installedEnv({ extraEnv: { VERS_TIMEOUT: "0", VERS_TOKEN_SOURCE: "vault" } });
    const { r, s } = await statusJson(t);
    expect(r.code).toBe(1);
    expect(problemText(s)).toContain('--timeout / VERS_TIMEOUT must be more than 0 seconds (got "0")');
    expect(problemText(s)).toContain('unknown token source "vault"');
    expect(s.cache.dir).toBe(t.cacheDir);
    expect(s.git.map((w) => w.host)).toEqual([servers.gitHost.host]);
    const human = await helper(t, ["status"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^cache\s/m);
    expect(human.stdout).toMatch(/^git\s+https:\/\//m);
    expect(human.stdout).toContain("must be more than 0 seconds");
    expect(human.stderr).toBe("");
  });

  it("--check mints once when the broker works, and reports its refusal when it does not", async () => {
    const t = await installedEnv();
    let mintsBefore = servers.broker.mints;
    ok(await helper(t, ["status"]), "status");
    expect(servers.broker.mints - mintsBefore, "plain status mints nothing").toBe(0);
    const checked = ok(await helper(t, ["status", "--check"]), "status --check");
    expect(servers.broker.mints - mintsBefore).toBe(1);
    expectNoSecrets(checked, servers.apiKey);

    servers.broker.setMode("401");
    mintsBefore = servers.broker.mints;
    const human = await helper(t, ["status", "--check"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("the broker rejected VERS_API_KEY (HTTP 401)");
    const { r, s } = await statusJson(t, ["--check"]);
    expect(r.code).toBe(1);
    expect(s.check?.ok).toBe(false);
    expect(s.check?.message).toContain("HTTP 401");
    expect(servers.broker.mints - mintsBefore).toBe(0);
    expectNoSecrets(r, servers.apiKey);
  });

  it("human status (not a TTY) has no ANSI escapes and the same facts", async () => {
    const t = await installedEnv();
    const token = await getToken(t);
    const r = ok(await helper(t, ["status"]), "status");
    expect(r.stdout).not.toMatch(/\x1b/); // eslint-disable-line no-control-regex
    const facts = [version, "broker", servers.broker.url, "env VERS_API_KEY", servers.gitHost.host, t.cacheDir, "700", `…${token.slice(-4)}`, `…${servers.apiKey.slice(-4)}`, "wired"];
    for (const fact of facts) expect(r.stdout, fact).toContain(fact);
    expect(r.stdout).not.toMatch(/not wired/);
    expectNoSecrets(r, token, servers.apiKey);
  });

  it.each([
    { origin: "~/.vers/keys.json", file: [".vers", "keys.json"], content: (key: string) => ({ keys: { VERS_API_KEY: key } }) },
    { origin: "~/.versrc", file: [".versrc"], content: (key: string) => ({ apiKey: key }) },
  ])("reports the key origin $origin when the key comes from that file", async ({ origin, file, content }) => {
    const t = await installedEnv({ apiKey: undefined });
    await mkdir(join(t.home, ".vers"), { recursive: true, mode: 0o700 });
    await writeFile(join(t.home, ...file), JSON.stringify(content(servers.apiKey)), { mode: 0o600 });
    const token = await getToken(t);
    expect(servers.broker.registry.lookup(token)).toBeDefined();
    const { r, s } = await statusJson(t);
    expect(r.code, r.stdout).toBe(0);
    expect(s.source.kind).toBe("broker");
    expect(s.source.keyFrom).toBe(origin);
    expectNoSecrets(r, token, servers.apiKey);
  });
});

describe("status tells the truth (issue 18)", () => {
  it("lists every host install wired, from the system, global and local config", async () => {
    const t = await made();
    const env: Record<string, string> = { ...t.env, GIT_CONFIG_SYSTEM: join(t.home, "system-gitconfig") };
    delete env.GIT_CONFIG_NOSYSTEM;
    delete env.VERS_GITHUB_HOST;
    const u: TestEnv = { ...t, env };
    const repo = join(t.home, "repo");
    ok(await git(u, ["init", "-q", repo]), "git init");
    ok(await helper(u, ["install", "--system", "--host", "system.example"]), "install --system");
    ok(await helper(u, ["install", "--global", "--host", "global.example"]), "install --global");
    ok(await run(HELPER_BIN, ["install", "--local", "--host", "local.example"], { env, cwd: repo }), "install --local");
    const r = await run(HELPER_BIN, ["status", "--json"], { env, cwd: repo });
    const s = JSON.parse(r.stdout) as StatusJson;
    expect(s.git.map((w) => w.host).sort()).toEqual(["global.example", "local.example", "system.example"]);
    expect(s.git.every((w) => w.wired)).toBe(true);
    expect(s.settings.hosts.sort()).toEqual(["global.example", "local.example", "system.example"]);
    expect(r.code, problemText(s)).toBe(0);
  });

  it("a wired helper that is missing or not executable: exit 1, the path named", async () => {
    const t = await made();
    const linked = join(t.home, "tools", "git-credential-vers");
    await mkdir(join(t.home, "tools"));
    await (CHUNKS_OBSERVABLE ? symlink(HELPER_BIN, linked) : copyFile(HELPER_BIN, linked));
    ok(await run(linked, ["install", "--global"], { env: t.env, cwd: t.home }), "install from the tools folder");
    ok(await helper(t, ["status"]), "status while the helper is there");

    await rm(linked);
    let { r, s } = await statusJson(t);
    expect(r.code).toBe(1);
    expect(s.git[0]!.command).toBe(linked);
    expect(problemText(s)).toContain(`${linked} is missing`);
    expect((await helper(t, ["status"])).stdout).toContain(`${linked} is missing`);

    await writeFile(linked, "#!/bin/sh\n", { mode: 0o644 });
    ({ r, s } = await statusJson(t));
    expect(r.code).toBe(1);
    expect(problemText(s)).toContain(`${linked} is not executable`);
  });

  it("--check caches the token it mints: the next git operation mints nothing", async () => {
    const t = await installedEnv();
    const mintsBefore = servers.broker.mints;
    ok(await helper(t, ["status", "--check"]), "status --check");
    await getToken(t);
    expect(servers.broker.mints - mintsBefore).toBe(1);
  });

  it("--check with a bad key: the advice is not 'run status', and --json keeps the fix in fix", async () => {
    const t = await installedEnv();
    servers.broker.setMode("401");
    const { r, s } = await statusJson(t, ["--check"]);
    expect(r.code).toBe(1);
    const problem = s.problems.find((p) => p.what.includes("HTTP 401"));
    expect(problem, problemText(s)).toBeDefined();
    expect(problem!.what).toBe("the broker rejected VERS_API_KEY (HTTP 401)");
    expect(problem!.fix).toContain("env VERS_API_KEY");
    expect(s.check?.message).toBe(problem!.what);
    const human = await helper(t, ["status", "--check"]);
    expect(human.code).toBe(1);
    for (const out of [r.stdout, human.stdout]) expect(out).not.toMatch(/git-credential-vers status/);
  });

  it("a key file others can write is not used (chmod 600); one others can read is a warning", async () => {
    const t = await installedEnv({ apiKey: undefined });
    const file = join(t.home, ".vers", "keys.json");
    await mkdir(join(t.home, ".vers"), { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify({ keys: { VERS_API_KEY: servers.apiKey } }), { mode: 0o600 });
    await chmod(file, 0o664);
    const mintsBefore = servers.broker.mints;
    const fill = await credentialFill(t, { protocol: "https", host: servers.gitHost.host });
    expect(fill.stdout).not.toMatch(/^password=/m);
    expect(fill.stderr).toContain(`chmod 600 ${file}`);
    expect(servers.broker.mints - mintsBefore).toBe(0);
    let { r, s } = await statusJson(t);
    expect(r.code).toBe(1);
    expect(problemText(s)).toContain(`chmod 600 ${file}`);

    await chmod(file, 0o644);
    ({ r, s } = await statusJson(t));
    expect(r.code, problemText(s)).toBe(0);
    expect(s.source.keyFrom).toBe("~/.vers/keys.json");
    expect(s.warnings.map((w) => `${w.what} (${w.fix})`).join("\n")).toContain(`chmod 600 ${file}`);
    expect((await helper(t, ["status"])).stdout).toMatch(/^warning .*readable by group or others/m);
    expectNoSecrets(r, servers.apiKey);
  });
});

describe("cache clear", () => {
  it("removes the entries: the next get mints again", async () => {
    const t = await installedEnv();
    const mintsBefore = servers.broker.mints;
    const first = await getToken(t);
    expect(await getToken(t)).toBe(first);
    expect(servers.broker.mints - mintsBefore).toBe(1);

    ok(await helper(t, ["cache", "clear"]), "cache clear");
    const { s } = await statusJson(t);
    expect(s.cache.entries).toEqual([]);

    const second = await getToken(t);
    expect(second).not.toBe(first);
    expect(servers.broker.mints - mintsBefore).toBe(2);
  });
});
