/**
 * Issue 5: `install` / `uninstall` wire git the way `gh auth setup-git` does: an empty reset, then
 * this helper, per host; idempotent; uninstall removes exactly what install wrote.
 */
import { copyFile, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { credentialFill, git, helper, HELPER_BIN, run, type TestEnv } from "./harness";
import { CHUNKS_OBSERVABLE, expectInstalled, lines, ok, requestsDuring, tempEnvs, useServers } from "./fixtures";
import { flagValues, ourHelperWords } from "../../src/helper-lines";

const servers = useServers({ repos: ["acme/a"] });

const made = tempEnvs(() => ({ brokerUrl: servers.broker.url, apiKey: servers.apiKey, hosts: [servers.gitHost.host], caFile: servers.gitHost.caFile, wireGit: false }));

/** A HOME with nothing wired (install does that) and `credential.helper = store`, as many users have. */
function newEnv(extraEnv: Record<string, string> = {}): Promise<TestEnv> {
  return made({ extraEnv });
}

function globalFile(t: TestEnv): string {
  return join(t.home, ".gitconfig");
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
}

/** Every value of a key in one config file, empty values included. */
async function valuesIn(t: TestEnv, file: string, key: string): Promise<string[]> {
  const r = await git(t, ["config", "--file", file, "-z", "--get-all", key]);
  if (r.code === 1) return [];
  ok(r, `git config --get-all ${key}`);
  return r.stdout.split("\0").slice(0, -1);
}

/** Drops section headers that hold no keys (a header followed by another header or the end). */
function withoutEmptySections(config: string): string {
  const lines = config.split("\n");
  const header = (l: string | undefined) => l !== undefined && /^\s*\[[^\]]+\]\s*$/.test(l);
  const endsSection = (l: string | undefined) => l === undefined || header(l) || (l.trim() === "" && lines.at(-1) === l);
  return lines.filter((l, i) => !(header(l) && endsSection(lines[i + 1]))).join("\n");
}

