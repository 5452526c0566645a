/**
 * Issue 11's commands end to end: grant add / list / revoke, status with the grant source, the grants
 * file's checks, and a full redeem → rotate → check → revoke cycle whose outputs, trace and cache hold
 * no grant secret.
 */
import { chmod, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { helper, type RunResult } from "./harness";
import { entryFiles, expectFailure, lines } from "./fixtures";
import { addGrant, gitRequest, grantedRepo, grantsOnDisk, grantsPath, grantWorld, serviceCounter } from "./grant-fixtures";

const { world, env, withGrant } = grantWorld();

function secretOf(refreshToken: string): string {
  return refreshToken.slice(refreshToken.indexOf(".") + 1);
}

describe("grant add", () => {
  it.each([
    ["the service's camelCase JSON", (i: ReturnType<typeof world.service.issue>) => JSON.stringify(i.serviceJson), []],
    ["the snake_case form", (i: ReturnType<typeof world.service.issue>) => JSON.stringify({ repository: i.repository, refresh_token: i.refreshToken, token_endpoint: world.service.tokenEndpoint }), []],
    ["a bare grant with --repo and --token-endpoint", (i: ReturnType<typeof world.service.issue>) => `${i.refreshToken}\n`, ["--token-endpoint", "TOKEN_ENDPOINT"]],
    ["JSON naming only repository.id, with --repo", (i: ReturnType<typeof world.service.issue>) => JSON.stringify({ ...i.serviceJson, repository: { id: 7 } }), []],
  ])("reads %s on stdin and writes the grants file 0600 in a 0700 folder", async (_name, input, flags) => {
    const t = await env({ wireGit: false });
    const { issued } = await grantedRepo(world, "added");
    const args = flags.map((f) => (f === "TOKEN_ENDPOINT" ? world.service.tokenEndpoint : f));
    const r = await helper(t, ["grant", "add", "--repo", issued.repository, ...args], input(issued));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`added the grant ghr_${issued.grantId} for ${issued.repository} (token endpoint ${world.service.tokenEndpoint}) to ~/.vers/grants.json\n`);
    expect(await grantsOnDisk(t)).toEqual({ [issued.repository]: issued.refreshToken });
    expect((await stat(grantsPath(t))).mode & 0o777).toBe(0o600);
    expect((await stat(join(t.home, ".vers"))).mode & 0o777).toBe(0o700);
    expect(await helper(t, ["get"], gitRequest(world))).toMatchObject({ code: 0, stderr: "" });
  });

  it.each([
    ["nothing", "", /nothing was read on stdin/],
    ["a grant without its secret", "ghr_abcdef", /not ghr_<grantId>\.<secret>/],
    ["a grant with a bad character", "ghr_abc.def$ghijklmno", /not ghr_<grantId>\.<secret>/],
    ["a grant with no repository", () => JSON.stringify({ refreshToken: "ghr_abc.defghijklmnop", tokenEndpoint: world.service.tokenEndpoint }), /names no repository/],
    ["a grant with no endpoint", () => JSON.stringify({ refreshToken: "ghr_abc.defghijklmnop", repository: "acme/x" }), /has no token endpoint/],
    ["a plain-http endpoint off loopback", () => JSON.stringify({ refreshToken: "ghr_abc.defghijklmnop", repository: "acme/x", tokenEndpoint: "http://grants.example/token" }), /must use https/],
    ["a repository that is not owner/repo", () => JSON.stringify({ refreshToken: "ghr_abc.defghijklmnop", repository: "acme/x/y", tokenEndpoint: world.service.tokenEndpoint }), /is not owner\/repo/],
    ["broken JSON", '{"refreshToken": "ghr_abc.defghijklmnop",', /is not JSON/],
  ])("refuses %s with one line and writes nothing", async (_name, input, why) => {
    const t = await env({ wireGit: false });
    const r = await helper(t, ["grant", "add"], typeof input === "function" ? input() : input);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^git-credential-vers: not adding the grant: /);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toContain("defghijklmnop");
    await expect(stat(join(t.home, ".vers"))).rejects.toThrow();
  });

  it("one grant per repository: adding again replaces it", async () => {
    const { t, issued } = await withGrant("again");
    const second = world.service.issue(issued.repository);
    const r = await addGrant(t, second);
    expect(r.stdout).toContain(`replacing ghr_${issued.grantId}`);
    expect(await grantsOnDisk(t)).toEqual({ [issued.repository]: second.refreshToken });
  });
});

describe("the grants file is checked like the cache folder", () => {
  it("readable by others: get fails with one line naming the file and chmod 600, and sends nothing", async () => {
    const { t } = await withGrant("loose");
    await chmod(grantsPath(t), 0o644);
    const count = serviceCounter(world.service);
    expectFailure(await helper(t, ["get"], gitRequest(world)), new RegExp(`grants file ~/.vers/grants.json \\(${grantsPath(t)}\\) is readable or writable by group or others \\(mode 644\\).*chmod 600 ${grantsPath(t)}`));
    expect(count.requests()).toBe(0);
  });
});

