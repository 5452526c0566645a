/**
 * Issue 3: per-repository scope (credential.useHttpPath) and permission profiles, end to end with
 * real git, the fake broker and the TLS git host (which enforces repository scope and write access).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git, helper, type TestEnv } from "./harness";
import { brokerCounter, expectFailure, ok, request, requestsDuring, tempEnvs, useServers } from "./fixtures";
import { SPEC_PROFILES } from "../spec-profiles";

const servers = useServers({ repos: ["acme/a", "acme/b"] });

const env = tempEnvs(() => ({ brokerUrl: servers.broker.url, apiKey: servers.apiKey, hosts: [servers.gitHost.host], caFile: servers.gitHost.caFile }));

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
    const t = await env();
    ok(await git(t, ["config", "--global", "credential.useHttpPath", "true"]), "git config");
    const mintsBefore = servers.broker.mints;
    const workA = join(t.home, "a");
    const workB = join(t.home, "b");
    const requests = await requestsDuring(servers.broker, async () => {
      ok(await git(t, ["clone", "-q", servers.repo("acme/a"), workA]), "clone a");
      ok(await git(t, ["clone", "-q", servers.repo("acme/b"), workB]), "clone b");
    });
    expect(servers.broker.mints - mintsBefore).toBe(2);
    expect(requests.map((r) => r.json)).toEqual([{ repositories: ["a"] }, { repositories: ["b"] }]);

    ok(await git(t, ["-C", workA, "fetch", "-q", "origin"]), "fetch a");
    ok(await git(t, ["-C", workB, "fetch", "-q", "origin"]), "fetch b");
    expect(servers.broker.mints - mintsBefore).toBe(2);
  });

  it("without useHttpPath, both repositories share one org-wide token requested with no body", async () => {
    const t = await env();
    const mintsBefore = servers.broker.mints;
    const requests = await requestsDuring(servers.broker, async () => {
      ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone a");
      ok(await git(t, ["clone", "-q", servers.repo("acme/b"), join(t.home, "b")]), "clone b");
    });
    expect(servers.broker.mints - mintsBefore).toBe(1);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body).toBe("");
  });

  it("a token scoped to acme/a is refused by the git host on acme/b", async () => {
    const t = await env();
    ok(await git(t, ["config", "--global", "credential.useHttpPath", "true"]), "git config");
    ok(await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]), "clone a");
    const tokenA = (await helper(t, ["token", "--repo", "acme/a"])).stdout.trim();
    expect(servers.broker.registry.lookup(tokenA)?.repositories).toEqual(["a"]);

    // The token for a, presented by hand on b: the host must refuse it for scope.
    const refusedBefore = servers.gitHost.refused;
    const withToken = (url: string) => url.replace("https://", `https://x-access-token:${tokenA}@`);
    const onB = await git(t, ["-c", "credential.helper=", "ls-remote", withToken(servers.repo("acme/b"))]);
    expect(onB.code).not.toBe(0);
    expect(servers.gitHost.refused).toBeGreaterThan(refusedBefore);
    const refusal = servers.gitHost.requests.findLast((r) => r.token === tokenA && r.path.startsWith("/acme/b.git"));
    expect(refusal?.status).toBe(403);
    expect(refusal?.reason).toMatch(/not in the token's scope/);

    // The same token is good on a, and the helper gets b its own token.
    ok(await git(t, ["-c", "credential.helper=", "ls-remote", withToken(servers.repo("acme/a"))]), "ls-remote a with a's token");
    ok(await git(t, ["ls-remote", servers.repo("acme/b")]), "ls-remote b through the helper");
  });
});

describe("permission profiles", () => {
  it("profile clone: clone works, push is refused (contents: read), the request asked for contents: read", async () => {
    const t = await env({ helperArgs: ["--profile", "clone"] });
    const work = join(t.home, "a");
    const requests = await requestsDuring(servers.broker, async () => {
      ok(await git(t, ["clone", "-q", servers.repo("acme/a"), work]), "clone");
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.json).toEqual({ permissions: { contents: "read" } });

    await commitFile(t, work, "clone-profile.txt");
    const refusedBefore = servers.gitHost.refused;
    const push = await git(t, ["-C", work, "push", "-q", "origin", "HEAD:main"]);
    expect(push.code).not.toBe(0);
    expect(servers.gitHost.refused).toBeGreaterThan(refusedBefore);
    expect(servers.gitHost.requests.at(-1)?.reason).toBe("push needs contents: write");
  });

  it("profile develop: push works", async () => {
    const t = await env({ helperArgs: ["--profile", "develop"] });
    const work = join(t.home, "a");
    const requests = await requestsDuring(servers.broker, async () => {
      ok(await git(t, ["clone", "-q", servers.repo("acme/a"), work]), "clone");
      await commitFile(t, work, "develop-profile.txt");
      ok(await git(t, ["-C", work, "push", "-q", "origin", "HEAD:main"]), "push");
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.json).toEqual({ permissions: SPEC_PROFILES.develop });
  });

  it("each profile asks for exactly the SPEC permissions, never administration: write", async () => {
    for (const [name, permissions] of Object.entries(SPEC_PROFILES)) {
      const t = await env();
      const viaFlag = await requestsDuring(servers.broker, async () => ok(await helper(t, ["token", "--profile", name]), `token --profile ${name}`));
      expect(viaFlag.map((r) => r.json), `--profile ${name}`).toEqual([{ permissions }]);

      const u = await env({ extraEnv: { VERS_GITHUB_PROFILE: name } });
      const viaEnv = await requestsDuring(servers.broker, async () => ok(await helper(u, ["token", "--repo", "acme/a"]), `VERS_GITHUB_PROFILE=${name}`));
      expect(viaEnv.map((r) => r.json), `VERS_GITHUB_PROFILE=${name}`).toEqual([{ repositories: ["a"], permissions }]);
    }
    // Every request this file has sent so far, whichever test sent it.
    const adminWrite = servers.broker.requests.filter((r) => {
      const p = (r.json as { permissions?: Record<string, string> } | undefined)?.permissions;
      return p?.administration === "write";
    });
    expect(adminWrite).toEqual([]);
  });

  it("an unknown profile fails in one line naming the four profiles, and asks the broker nothing", async () => {
    const cases: Array<{ label: string; t: TestEnv; args: string[]; input?: string }> = [];
    const plain = await env();
    const viaEnv = await env({ extraEnv: { VERS_GITHUB_PROFILE: "nope" } });
    const getInput = `protocol=https\nhost=${servers.gitHost.host}\npath=acme/a.git\n\n`;
    cases.push({ label: "token --profile nope", t: plain, args: ["token", "--profile", "nope"] });
    cases.push({ label: "VERS_GITHUB_PROFILE=nope token", t: viaEnv, args: ["token"] });
    cases.push({ label: "--profile nope get", t: plain, args: ["--profile", "nope", "get"], input: getInput });
    cases.push({ label: "VERS_GITHUB_PROFILE=nope get", t: viaEnv, args: ["get"], input: getInput });
    for (const c of cases) {
      const requests = await requestsDuring(servers.broker, async () => {
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
    const t = await env();
    servers.broker.setMode(mode);
    const viaToken = await requestsDuring(servers.broker, async () => {
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

    const viaGet = await requestsDuring(servers.broker, async () => {
      const r = await helper(t, ["--profile", "clone", "get"], `protocol=https\nhost=${servers.gitHost.host}\npath=acme/a.git\n\n`);
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

describe("one host per source (issue 15, item 6)", () => {
  it("the broker serves the first listed host: a clone from a second configured host gets no token, and nobody is asked", async () => {
    const host = servers.gitHost.host;
    const t = await env({ hosts: ["github.com", host] });
    const count = brokerCounter(servers.broker);
    const seen = servers.gitHost.requests.length;
    const clone = await git(t, ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")]);
    expect(clone.code).not.toBe(0);
    const line = `git-credential-vers: the broker mints tokens for github.com, not ${host} (set VERS_GITHUB_HOST=${host} with a source for that host, e.g. GITHUB_API_URL=https://${host}/api/v3)`;
    expect(clone.stderr).toContain(line);
    expect(servers.gitHost.requests.slice(seen).filter((r) => r.token !== undefined)).toEqual([]);
    expectFailure(await helper(t, ["get"], request(host)), /^git-credential-vers: the broker mints tokens for github\.com, not /);
    expect(count.requests()).toBe(0);
    // Listed first, the same host is served.
    const first = await env({ hosts: [host, "github.com"] });
    ok(await git(first, ["clone", "-q", servers.repo("acme/a"), join(first.home, "a")]), "clone with the git host listed first");
    expect(count.mints()).toBe(1);
  });
});