describe("install", () => {
  it("shadows a generic credential.helper=store: clone, push and fetch work and no token is stored", async () => {
    const t = await newEnv();
    for (const [k, v] of [["user.name", "Vers Test"], ["user.email", "vers-test@example.invalid"], ["credential.helper", "store"]] as const) {
      ok(await git(t, ["config", "--global", k, v]), `git config ${k}`);
    }
    ok(await helper(t, ["install", "--global", "--host", servers.gitHost.host]), "install");

    const work = join(t.home, "a");
    const mintsBefore = servers.broker.mints;
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), work]), "clone");
    await writeFile(join(work, "install.txt"), "installed\n");
    ok(await git(t, ["-C", work, "add", "install.txt"]), "add");
    ok(await git(t, ["-C", work, "commit", "-q", "-m", "install"]), "commit");
    ok(await git(t, ["-C", work, "push", "-q", "origin", "HEAD:main"]), "push");
    ok(await git(t, ["-C", work, "fetch", "-q", "origin"]), "fetch");
    expect(servers.broker.mints - mintsBefore).toBe(1);

    const stored = await readOrEmpty(join(t.home, ".git-credentials"));
    expect(stored).not.toContain("x-access-token");
    for (const minted of servers.broker.registry.all()) expect(stored).not.toContain(minted.token);
    expect(await valuesIn(t, globalFile(t), "credential.helper")).toEqual(["store"]);
  });

  it("is idempotent: a second run leaves the config byte-identical, with exactly the reset and the helper", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.helper", "store"]), "git config");
    ok(await helper(t, ["install", "--global", "--host", servers.gitHost.host]), "first install");
    const first = await readFile(globalFile(t), "utf8");
    ok(await helper(t, ["install", "--global", "--host", servers.gitHost.host]), "second install");
    const second = await readFile(globalFile(t), "utf8");
    expect(second).toBe(first);
    expectInstalled(await valuesIn(t, globalFile(t), `credential.https://${servers.gitHost.host}.helper`), [HELPER_BIN, "--host", servers.gitHost.host]);
    expect(HELPER_BIN.startsWith("/")).toBe(true);
  });

  it("--per-repo --profile clone writes the profile and useHttpPath; uninstall with the same flags restores the file", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.helper", "store"]), "git config");
    const before = await readFile(globalFile(t), "utf8");
    const flags = ["--global", "--host", servers.gitHost.host, "--per-repo", "--profile", "clone"];

    ok(await helper(t, ["install", ...flags]), "install");
    const section = `credential.https://${servers.gitHost.host}`;
    // --per-repo on the line records that install set useHttpPath, so uninstall knows it is its to remove.
    expectInstalled(await valuesIn(t, globalFile(t), `${section}.helper`), [HELPER_BIN, "--host", servers.gitHost.host, "--profile", "clone", "--per-repo"]);
    expect(await valuesIn(t, globalFile(t), `${section}.useHttpPath`)).toEqual(["true"]);

    // git runs what install wrote: one repository, profile clone.
    const requests = await requestsDuring(servers.broker, async () => ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone"));
    expect(requests.map((r) => r.json)).toEqual([{ repositories: ["a"], permissions: { contents: "read" } }]);

    ok(await helper(t, ["uninstall", ...flags]), "uninstall");
    const after = await readFile(globalFile(t), "utf8");
    expect(withoutEmptySections(after)).toBe(before);
    expect(await valuesIn(t, globalFile(t), "credential.helper")).toEqual(["store"]);
  });

  it("installing again with another --profile replaces our line instead of adding a second one", async () => {
    const t = await newEnv();
    const key = `credential.https://${servers.gitHost.host}.helper`;
    ok(await helper(t, ["install", "--global", "--host", servers.gitHost.host]), "install");
    ok(await helper(t, ["install", "--global", "--host", servers.gitHost.host, "--profile", "clone"]), "install --profile clone");
    expectInstalled(await valuesIn(t, globalFile(t), key), [HELPER_BIN, "--host", servers.gitHost.host, "--profile", "clone"]);
    ok(await helper(t, ["uninstall", "--global", "--host", servers.gitHost.host]), "uninstall");
    expect(await valuesIn(t, globalFile(t), key)).toEqual([]);
  });

  it("a helper whose path has a space is written as a shell snippet that git can run", async () => {
    const t = await newEnv();
    const dir = join(t.home, "tools with space");
    await mkdir(dir);
    const linked = join(dir, "git-credential-vers");
    // bin/ finds dist/ through its real path, so link it; the single binary knows its own path, so copy it.
    await (CHUNKS_OBSERVABLE ? symlink(HELPER_BIN, linked) : copyFile(HELPER_BIN, linked));
    ok(await run(linked, ["install", "--global", "--host", servers.gitHost.host], { env: t.env, cwd: t.home }), "install");
    expectInstalled(await valuesIn(t, globalFile(t), `credential.https://${servers.gitHost.host}.helper`), [linked, "--host", servers.gitHost.host]);
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone through the quoted helper");
    ok(await run(linked, ["install", "--global", "--host", servers.gitHost.host], { env: t.env, cwd: t.home }), "install again");
    expectInstalled(await valuesIn(t, globalFile(t), `credential.https://${servers.gitHost.host}.helper`), [linked, "--host", servers.gitHost.host]);
  });

  it("--system writes to GIT_CONFIG_SYSTEM, not the global file, and git uses it", async () => {
    const t = await newEnv();
    const systemFile = join(t.home, "system-gitconfig");
    const withSystem: TestEnv = { ...t, env: { ...t.env, GIT_CONFIG_SYSTEM: systemFile } };
    ok(await helper(withSystem, ["install", "--system", "--host", servers.gitHost.host]), "install --system");
    expectInstalled(await valuesIn(t, systemFile, `credential.https://${servers.gitHost.host}.helper`), [HELPER_BIN, "--host", servers.gitHost.host]);
    expect(await readOrEmpty(globalFile(t))).not.toContain("credential");

    // A golden image reads the system file: let git read it (it is our temporary file).
    const readsSystem: TestEnv = { ...withSystem, env: { ...withSystem.env } };
    delete readsSystem.env.GIT_CONFIG_NOSYSTEM;
    const mintsBefore = servers.broker.mints;
    ok(await git(readsSystem, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone");
    expect(servers.broker.mints - mintsBefore).toBe(1);
  });

  it("without --host uses VERS_GITHUB_HOST, else github.com", async () => {
    const t = await newEnv({ VERS_GITHUB_HOST: `${servers.gitHost.host},ghe.example.com` });
    ok(await helper(t, ["install", "--global"]), "install");
    const both = [HELPER_BIN, "--host", servers.gitHost.host, "--host", "ghe.example.com"];
    expectInstalled(await valuesIn(t, globalFile(t), `credential.https://${servers.gitHost.host}.helper`), both);
    expectInstalled(await valuesIn(t, globalFile(t), "credential.https://ghe.example.com.helper"), both);
    expect(await valuesIn(t, globalFile(t), "credential.https://github.com.helper")).toEqual([]);

    const u = await newEnv();
    const noHost: TestEnv = { ...u, env: { ...u.env } };
    delete noHost.env.VERS_GITHUB_HOST;
    ok(await helper(noHost, ["install", "--global"]), "install (default host)");
    expectInstalled(await valuesIn(u, globalFile(u), "credential.https://github.com.helper"), [HELPER_BIN, "--host", "github.com"]);
    expect(await valuesIn(u, globalFile(u), `credential.https://${servers.gitHost.host}.helper`)).toEqual([]);
  });
});