describe("grant list, status, revoke", () => {
  it("list shows repository, grant id, endpoint and the secret's last 4 only", async () => {
    const { t, issued } = await withGrant("listed");
    const r = await helper(t, ["grant", "list"]);
    expect(r.code).toBe(0);
    for (const fact of [issued.repository, `ghr_${issued.grantId}`, `…${issued.refreshToken.slice(-4)}`, world.service.tokenEndpoint]) expect(r.stdout).toContain(fact);
    const json = JSON.parse((await helper(t, ["grant", "list", "--json"])).stdout) as { grants: Array<Record<string, string>> };
    expect(json.grants).toEqual([{ repository: issued.repository, grant: `ghr_${issued.grantId}`, secret: `…${issued.refreshToken.slice(-4)}`, tokenEndpoint: world.service.tokenEndpoint, clientId: issued.serviceJson.clientId, from: "~/.vers/grants.json" }]);
    expect(r.stdout + json).not.toContain(secretOf(issued.refreshToken));
  });

  it("status shows the grant source; --check redeems once even with a fresh token cached", async () => {
    const { t, issued } = await withGrant("checked");
    expect((await helper(t, ["get"], gitRequest(world))).code).toBe(0);
    const count = serviceCounter(world.service);
    const s = JSON.parse((await helper(t, ["status", "--json"])).stdout) as { source: Record<string, string>; grants: Array<{ repository: string }> };
    expect(s.source).toMatchObject({ kind: "grant", grants: "1", file: grantsPath(t) });
    expect(s.grants.map((g) => g.repository)).toEqual([issued.repository]);
    expect(count.requests()).toBe(0);
    const checked = await helper(t, ["status", "--check"]);
    expect(checked.stdout).toMatch(/check +redeemed the grant in \d+ ms/);
    expect(count.redemptions()).toBe(1);
  });

  it("revoke: the service saw the revoke; the file no longer holds the grant; its cached token is dropped", async () => {
    const { t, issued } = await withGrant("to-revoke");
    expect((await helper(t, ["get"], gitRequest(world))).code).toBe(0);
    expect(await entryFiles(t.cacheDir)).toHaveLength(1);
    const revocations = world.service.revocations;
    const r = await helper(t, ["grant", "revoke"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`revoked the grant ghr_${issued.grantId} for ${issued.repository}; removed it from ~/.vers/grants.json; dropped 1 cached token\n`);
    expect(world.service.revocations - revocations).toBe(1);
    expect(world.service.requests.at(-1)!.form).toEqual({ token: issued.refreshToken, token_type_hint: "refresh_token", client_id: issued.serviceJson.clientId });
    expect(world.service.isLive(issued.refreshToken)).toBe(false);
    expect(await grantsOnDisk(t)).toEqual({});
    expect(await entryFiles(t.cacheDir)).toEqual([]);
  });

  it("revoke while the service answers 503: says the grant may still be valid and keeps it", async () => {
    const { t, issued } = await withGrant("kept", { wireGit: false, extraEnv: { VERS_TIMEOUT: "3" } });
    world.service.setMode("503");
    const r = await helper(t, ["grant", "revoke", "--repo", issued.repository]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/was not revoked: the grant service is unavailable \(HTTP 503 .*\); it may still be valid \(run git-credential-vers grant revoke again later/);
    expect(await grantsOnDisk(t)).toEqual({ [issued.repository]: issued.refreshToken });
    expect(world.service.isLive(issued.refreshToken)).toBe(true);
  });
});

describe("the grant secret never appears", () => {
  it("in stdout, stderr, the trace or the cache, through add, get, rotation, status --check, list and revoke", async () => {
    const t = await env();
    const trace = join(t.home, "trace.log");
    t.env.VERS_CREDENTIAL_TRACE = trace;
    world.service.setRotation(true);
    const { issued } = await grantedRepo(world, "secret");
    const runs: RunResult[] = [await addGrant(t, issued)];
    runs.push(await helper(t, ["get"], gitRequest(world)));
    const rotated = (await grantsOnDisk(t))[issued.repository]!;
    runs.push(await helper(t, ["status", "--check"]), await helper(t, ["status", "--json"]), await helper(t, ["grant", "list"]), await helper(t, ["token"]));
    const latest = (await grantsOnDisk(t))[issued.repository]!;
    runs.push(await helper(t, ["grant", "revoke"]));
    for (const r of runs) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(new Set([issued.refreshToken, rotated, latest]).size).toBe(3);
    const cache = await Promise.all((await readdir(t.cacheDir)).filter((n) => n.endsWith(".json")).map((n) => readFile(join(t.cacheDir, n), "utf8")));
    const traced = await readFile(trace, "utf8");
    expect(traced).toMatch(/redeeming the grant .*saved the rotated grant .*revoking the grant/s);
    const everything = [...runs.flatMap((r) => [r.stdout, r.stderr]), traced, ...cache].join("\n");
    expect(everything).toContain(`ghr_${issued.grantId}`);
    for (const token of [issued.refreshToken, rotated, latest]) expect(everything).not.toContain(secretOf(token));
  });
});
