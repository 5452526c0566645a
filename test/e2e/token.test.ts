/**
 * `git-credential-vers token` and `profiles`: tokens for gh, curl and SDKs, through the same cache.
 */
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { describe, expect, it } from "vitest";
import { helper } from "./harness";
import { ok, requestsDuring, tempEnvs, useServers } from "./fixtures";
import { DEFAULT_PERMISSIONS } from "../servers/fake-broker";
import { SPEC_PROFILES } from "../spec-profiles";

const servers = useServers({ repos: ["acme/a"] });

const env = tempEnvs(() => ({
  brokerUrl: servers.broker.url,
  apiKey: servers.apiKey,
  hosts: [servers.gitHost.host],
  caFile: servers.gitHost.caFile,
  wireGit: false,
}));

/** GET with Basic auth x-access-token:<token>, trusting the git host's CA: what curl or gh would do. */
async function httpsStatus(url: string, token: string): Promise<number> {
  const ca = await readFile(servers.gitHost.caFile);
  const auth = Buffer.from(`x-access-token:${token}`).toString("base64");
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Basic ${auth}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("token", () => {
  it("--repo HOST/owner/repo works for a HOST install wired, without VERS_GITHUB_HOST (issue 18)", async () => {
    const t = await env();
    const u = { ...t, env: { ...t.env } };
    delete u.env.VERS_GITHUB_HOST;
    ok(await helper(u, ["install", "--global", "--host", servers.gitHost.host, "--profile", "clone"]), "install");
    const requests = await requestsDuring(servers.broker, async () => {
      const r = ok(await helper(u, ["token", "--repo", `${servers.gitHost.host}/acme/a`]), "token --repo HOST/acme/a");
      expect(servers.broker.registry.lookup(r.stdout.trim())).toBeDefined();
    });
    // As git's own get would ask: the line's --profile, one repository.
    expect(requests.map((r) => r.json)).toEqual([{ repositories: ["a"], permissions: { contents: "read" } }]);
    const other = await helper(u, ["token", "--repo", "other.example/acme/a"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("not configured");
  });

  it("prints the token alone and a newline", async () => {
    const t = await env();
    const mintsBefore = servers.broker.mints;
    const r = ok(await helper(t, ["token"]), "token");
    expect(r.stdout).toMatch(/^\S+\n$/);
    expect(servers.broker.mints - mintsBefore).toBe(1);
    expect(servers.broker.registry.lookup(r.stdout.trim())).toBeDefined();
  });

  it("accepts every --repo form for one repository, with exactly one mint", async () => {
    const t = await env();
    const h = servers.gitHost.host;
    const forms = ["acme/a", "acme/a.git", `${h}/acme/a`, `${h}/acme/a.git`, `https://${h}/acme/a`, `https://${h}/acme/a.git`];
    const mintsBefore = servers.broker.mints;
    const tokens: string[] = [];
    const requests = await requestsDuring(servers.broker, async () => {
      for (const form of forms) {
        const r = ok(await helper(t, ["token", "--repo", form]), `token --repo ${form}`);
        expect(r.stdout, form).toMatch(/^\S+\n$/);
        tokens.push(r.stdout.trim());
      }
    });
    expect(new Set(tokens).size).toBe(1);
    expect(servers.broker.mints - mintsBefore).toBe(1);
    expect(requests.map((q) => q.json)).toEqual([{ repositories: ["a"] }]);
    expect(servers.broker.registry.lookup(tokens[0]!)?.repositories).toEqual(["a"]);
  });

  it("--json gives token, expires_at (ISO, in the future), permissions and repositories", async () => {
    const t = await env();
    const org = JSON.parse(ok(await helper(t, ["token", "--json"]), "token --json").stdout) as Record<string, unknown>;
    expect(typeof org.token).toBe("string");
    expect(servers.broker.registry.lookup(org.token as string)).toBeDefined();
    expect(org.expires_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
    expect(Date.parse(org.expires_at as string)).toBeGreaterThan(Date.now());
    expect(org.permissions).toEqual(DEFAULT_PERMISSIONS);
    expect(org).toHaveProperty("repositories");

    const scoped = JSON.parse(ok(await helper(t, ["token", "--json", "--repo", "acme/a", "--profile", "clone"]), "scoped --json").stdout) as Record<string, unknown>;
    expect(scoped.token).not.toBe(org.token);
    expect(servers.broker.registry.lookup(scoped.token as string)).toMatchObject({ repositories: ["a"], permissions: { contents: "read" } });
    expect(Date.parse(scoped.expires_at as string)).toBeGreaterThan(Date.now());
    expect(scoped.permissions).toEqual({ contents: "read" });
    expect(Array.isArray(scoped.repositories)).toBe(true);
    const names = (scoped.repositories as unknown[]).map((r) => (typeof r === "string" ? r.split("/").pop() : (r as { name?: unknown }).name));
    expect(names).toEqual(["a"]);
  });

  it("refuses a malformed --repo in one line, printing nothing and asking the broker nothing", async () => {
    const t = await env();
    const bad = ["acme", "a/b/c/d", `http://${servers.gitHost.host}/acme/a`, "ftp://x/a/b", "github.com.evil.example/acme/a", "acme/a b", "acme/..", "./a"];
    for (const value of bad) {
      const requests = await requestsDuring(servers.broker, async () => {
        const r = await helper(t, ["token", "--repo", value]);
        expect(r.code, value).toBe(1);
        expect(r.stdout, value).toBe("");
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        expect(lines, value).toHaveLength(1);
        expect(lines[0], value).toMatch(/^git-credential-vers: /);
      });
      expect(requests, value).toEqual([]);
    }
  });

  it("is accepted by the git host for curl-style HTTPS use", async () => {
    const t = await env();
    const token = ok(await helper(t, ["token"]), "token").stdout.trim();
    const url = `${servers.gitHost.url}/acme/a.git/info/refs?service=git-upload-pack`;
    expect(await httpsStatus(url, token)).toBe(200);
    // The control: a token the broker never minted is refused.
    expect(await httpsStatus(url, `${token.slice(0, -4)}XXXX`)).toBe(401);
  });
});

describe("profiles", () => {
  it("lists the four profiles", async () => {
    const t = await env();
    const r = ok(await helper(t, ["profiles"]), "profiles");
    const names = r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => l.trim().split(/\s+/)[0]);
    expect(names).toEqual(["read", "develop", "clone", "ci"]);
    expect(r.stdout).not.toMatch(/administration:\s*write/);
  });

  it("--json equals the SPEC table", async () => {
    const t = await env();
    const r = ok(await helper(t, ["profiles", "--json"]), "profiles --json");
    expect(JSON.parse(r.stdout)).toEqual(SPEC_PROFILES);
  });
});