/** The words (path and flags) of the helper our line runs for a host, read back from a config file. */
async function ourWords(t: TestEnv, file: string, host: string): Promise<string[]> {
  const values = await valuesIn(t, file, `credential.https://${host}.helper`);
  const words = values.map((v) => ourHelperWords(v, HELPER_BIN)).filter((w) => w !== undefined);
  expect(words, values.join("\n")).toHaveLength(1);
  return words[0]!;
}

/** A refusal of the command line: exit 2, nothing on stdout, one line on stderr. */
function expectRefused(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  expect(lines(r.stderr), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe("install: every setting flag is written onto the line, or refused (issue 18)", () => {
  it("--base-url, --timeout and --strict go onto the line, and git runs the helper with them", async () => {
    // The environment's broker URL points at a closed port: only the flag on the line reaches the broker.
    const t = await newEnv({ VERS_BASE_URL: "http://127.0.0.1:9" });
    const host = servers.gitHost.host;
    ok(await helper(t, ["install", "--global", "--host", host, "--base-url", servers.broker.url, "--timeout", "20", "--strict"]), "install");
    const words = await ourWords(t, globalFile(t), host);
    expect(words.join(" ")).toContain(`--base-url ${servers.broker.url}`);
    expect(words.join(" ")).toContain("--timeout 20");
    expect(words).toContain("--strict");

    const mintsBefore = servers.broker.mints;
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone through the installed --base-url");
    expect(servers.broker.mints - mintsBefore).toBe(1);

    // Installing again with other settings replaces the line; the same ones again change nothing.
    const again = ok(await helper(t, ["install", "--global", "--host", host, "--base-url", servers.broker.url]), "install without --timeout");
    expect(again.stdout).not.toContain("already installed");
    expect((await ourWords(t, globalFile(t), host)).join(" ")).not.toContain("--timeout");
    expect(ok(await helper(t, ["install", "--global", "--host", host, "--base-url", servers.broker.url]), "install again").stdout).toContain("already installed");
  });

  it("two hosts installed together: each line names both, so the broker's token for the first never answers the second (issue 15 item 6)", async () => {
    const t = await newEnv();
    const host = servers.gitHost.host;
    const other = "ghe.example.com";
    ok(await helper(t, ["install", "--global", "--no-fast-path", "--host", host, "--host", other]), "install two hosts");
    for (const h of [host, other]) expect(flagValues(await ourWords(t, globalFile(t), h), "--host")).toEqual([host, other]);

    const mintsBefore = servers.broker.mints;
    const r = await credentialFill(t, { protocol: "https", host: other });
    expect(r.stdout).not.toContain("password=");
    expect(r.stderr).toContain(`the broker mints tokens for ${host}, not ${other}`);
    expect(servers.broker.mints).toBe(mintsBefore);
    // The first host is served as before.
    expect(ok(await credentialFill(t, { protocol: "https", host }), "fill for the broker's host").stdout).toContain("password=");
  });

  it("refuses two config scopes, a bad value, and a Redis password (naming VERS_REDIS_URL), writing nothing", async () => {
    const t = await newEnv();
    const systemFile = join(t.home, "system-gitconfig");
    const withSystem: TestEnv = { ...t, env: { ...t.env, GIT_CONFIG_SYSTEM: systemFile } };
    expectRefused(await helper(withSystem, ["install", "--global", "--system"]), /--global and --system/);
    expectRefused(await helper(withSystem, ["uninstall", "--system", "--local"]), /--system and --local/);
    expectRefused(await helper(t, ["install", "--timeout", "0"]), /--timeout/);
    expectRefused(await helper(t, ["install", "--source", "vault"]), /unknown token source "vault"/);
    const password = "s3cret-redis-password";
    const r = await helper(t, ["install", "--redis-url", `redis://:${password}@127.0.0.1:6379/0`]);
    expectRefused(r, /VERS_REDIS_URL/);
    expect(r.stderr).not.toContain(password);
    expect(await readOrEmpty(globalFile(t))).toBe("");
    expect(await readOrEmpty(systemFile)).toBe("");
  });
});

describe("uninstall removes exactly what install wrote (issue 18)", () => {
  const host = () => servers.gitHost.host;

  it("keeps the user's own empty reset (else credential.helper=store would save our tokens)", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.helper", "store"]), "git config store");
    ok(await git(t, ["config", "--global", `credential.https://${host()}.helper`, ""]), "the user's own reset");
    const before = await readFile(globalFile(t), "utf8");
    ok(await helper(t, ["install", "--global", "--host", host()]), "install");
    ok(await helper(t, ["install", "--global", "--host", host()]), "install again");
    ok(await helper(t, ["uninstall", "--global", "--host", host()]), "uninstall");
    expect(await valuesIn(t, globalFile(t), `credential.https://${host()}.helper`)).toEqual([""]);
    expect(await readFile(globalFile(t), "utf8")).toBe(before);
  });

  it("keeps a useHttpPath the user set before install --per-repo, with or without uninstall --per-repo", async () => {
    for (const uninstallFlags of [[], ["--per-repo"]]) {
      const t = await newEnv();
      ok(await git(t, ["config", "--global", `credential.https://${host()}.useHttpPath`, "true"]), "the user's useHttpPath");
      const before = await readFile(globalFile(t), "utf8");
      ok(await helper(t, ["install", "--global", "--host", host(), "--per-repo"]), "install --per-repo");
      ok(await helper(t, ["uninstall", "--global", "--host", host(), ...uninstallFlags]), "uninstall");
      expect(await readFile(globalFile(t), "utf8"), uninstallFlags.join(" ")).toBe(before);
    }
  });

  it("after install --per-repo, a plain uninstall (no --host) removes the useHttpPath install set", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.helper", "store"]), "git config store");
    const before = await readFile(globalFile(t), "utf8");
    ok(await helper(t, ["install", "--global", "--host", host(), "--per-repo"]), "install --per-repo");
    expect(await valuesIn(t, globalFile(t), `credential.https://${host()}.useHttpPath`)).toEqual(["true"]);
    ok(await helper(t, ["install", "--global", "--host", host(), "--per-repo"]), "install --per-repo again");
    const noHost: TestEnv = { ...t, env: { ...t.env } };
    delete noHost.env.VERS_GITHUB_HOST;
    const r = ok(await helper(noHost, ["uninstall"]), "uninstall");
    expect(r.stdout).toContain(`${host()}: removed`);
    expect(await valuesIn(t, globalFile(t), `credential.https://${host()}.useHttpPath`)).toEqual([]);
    expect(withoutEmptySections(await readFile(globalFile(t), "utf8"))).toBe(before);
  });

  it("install without --per-repo after install --per-repo takes back the useHttpPath it set", async () => {
    const t = await newEnv();
    ok(await helper(t, ["install", "--global", "--host", host(), "--per-repo"]), "install --per-repo");
    ok(await helper(t, ["install", "--global", "--host", host()]), "install");
    expect(await valuesIn(t, globalFile(t), `credential.https://${host()}.useHttpPath`)).toEqual([]);
  });
});
