/**
 * Issue 3: per-repository scope (credential.useHttpPath) and permission profiles, end to end with
 * real git, the fake broker and the TLS git host (which enforces repository scope and write access).
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { git, helper, makeTestEnv, type RunResult, type TestEnv, type TestEnvOptions } from "./harness";
import { startFakeBroker, type BrokerRequest, type FakeBroker } from "../servers/fake-broker";
import { startGitHost, type GitHost } from "../servers/git-host";
import { TokenRegistry } from "../servers/token-registry";
import { SPEC_PROFILES } from "../spec-profiles";

const apiKey = `vers_test_${randomBytes(16).toString("hex")}`;
let broker: FakeBroker;
let host: GitHost;
let urlA: string;
let urlB: string;
const envs: TestEnv[] = [];

beforeAll(async () => {
  const registry = new TokenRegistry();
  broker = await startFakeBroker({ apiKey, registry });
  host = await startGitHost({ registry });
  urlA = await host.createRepo("acme", "a");
  urlB = await host.createRepo("acme", "b");
});

afterAll(async () => {
  await host?.close();
  await broker?.close();
});

afterEach(async () => {
  broker.setMode("ok");
  await Promise.all(envs.splice(0).map((t) => t.cleanup()));
});

async function newEnv(extra: Partial<TestEnvOptions> = {}): Promise<TestEnv> {
  const t = await makeTestEnv({ brokerUrl: broker.url, apiKey, hosts: [host.host], caFile: host.caFile, ...extra });
  envs.push(t);
  return t;
}

function ok(r: RunResult, what: string): void {
  expect(r.code, `${what} failed:\n${r.stderr}`).toBe(0);
}

/** The broker requests `fn` caused. */
async function requestsDuring(fn: () => Promise<unknown>): Promise<BrokerRequest[]> {
  const before = broker.requests.length;
  await fn();
  return broker.requests.slice(before);
}

function oneLine(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

async function commitFile(t: TestEnv, work: string, name: string): Promise<void> {
  await writeFile(join(work, name), `${name} ${Date.now()}\n`);
  ok(await git(t, ["-C", work, "add", name]), "git add");
  ok(await git(t, ["-C", work, "commit", "-q", "-m", `add ${name}`]), "git commit");
}

describe("repository scope (credential.useHttpPath)", () => {
  it("mints one token per repository, with bare names in the body, and caches each", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.useHttpPath", "true"]), "git config");
    const mintsBefore = broker.mints;
    const workA = join(t.home, "a");
    const workB = join(t.home, "b");
    const requests = await requestsDuring(async () => {
      ok(await git(t, ["clone", "-q", urlA, workA]), "clone a");
      ok(await git(t, ["clone", "-q", urlB, workB]), "clone b");
    });
    expect(broker.mints - mintsBefore).toBe(2);
    expect(requests.map((r) => r.json)).toEqual([{ repositories: ["a"] }, { repositories: ["b"] }]);

    ok(await git(t, ["-C", workA, "fetch", "-q", "origin"]), "fetch a");
    ok(await git(t, ["-C", workB, "fetch", "-q", "origin"]), "fetch b");
    expect(broker.mints - mintsBefore).toBe(2);
  });

  it("without useHttpPath, both repositories share one org-wide token requested with no body", async () => {
    const t = await newEnv();
    const mintsBefore = broker.mints;
    const requests = await requestsDuring(async () => {
      ok(await git(t, ["clone", "-q", urlA, join(t.home, "a")]), "clone a");
      ok(await git(t, ["clone", "-q", urlB, join(t.home, "b")]), "clone b");
    });
    expect(broker.mints - mintsBefore).toBe(1);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body).toBe("");
  });

  it("a token scoped to acme/a is refused by the git host on acme/b", async () => {
    const t = await newEnv();
    ok(await git(t, ["config", "--global", "credential.useHttpPath", "true"]), "git config");
    ok(await git(t, ["clone", "-q", urlA, join(t.home, "a")]), "clone a");
    const tokenA = (await helper(t, ["token", "--repo", "acme/a"])).stdout.trim();
    expect(broker.registry.lookup(tokenA)?.repositories).toEqual(["a"]);

    // The token for a, presented by hand on b: the host must refuse it for scope.
    const refusedBefore = host.refused;
    const withToken = (url: string) => url.replace("https://", `https://x-access-token:${tokenA}@`);
    const onB = await git(t, ["-c", "credential.helper=", "ls-remote", withToken(urlB)]);
    expect(onB.code).not.toBe(0);
    expect(host.refused).toBeGreaterThan(refusedBefore);
    const refusal = host.requests.findLast((r) => r.token === tokenA && r.path.startsWith("/acme/b.git"));
    expect(refusal?.status).toBe(403);
    expect(refusal?.reason).toMatch(/not in the token's scope/);

    // The same token is good on a, and the helper gets b its own token.
    ok(await git(t, ["-c", "credential.helper=", "ls-remote", withToken(urlA)]), "ls-remote a with a's token");
    ok(await git(t, ["ls-remote", urlB]), "ls-remote b through the helper");
  });
});

