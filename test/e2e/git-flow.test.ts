/**
 * git drives the built helper against a TLS git host that accepts only broker-minted tokens:
 * `git credential fill/reject`, a full clone/commit/push/fetch, and many `get`s sharing one mint.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { credentialFill, git, helper, run } from "./harness";
import { brokerCounter, getToken, parseLines, request, tempEnvs, useServers } from "./fixtures";

const servers = useServers({ gitHost: true });

const env = tempEnvs(() => ({
  brokerUrl: servers.broker.url,
  apiKey: servers.apiKey,
  hosts: [servers.gitHost.host],
  caFile: servers.gitHost.caFile,
  extraEnv: { VERS_TIMEOUT: "15" },
}));

function reject(t: Awaited<ReturnType<typeof env>>, password: string) {
  const input = `protocol=https\nhost=${servers.gitHost.host}\nusername=x-access-token\npassword=${password}\n\n`;
  return run("git", ["credential", "reject"], { env: t.env, cwd: t.home, input });
}

describe("git credential fill / reject", () => {
  it("fills username=x-access-token and a broker-minted password; raw get prints exactly three lines with the expiry", async () => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const fill = await credentialFill(t, { protocol: "https", host: servers.gitHost.host });
    expect(fill.stderr).toBe("");
    expect(fill.code).toBe(0);
    const filled = parseLines(fill.stdout);
    expect(filled.username).toBe("x-access-token");
    const token = filled.password!;
    const minted = servers.broker.registry.lookup(token);
    expect(minted).toBeDefined();
    const expiry = Math.floor(minted!.expiresAt / 1000);
    // git 2.39 drops attributes it does not know (password_expiry_utc arrived in git 2.41); newer git passes it on.
    if ("password_expiry_utc" in filled) expect(filled.password_expiry_utc).toBe(String(expiry));

    const raw = await helper(t, ["get"], request(servers.gitHost.host));
    expect(raw.code).toBe(0);
    expect(raw.stderr).toBe("");
    expect(raw.stdout).toBe(`username=x-access-token\npassword=${token}\npassword_expiry_utc=${expiry}\n`);
    expect(count.mints()).toBe(1);
  });

  it("reject with the served token erases the entry, so the next fill mints again", async () => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const first = parseLines((await credentialFill(t, { protocol: "https", host: servers.gitHost.host })).stdout).password!;
    expect(count.mints()).toBe(1);
    const r = await reject(t, first);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const second = await credentialFill(t, { protocol: "https", host: servers.gitHost.host });
    expect(second.code).toBe(0);
    expect(count.mints()).toBe(2);
    const token = parseLines(second.stdout).password!;
    expect(token).not.toBe(first);
    expect(servers.broker.registry.lookup(token)).toBeDefined();
  });

  it("reject with a different password leaves the entry alone", async () => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const first = parseLines((await credentialFill(t, { protocol: "https", host: servers.gitHost.host })).stdout).password!;
    const r = await reject(t, "ghs_someOtherTokenThatWasNeverCached0000");
    expect(r.code).toBe(0);
    const again = await credentialFill(t, { protocol: "https", host: servers.gitHost.host });
    expect(again.code).toBe(0);
    expect(parseLines(again.stdout).password).toBe(first);
    expect(count.mints()).toBe(1);
  });
});

describe("git over https", () => {
  it("clone, commit, push and fetch with exactly one mint", async () => {
    const t = await env();
    const remote = await servers.gitHost.createRepo("acme", `flow-${Date.now()}`);
    const count = brokerCounter(servers.broker);
    const work = join(t.home, "work");
    const step = async (args: string[], cwd?: string) => {
      const r = await git(t, args, cwd);
      expect(r.stderr, `git ${args.join(" ")}`).not.toMatch(/fatal|error/i);
      expect(r.code, `git ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    await step(["clone", "--quiet", remote, work]);
    await writeFile(join(work, "HELLO.md"), "hello from the e2e tests\n");
    await step(["add", "HELLO.md"], work);
    await step(["commit", "--quiet", "-m", "Say hello"], work);
    await step(["push", "--quiet", "origin", "HEAD:main"], work);
    await step(["fetch", "--quiet", "origin"], work);
    const head = (await step(["rev-parse", "HEAD"], work)).stdout.trim();
    const remoteHead = (await step(["rev-parse", "origin/main"], work)).stdout.trim();
    expect(remoteHead).toBe(head);
    expect(count.mints()).toBe(1);
    // Every request the host served carried that one minted token.
    const served = servers.gitHost.requests.filter((r) => r.status === 200 && r.path.includes(remote.split("/").pop()!.replace(/\.git$/, "")));
    expect(served.length).toBeGreaterThan(0);
    expect(new Set(served.map((r) => r.token)).size).toBe(1);
  });
});

describe("sharing one token", () => {
  it("20 sequential gets mint once", async () => {
    const t = await env({ wireGit: false });
    const count = brokerCounter(servers.broker);
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) tokens.add((await getToken(t, servers.gitHost.host)).token);
    expect(count.mints()).toBe(1);
    expect(tokens.size).toBe(1);
  });

  it("32 concurrent cold gets mint exactly once and all print the same password", async () => {
    const t = await env({ wireGit: false });
    const count = brokerCounter(servers.broker);
    const results = await Promise.all(Array.from({ length: 32 }, () => helper(t, ["get"], request(servers.gitHost.host))));
    for (const r of results) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const passwords = new Set(results.map((r) => parseLines(r.stdout).password));
    expect(passwords.size).toBe(1);
    expect(servers.broker.registry.lookup([...passwords][0]!)).toBeDefined();
    expect(count.mints()).toBe(1);
  });
});

describe("other actions", () => {
  it("an unknown action exits 0 silently", async () => {
    const t = await env({ wireGit: false });
    const count = brokerCounter(servers.broker);
    const r = await helper(t, ["frobnicate"], request(servers.gitHost.host));
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(count.requests()).toBe(0);
  });

  it("store exits 0 silently and calls nobody, even with garbage input", async () => {
    const t = await env({ wireGit: false });
    const count = brokerCounter(servers.broker);
    for (const input of [request(servers.gitHost.host, { username: "x-access-token", password: "ghs_x" }), "\0garbage without equals\n\x01\x02\n", "x".repeat(2 * 1024 * 1024)]) {
      const r = await helper(t, ["store"], input);
      expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    }
    expect(count.requests()).toBe(0);
  });
});
