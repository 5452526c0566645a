/**
 * Issue 5: `install` / `uninstall` wire git the way `gh auth setup-git` does: an empty reset, then
 * this helper, per host; idempotent; uninstall removes exactly what install wrote.
 */
import { copyFile, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git, helper, HELPER_BIN, run, type TestEnv } from "./harness";
import { CHUNKS_OBSERVABLE, expectInstalled, ok, requestsDuring, tempEnvs, useServers } from "./fixtures";

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
    expectInstalled(await valuesIn(t, globalFile(t), `${section}.helper`), [HELPER_BIN, "--host", servers.gitHost.host, "--profile", "clone"]);
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
    expectInstalled(await valuesIn(t, globalFile(t), `credential.https://${servers.gitHost.host}.helper`), [HELPER_BIN, "--host", servers.gitHost.host]);
    expectInstalled(await valuesIn(t, globalFile(t), "credential.https://ghe.example.com.helper"), [HELPER_BIN, "--host", "ghe.example.com"]);
    expect(await valuesIn(t, globalFile(t), "credential.https://github.com.helper")).toEqual([]);

    const u = await newEnv();
    const noHost: TestEnv = { ...u, env: { ...u.env } };
    delete noHost.env.VERS_GITHUB_HOST;
    ok(await helper(noHost, ["install", "--global"]), "install (default host)");
    expectInstalled(await valuesIn(u, globalFile(u), "credential.https://github.com.helper"), [HELPER_BIN, "--host", "github.com"]);
    expect(await valuesIn(u, globalFile(u), `credential.https://${servers.gitHost.host}.helper`)).toEqual([]);
  });
});
