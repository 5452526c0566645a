/**
 * The single executable (`npm run build:binary` → dist/git-credential-vers), as a golden image
 * would install it: git drives it directly, with no node on the helper's command line.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { credentialFill, git, run, type RunResult, type TestEnv } from "./harness";
import { expectInstalled, ok, tempEnvs, useServers } from "./fixtures";

const BINARY = fileURLToPath(new URL("../../dist/git-credential-vers", import.meta.url));
const built = existsSync(BINARY);
const SKIP_REASON = built ? "" : " [skipped: dist/git-credential-vers is not built; run `npm run build:binary`]";

function binary(t: TestEnv, args: string[], input?: string): Promise<RunResult> {
  return run(BINARY, args, { env: t.env, cwd: t.home, input });
}

describe.skipIf(!built)(`single executable${SKIP_REASON}`, () => {
  const servers = useServers({ repos: ["acme/a"] });
  const newEnv = tempEnvs(() => ({ brokerUrl: servers.broker.url, apiKey: servers.apiKey, hosts: [servers.gitHost.host], caFile: servers.gitHost.caFile, wireGit: false }));

  it("--version prints the package version", async () => {
    const t = await newEnv();
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const r = ok(await binary(t, ["--version"]), "--version");
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it("answers git credential fill, and clone works with one mint", async () => {
    const t = await newEnv();
    const key = `credential.https://${servers.gitHost.host}.helper`;
    ok(await git(t, ["config", "--global", "--add", key, ""]), "git config reset");
    ok(await git(t, ["config", "--global", "--add", key, BINARY]), "git config helper");

    const mintsBefore = servers.broker.mints;
    const fill = ok(await credentialFill(t, { protocol: "https", host: servers.gitHost.host }), "git credential fill");
    expect(fill.stdout).toMatch(/^username=x-access-token$/m);
    const password = /^password=(\S+)$/m.exec(fill.stdout)?.[1];
    expect(password).toBeDefined();
    expect(servers.broker.registry.lookup(password!)).toBeDefined();

    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone");
    expect(servers.broker.mints - mintsBefore).toBe(1);
  });

  it("install --global writes the executable's own path, and status sees git wired to it", async () => {
    const t = await newEnv();
    ok(await binary(t, ["install", "--global"]), "install");
    const values = ok(await git(t, ["config", "--global", "-z", "--get-all", `credential.https://${servers.gitHost.host}.helper`]), "git config");
    expectInstalled(values.stdout.split("\0").slice(0, -1), [BINARY, "--host", servers.gitHost.host]);

    const mintsBefore = servers.broker.mints;
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone");
    expect(servers.broker.mints - mintsBefore).toBe(1);

    const status = ok(await binary(t, ["status", "--json"]), "status --json");
    const s = JSON.parse(status.stdout) as { git: Array<{ wired: boolean }>; cache: { entries: unknown[] } };
    expect(s.git[0]!.wired).toBe(true);
    expect(s.cache.entries).toHaveLength(1);
  });

  it("scripts/install-golden.sh copies it into PREFIX/bin and wires the system config; git then clones through it", async () => {
    const t = await newEnv();
    const prefix = join(t.home, "usr-local");
    const systemConfig = join(t.home, "etc-gitconfig");
    await mkdir(join(prefix, "bin"), { recursive: true });
    const env = { ...t.env, PREFIX: prefix, GIT_CONFIG_SYSTEM: systemConfig };
    const script = fileURLToPath(new URL("../../scripts/install-golden.sh", import.meta.url));
    ok(await run("sh", [script, "--host", servers.gitHost.host], { env, cwd: t.home }), "install-golden.sh");
    const installed = join(prefix, "bin", "git-credential-vers");
    expect(existsSync(installed)).toBe(true);
    const values = ok(await run("git", ["config", "--file", systemConfig, "-z", "--get-all", `credential.https://${servers.gitHost.host}.helper`], { env }), "git config");
    expectInstalled(values.stdout.split("\0").slice(0, -1), [installed, "--host", servers.gitHost.host]);

    // A machine built from the image reads the system config (the harness's NOSYSTEM is for the rest of the tests).
    const image = { ...env, GIT_CONFIG_NOSYSTEM: "0" };
    const mintsBefore = servers.broker.mints;
    ok(await run("git", ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")], { env: image, cwd: t.home }), "clone");
    expect(servers.broker.mints - mintsBefore).toBe(1);
  });
});