describe("permission profiles", () => {
  it("profile clone: clone works, push is refused (contents: read), the request asked for contents: read", async () => {
    const t = await newEnv({ helperArgs: ["--profile", "clone"] });
    const work = join(t.home, "a");
    const requests = await requestsDuring(async () => {
      ok(await git(t, ["clone", "-q", urlA, work]), "clone");
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.json).toEqual({ permissions: { contents: "read" } });

    await commitFile(t, work, "clone-profile.txt");
    const refusedBefore = host.refused;
    const push = await git(t, ["-C", work, "push", "-q", "origin", "HEAD:main"]);
    expect(push.code).not.toBe(0);
    expect(host.refused).toBeGreaterThan(refusedBefore);
    expect(host.requests.at(-1)?.reason).toBe("push needs contents: write");
  });

  it("profile develop: push works", async () => {
    const t = await newEnv({ helperArgs: ["--profile", "develop"] });
    const work = join(t.home, "a");
    const requests = await requestsDuring(async () => {
      ok(await git(t, ["clone", "-q", urlA, work]), "clone");
      await commitFile(t, work, "develop-profile.txt");
      ok(await git(t, ["-C", work, "push", "-q", "origin", "HEAD:main"]), "push");
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.json).toEqual({ permissions: SPEC_PROFILES.develop });
  });

  it("each profile asks for exactly the SPEC permissions, never administration: write", async () => {
    for (const [name, permissions] of Object.entries(SPEC_PROFILES)) {
      const t = await newEnv();
      const viaFlag = await requestsDuring(async () => ok(await helper(t, ["token", "--profile", name]), `token --profile ${name}`));
      expect(viaFlag.map((r) => r.json), `--profile ${name}`).toEqual([{ permissions }]);

      const u = await newEnv({ extraEnv: { VERS_GITHUB_PROFILE: name } });
      const viaEnv = await requestsDuring(async () => ok(await helper(u, ["token", "--repo", "acme/a"]), `VERS_GITHUB_PROFILE=${name}`));
      expect(viaEnv.map((r) => r.json), `VERS_GITHUB_PROFILE=${name}`).toEqual([{ repositories: ["a"], permissions }]);
    }
    // Every request this file has sent so far, whichever test sent it.
    const adminWrite = broker.requests.filter((r) => {
      const p = (r.json as { permissions?: Record<string, string> } | undefined)?.permissions;
      return p?.administration === "write";
    });
    expect(adminWrite).toEqual([]);
  });

  it("an unknown profile fails in one line naming the four profiles, and asks the broker nothing", async () => {
    const cases: Array<{ label: string; t: TestEnv; args: string[]; input?: string }> = [];
    const plain = await newEnv();
    const viaEnv = await newEnv({ extraEnv: { VERS_GITHUB_PROFILE: "nope" } });
    const getInput = `protocol=https\nhost=${host.host}\npath=acme/a.git\n\n`;
    cases.push({ label: "token --profile nope", t: plain, args: ["token", "--profile", "nope"] });
    cases.push({ label: "VERS_GITHUB_PROFILE=nope token", t: viaEnv, args: ["token"] });
    cases.push({ label: "--profile nope get", t: plain, args: ["--profile", "nope", "get"], input: getInput });
    cases.push({ label: "VERS_GITHUB_PROFILE=nope get", t: viaEnv, args: ["get"], input: getInput });
    for (const c of cases) {
      const requests = await requestsDuring(async () => {
        const r = await helper(c.t, c.args, c.input);
        expect(r.code, c.label).toBe(1);
        expect(r.stdout, c.label).toBe("");
        const lines = oneLine(r.stderr);
        expect(lines, c.label).toHaveLength(1);
        for (const p of ["read", "develop", "clone", "ci"]) expect(lines[0], `${c.label}: ${p}`).toMatch(new RegExp(`\\b${p}\\b`));
        expect(lines[0], c.label).toContain("nope");
      });
      expect(requests, c.label).toEqual([]);
    }
  });

  it.each(["403", "404", "422"] as const)("a broker %s for a scoped request names the repository and the profile", async (mode) => {
    const t = await newEnv();
    broker.setMode(mode);
    const viaToken = await requestsDuring(async () => {
      const r = await helper(t, ["token", "--repo", "acme/a", "--profile", "read"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      const lines = oneLine(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("acme/a");
      expect(lines[0]).toMatch(/profile read/);
      expect(lines[0]).toContain(`HTTP ${mode}`);
    });
    expect(viaToken, "no retry for a refusal").toHaveLength(1);

    const viaGet = await requestsDuring(async () => {
      const r = await helper(t, ["--profile", "clone", "get"], `protocol=https\nhost=${host.host}\npath=acme/a.git\n\n`);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      const lines = oneLine(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("acme/a");
      expect(lines[0]).toMatch(/profile clone/);
    });
    expect(viaGet).toHaveLength(1);
  });
});
