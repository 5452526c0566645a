/**
 * Issue 5: `install` / `uninstall` wire git the way `gh auth setup-git` does: an empty reset, then
 * this helper, per host; idempotent; uninstall removes exactly what install wrote.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { git, helper, HELPER_BIN, makeTestEnv, run, type RunResult, type TestEnv } from "./harness";
import { startFakeBroker, type BrokerRequest, type FakeBroker } from "../servers/fake-broker";
import { startGitHost, type GitHost } from "../servers/git-host";
import { TokenRegistry } from "../servers/token-registry";
import { CHUNKS_OBSERVABLE } from "./fixtures";

const apiKey = `vers_test_${randomBytes(16).toString("hex")}`;
let broker: FakeBroker;
let host: GitHost;
let urlA: string;
const envs: TestEnv[] = [];

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

/** A HOME with nothing wired (install does that) and `credential.helper = store`, as many users have. */
async function newEnv(extraEnv: Record<string, string> = {}): Promise<TestEnv> {
  const t = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [host.host], caFile: host.caFile, wireGit: false, extraEnv });
  envs.push(t);
  return t;
}

function ok(r: RunResult, what: string): RunResult {
  expect(r.code, `${what} failed:\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
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

async function requestsDuring(fn: () => Promise<unknown>): Promise<BrokerRequest[]> {
  const before = broker.requests.length;
  await fn();
  return broker.requests.slice(before);
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
    ok(await helper(t, ["install", "--global", "--host", host.host]), "install");

    const work = join(t.home, "a");
    const mintsBefore = broker.mints;
    ok(await git(t, ["clone", "-q", urlA, work]), "clone");
    await writeFile(join(work, "install.txt"), "installed\n");
    ok(await git(t, ["-C", work, "add", "install.txt"]), "add");
    ok(await git(t, ["-C", work, "commit", "-q", "-m", "install"]), "commit");
    ok(await git(t, ["-C", work, "push", "-q", "origin", "HEAD:main"]), "push");
    ok(await git(t, ["-C", work, "fetch", "-q", "origin"]), "fetch");
    expect(broker.mints - mintsBefore).toBe(1);

    const stored = await readOrEmpty(join(t.home, ".git-credentials"));
    expect(stored).not.toContain("x-access-token");
    for (const minted of broker.registry.all()) expect(stored).not.toContain(minted.token);
    expect(await valuesIn(t, globalFile(t), "credential.helper")).toEqual(["store"]);
  });

  it("is idempotent: a second run leaves the config byte-identical, with exactly the reset and the helper", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.helper", "store"]), "git config");
    ok(await helper(t, ["install", "--global", "--host", host.host]), "first install");
    const first = await readFile(globalFile(t), "utf8");
    ok(await helper(t, ["install", "--global", "--host", host.host]), "second install");
    const second = await readFile(globalFile(t), "utf8");
    expect(second).toBe(first);
    expect(await valuesIn(t, globalFile(t), `credential.https://${host.host}.helper`)).toEqual(["", HELPER_BIN]);
    expect(HELPER_BIN.startsWith("/")).toBe(true);
  });

  it("--per-repo --profile clone writes the profile and useHttpPath; uninstall with the same flags restores the file", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.helper", "store"]), "git config");
    const before = await readFile(globalFile(t), "utf8");
    const flags = ["--global", "--host", host.host, "--per-repo", "--profile", "clone"];

    ok(await helper(t, ["install", ...flags]), "install");
    const section = `credential.https://${host.host}`;
    expect(await valuesIn(t, globalFile(t), `${section}.helper`)).toEqual(["", `${HELPER_BIN} --profile clone`]);
    expect(await valuesIn(t, globalFile(t), `${section}.useHttpPath`)).toEqual(["true"]);

    // git runs what install wrote: one repository, profile clone.
    const requests = await requestsDuring(async () => ok(await git(t, ["clone", "-q", urlA, join(t.home, "a")]), "clone"));
    expect(requests.map((r) => r.json)).toEqual([{ repositories: ["a"], permissions: { contents: "read" } }]);

    ok(await helper(t, ["uninstall", ...flags]), "uninstall");
    const after = await readFile(globalFile(t), "utf8");
    expect(withoutEmptySections(after)).toBe(before);
    expect(await valuesIn(t, globalFile(t), "credential.helper")).toEqual(["store"]);
  });

  it("installing again with another --profile replaces our line instead of adding a second one", async () => {
    const t = await newEnv();
    const key = `credential.https://${host.host}.helper`;
    ok(await helper(t, ["install", "--global", "--host", host.host]), "install");
    ok(await helper(t, ["install", "--global", "--host", host.host, "--profile", "clone"]), "install --profile clone");
    expect(await valuesIn(t, globalFile(t), key)).toEqual(["", `${HELPER_BIN} --profile clone`]);
    ok(await helper(t, ["uninstall", "--global", "--host", host.host]), "uninstall");
    expect(await valuesIn(t, globalFile(t), key)).toEqual([]);
  });

  it("a helper whose path has a space is written as a shell snippet that git can run", async () => {
    const t = await newEnv();
    const dir = join(t.home, "tools with space");
    await mkdir(dir);
    const linked = join(dir, "git-credential-vers");
    // bin/ finds dist/ through its real path, so link it; the single binary knows its own path, so copy it.
    await (CHUNKS_OBSERVABLE ? symlink(HELPER_BIN, linked) : copyFile(HELPER_BIN, linked));
    ok(await run(linked, ["install", "--global", "--host", host.host], { env: t.env, cwd: t.home }), "install");
    expect(await valuesIn(t, globalFile(t), `credential.https://${host.host}.helper`)).toEqual(["", `!'${linked}'`]);
    ok(await git(t, ["clone", "-q", urlA, join(t.home, "a")]), "clone through the quoted helper");
    ok(await run(linked, ["install", "--global", "--host", host.host], { env: t.env, cwd: t.home }), "install again");
    expect(await valuesIn(t, globalFile(t), `credential.https://${host.host}.helper`)).toEqual(["", `!'${linked}'`]);
  });

  it("--system writes to GIT_CONFIG_SYSTEM, not the global file, and git uses it", async () => {
    const t = await newEnv();
    const systemFile = join(t.home, "system-gitconfig");
    const withSystem: TestEnv = { ...t, env: { ...t.env, GIT_CONFIG_SYSTEM: systemFile } };
    ok(await helper(withSystem, ["install", "--system", "--host", host.host]), "install --system");
    expect(await valuesIn(t, systemFile, `credential.https://${host.host}.helper`)).toEqual(["", HELPER_BIN]);
    expect(await readOrEmpty(globalFile(t))).not.toContain("credential");

    // A golden image reads the system file: let git read it (it is our temporary file).
    const readsSystem: TestEnv = { ...withSystem, env: { ...withSystem.env } };
    delete readsSystem.env.GIT_CONFIG_NOSYSTEM;
    const mintsBefore = broker.mints;
    ok(await git(readsSystem, ["clone", "-q", urlA, join(t.home, "a")]), "clone");
    expect(broker.mints - mintsBefore).toBe(1);
  });

  it("without --host uses VERS_GITHUB_HOST, else github.com", async () => {
    const t = await newEnv({ VERS_GITHUB_HOST: `${host.host},ghe.example.com` });
    ok(await helper(t, ["install", "--global"]), "install");
    expect(await valuesIn(t, globalFile(t), `credential.https://${host.host}.helper`)).toEqual(["", HELPER_BIN]);
    expect(await valuesIn(t, globalFile(t), "credential.https://ghe.example.com.helper")).toEqual(["", HELPER_BIN]);
    expect(await valuesIn(t, globalFile(t), "credential.https://github.com.helper")).toEqual([]);

    const u = await newEnv();
    const noHost: TestEnv = { ...u, env: { ...u.env } };
    delete noHost.env.VERS_GITHUB_HOST;
    ok(await helper(noHost, ["install", "--global"]), "install (default host)");
    expect(await valuesIn(u, globalFile(u), "credential.https://github.com.helper")).toEqual(["", HELPER_BIN]);
    expect(await valuesIn(u, globalFile(u), `credential.https://${host.host}.helper`)).toEqual([]);
  });
});
