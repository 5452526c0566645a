/**
 * The single executable (`npm run build:binary` → dist/git-credential-vers), as a golden image
 * would install it: git drives it directly, with no node on the helper's command line.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { credentialFill, git, makeTestEnv, run, type RunResult, type TestEnv } from "./harness";
import { startFakeBroker, type FakeBroker } from "../servers/fake-broker";
import { startGitHost, type GitHost } from "../servers/git-host";
import { TokenRegistry } from "../servers/token-registry";

const BINARY = fileURLToPath(new URL("../../dist/git-credential-vers", import.meta.url));
const built = existsSync(BINARY);
const SKIP_REASON = built ? "" : " [skipped: dist/git-credential-vers is not built; run `npm run build:binary`]";

const apiKey = `vers_test_${randomBytes(16).toString("hex")}`;
let broker: FakeBroker;
let host: GitHost;
let urlA: string;
const envs: TestEnv[] = [];

function ok(r: RunResult, what: string): RunResult {
  expect(r.code, `${what} failed:\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

function binary(t: TestEnv, args: string[], input?: string): Promise<RunResult> {
  return run(BINARY, args, { env: t.env, cwd: t.home, input });
}

async function newEnv(): Promise<TestEnv> {
  const t = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [host.host], caFile: host.caFile, wireGit: false });
  envs.push(t);
  return t;
}

describe.skipIf(!built)(`single executable${SKIP_REASON}`, () => {
  beforeAll(async () => {
    const registry = new TokenRegistry();
    broker = await startFakeBroker({ apiKey, registry });
    host = await startGitHost({ registry });
    urlA = await host.createRepo("acme", "a");
  });

  afterAll(async () => {
    await host?.close();
    await broker?.close();
  });

  afterEach(async () => {
    await Promise.all(envs.splice(0).map((t) => t.cleanup()));
  });

  it("--version prints the package version", async () => {
    const t = await newEnv();
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const r = ok(await binary(t, ["--version"]), "--version");
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it("answers git credential fill, and clone works with one mint", async () => {
    const t = await newEnv();
    const key = `credential.https://${host.host}.helper`;
    ok(await git(t, ["config", "--global", "--add", key, ""]), "git config reset");
    ok(await git(t, ["config", "--global", "--add", key, BINARY]), "git config helper");

    const mintsBefore = broker.mints;
    const fill = ok(await credentialFill(t, { protocol: "https", host: host.host }), "git credential fill");
    expect(fill.stdout).toMatch(/^username=x-access-token$/m);
    const password = /^password=(\S+)$/m.exec(fill.stdout)?.[1];
    expect(password).toBeDefined();
    expect(broker.registry.lookup(password!)).toBeDefined();

    ok(await git(t, ["clone", "-q", urlA, join(t.home, "a")]), "clone");
    expect(broker.mints - mintsBefore).toBe(1);
  });

  it("install --global writes the executable's own path, and status sees git wired to it", async () => {
    const t = await newEnv();
    ok(await binary(t, ["install", "--global"]), "install");
    const values = ok(await git(t, ["config", "--global", "-z", "--get-all", `credential.https://${host.host}.helper`]), "git config");
    expect(values.stdout.split("\0").slice(0, -1)).toEqual(["", BINARY]);

    const mintsBefore = broker.mints;
    ok(await git(t, ["clone", "-q", urlA, join(t.home, "a")]), "clone");
    expect(broker.mints - mintsBefore).toBe(1);

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
    ok(await run("sh", [script, "--host", host.host], { env, cwd: t.home }), "install-golden.sh");
    const installed = join(prefix, "bin", "git-credential-vers");
    expect(existsSync(installed)).toBe(true);
    const values = ok(await run("git", ["config", "--file", systemConfig, "-z", "--get-all", `credential.https://${host.host}.helper`], { env }), "git config");
    expect(values.stdout.split("\0").slice(0, -1)).toEqual(["", installed]);

    // A machine built from the image reads the system config (the harness's NOSYSTEM is for the rest of the tests).
    const image = { ...env, GIT_CONFIG_NOSYSTEM: "0" };
    const mintsBefore = broker.mints;
    ok(await run("git", ["clone", "-q", urlA, join(t.home, "a")], { env: image, cwd: t.home }), "clone");
    expect(broker.mints - mintsBefore).toBe(1);
  });
});
