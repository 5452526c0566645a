/**
 * Issue 11, through real git: a machine that holds refresh grants (no Vers key, no App key) clones and
 * pushes the granted repository through the helper and the TLS git host, and gets nothing for any other.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git, helper } from "./harness";
import { entryFiles, expectFailure, parseLines } from "./fixtures";
import { addGrant, gitOk, gitRequest, grantedRepo, grantsOnDisk, grantWorld, perRepo, serviceCounter } from "./grant-fixtures";

const { world, env, withGrant } = grantWorld();

describe("a grant, through git", () => {
  it("grant add from the service's JSON, then clone, commit and push the granted repository with one redemption", async () => {
    const { t, url, issued } = await withGrant("widgets", {});
    const count = serviceCounter(world.service);
    const work = join(t.home, "work");
    await gitOk(t, ["clone", "--quiet", url, work]);
    await writeFile(join(work, "GRANTED.md"), "pushed with a refresh grant\n");
    await gitOk(t, ["add", "GRANTED.md"], work);
    await gitOk(t, ["commit", "--quiet", "-m", "Push with a grant"], work);
    await gitOk(t, ["push", "--quiet", "origin", "HEAD:main"], work);
    await gitOk(t, ["fetch", "--quiet", "origin"], work);
    expect((await gitOk(t, ["rev-parse", "origin/main"], work)).stdout).toBe((await gitOk(t, ["rev-parse", "HEAD"], work)).stdout);
    expect(count.redemptions()).toBe(1);
    const served = world.gitHost.requests.filter((r) => r.status === 200 && r.path.includes(url.split("/").pop()!.replace(/\.git$/, "")));
    expect(new Set(served.map((r) => r.token)).size).toBe(1);
    // The request that redeemed it: form-encoded, the grant and client id, no Authorization header.
    const redeem = world.service.requests.at(-1)!;
    expect(redeem.contentType).toBe("application/x-www-form-urlencoded");
    expect(redeem.authorization).toBeUndefined();
    expect(redeem.form).toEqual({ grant_type: "refresh_token", refresh_token: issued.refreshToken, client_id: issued.serviceJson.clientId });
  });

  it("with useHttpPath, a request for another repository gets no answer and sends nothing", async () => {
    const t = await env();
    const granted = await grantedRepo(world, "mine");
    const other = await grantedRepo(world, "theirs");
    await addGrant(t, granted.issued);
    await perRepo(t, world);
    const count = serviceCounter(world.service);
    const r = await helper(t, ["get"], gitRequest(world, { path: `${other.issued.repository}.git` }));
    expectFailure(r, new RegExp(`no refresh grant is held for ${other.issued.repository} \\(held: ${granted.issued.repository}\\)`));
    const clone = await git(t, ["clone", "--quiet", other.url, join(t.home, "theirs")]);
    expect(clone.code).not.toBe(0);
    expect(count.requests()).toBe(0);
    await gitOk(t, ["clone", "--quiet", granted.url, join(t.home, "mine")]);
    expect(count.redemptions()).toBe(1);
  });

  it("install --per-repo with two grants: git clones and fetches each repository with its own grant, through the fast path", async () => {
    const t = await env({ wireGit: false });
    const [a, b] = await Promise.all([grantedRepo(world, "fast-a"), grantedRepo(world, "fast-b")]);
    await addGrant(t, a.issued);
    await addGrant(t, b.issued);
    expect((await helper(t, ["install", "--global", "--per-repo"])).code).toBe(0);
    try {
      const count = serviceCounter(world.service);
      for (const repo of [a, b]) await gitOk(t, ["clone", "--quiet", repo.url, join(t.home, repo.issued.repository)]);
      for (const repo of [a, b]) await gitOk(t, ["fetch", "--quiet", "origin"], join(t.home, repo.issued.repository));
      expect(count.redemptions()).toBe(2);
      const redeemed = world.service.requests.slice(-count.requests()).map((r) => r.form.refresh_token);
      expect(redeemed.sort()).toEqual([a.issued.refreshToken, b.issued.refreshToken].sort());
    } finally {
      await helper(t, ["uninstall", "--global", "--per-repo"]);
    }
  });

  it("without a path and two grants held: no answer, one line pointing at useHttpPath, nothing sent", async () => {
    const { t } = await withGrant("one");
    await addGrant(t, (await grantedRepo(world, "two")).issued);
    const count = serviceCounter(world.service);
    const r = await helper(t, ["get"], gitRequest(world));
    expectFailure(r, /2 refresh grants are held .*and git sent no repository path.*credential\.useHttpPath.*install --per-repo/);
    expect(count.requests()).toBe(0);
  });

  it("32 concurrent cold gets redeem once and all print the same password", async () => {
    const { t } = await withGrant("busy");
    const count = serviceCounter(world.service);
    const results = await Promise.all(Array.from({ length: 32 }, () => helper(t, ["get"], gitRequest(world))));
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: "" });
    const passwords = new Set(results.map((r) => parseLines(r.stdout).password));
    expect(passwords.size).toBe(1);
    expect(world.service.registry.lookup([...passwords][0]!)).toBeDefined();
    expect(count.redemptions()).toBe(1);
    expect(count.requests()).toBe(1);
  });
});

describe("the service's answers", () => {
  it("invalid_grant: one request, one clear line, final; a get within 10 s fails at once with the same line", async () => {
    const { t, issued } = await withGrant("revoked");
    world.service.revoke(issued.refreshToken);
    const count = serviceCounter(world.service);
    const first = expectFailure(await helper(t, ["get"], gitRequest(world)), new RegExp(`the grant for ${issued.repository} \\(ghr_${issued.grantId}\\) is no longer valid \\(HTTP 400 invalid_grant.*git-credential-vers grant add`));
    expect(count.requests()).toBe(1);
    const second = expectFailure(await helper(t, ["get"], gitRequest(world)), /is no longer valid/);
    expect(second).toBe(first);
    expect(count.requests()).toBe(1);
  });

  it("503 while a token is in hand (due for refresh): the token is served, after one try", async () => {
    world.service.setLifetime(600);
    const { t } = await withGrant("flaky", { wireGit: false, extraEnv: { VERS_REFRESH_MARGIN: "3600" } });
    const first = parseLines((await helper(t, ["get"], gitRequest(world))).stdout).password;
    expect(first).toMatch(/^ghs_/);
    world.service.setMode("503");
    const count = serviceCounter(world.service);
    const r = await helper(t, ["get"], gitRequest(world));
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(parseLines(r.stdout).password).toBe(first);
    expect(count.requests()).toBe(1);
  });

  it("rotation: the grants file holds the new grant, the old secret is dead at the service, and the next redemption uses the new one", async () => {
    world.service.setRotation(true);
    const { t, issued } = await withGrant("rotating");
    const count = serviceCounter(world.service);
    await helper(t, ["get"], gitRequest(world));
    const rotated = (await grantsOnDisk(t))[issued.repository]!;
    expect(rotated).toMatch(new RegExp(`^ghr_${issued.grantId}\\.`));
    expect(rotated).not.toBe(issued.refreshToken);
    expect(world.service.isLive(issued.refreshToken)).toBe(false);
    expect(world.service.isLive(rotated)).toBe(true);
    for (const f of await entryFiles(t.cacheDir)) await writeFile(f, "{}");
    const again = await helper(t, ["get"], gitRequest(world));
    expect(again).toMatchObject({ code: 0, stderr: "" });
    expect(world.service.requests.at(-1)!.form.refresh_token).toBe(rotated);
    expect(count.redemptions()).toBe(2);
  });

  it("rotation of a grant from the environment: saved to the grants file (0600), whose copy is used from then on", async () => {
    world.service.setRotation(true);
    const { issued } = await grantedRepo(world, "from-env");
    const vars = { VERS_REFRESH_TOKEN: issued.refreshToken, VERS_TOKEN_ENDPOINT: world.service.tokenEndpoint, VERS_GRANT_REPOSITORY: issued.repository };
    const t = await env({ wireGit: false, extraEnv: vars });
    expect((await helper(t, ["get"], gitRequest(world))).code).toBe(0);
    const rotated = (await grantsOnDisk(t))[issued.repository]!;
    expect(world.service.isLive(rotated)).toBe(true);
    for (const f of await entryFiles(t.cacheDir)) await writeFile(f, "{}");
    expect(await helper(t, ["get"], gitRequest(world))).toMatchObject({ code: 0, stderr: "" });
    expect(world.service.requests.at(-1)!.form.refresh_token).toBe(rotated);
  });

  it("git's oauth_refresh_token is used as the grant for the request, redeemed at VERS_TOKEN_ENDPOINT", async () => {
    const { issued } = await grantedRepo(world, "presented");
    const t = await env({ wireGit: false, extraEnv: { VERS_TOKEN_ENDPOINT: world.service.tokenEndpoint } });
    const r = await helper(t, ["get"], gitRequest(world, { path: `${issued.repository}.git`, oauth_refresh_token: issued.refreshToken }));
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(world.service.registry.lookup(parseLines(r.stdout).password!)!.repositories).toEqual([issued.repository.split("/")[1]]);
    expect(r.stdout).not.toContain("ghr_");
  });
});

describe("one grant, many processes (issue 15, items 7 and 10)", () => {
  it("two concurrent gets with different cache folders present each refresh token once: the second waits for the grant's lock and redeems the rotated grant", async () => {
    world.service.setRotation(true);
    const { t, issued } = await withGrant("shared-lock");
    const count = serviceCounter(world.service);
    // The first redemption is answered late, so the second get is sure to want the grant meanwhile.
    world.service.failNext("ok", 1, { delayMs: 1500 });
    const other = { ...t, env: { ...t.env, XDG_CACHE_HOME: join(t.home, "other-cache") } };
    const results = await Promise.all([helper(t, ["get"], gitRequest(world)), helper(other, ["get"], gitRequest(world))]);
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: "" });
    const presented = world.service.requests.slice(-count.requests()).map((r) => r.form.refresh_token);
    expect(presented).toHaveLength(2);
    expect(new Set(presented).size).toBe(2);
    expect(presented[0]).toBe(issued.refreshToken);
    expect(count.redemptions()).toBe(2);
    // No failure was noted in either cache folder.
    for (const dir of [t.cacheDir, join(t.home, "other-cache", "git-credential-vers")]) {
      expect((await readdir(dir)).filter((n) => n.includes("fail"))).toEqual([]);
    }
    expect(world.service.isLive((await grantsOnDisk(t))[issued.repository]!)).toBe(true);
  });

  it("a grant from VERS_REFRESH_TOKEN rotated to a new grant id: the retired one never wins again, and grant list shows the live one", async () => {
    world.service.setRotation("new-id");
    const { issued } = await grantedRepo(world, "env-new-id");
    const vars = { VERS_REFRESH_TOKEN: issued.refreshToken, VERS_TOKEN_ENDPOINT: world.service.tokenEndpoint, VERS_GRANT_REPOSITORY: issued.repository };
    const t = await env({ wireGit: false, extraEnv: vars });
    expect(await helper(t, ["get"], gitRequest(world))).toMatchObject({ code: 0, stderr: "" });
    const live = (await grantsOnDisk(t))[issued.repository]!;
    expect(live).not.toMatch(new RegExp(`^ghr_${issued.grantId}\\.`));
    expect(world.service.isLive(live)).toBe(true);
    for (const f of await entryFiles(t.cacheDir)) await writeFile(f, "{}");
    expect(await helper(t, ["get"], gitRequest(world))).toMatchObject({ code: 0, stderr: "" });
    expect(world.service.requests.at(-1)!.form.refresh_token).toBe(live);
    // That redemption rotated it again: grant list shows the grant now live, from the file, and only it.
    const now = (await grantsOnDisk(t))[issued.repository]!;
    expect(world.service.isLive(now)).toBe(true);
    const list = JSON.parse((await helper(t, ["grant", "list", "--json"])).stdout) as { grants: Array<{ grant: string; from: string }> };
    expect(list.grants).toEqual([expect.objectContaining({ grant: now.split(".")[0], from: "~/.vers/grants.json" })]);
  });

  it("a file grant rotated to a new grant id at each redemption: 4 gets make 1 redemption and 1 cache entry", async () => {
    world.service.setRotation("new-id");
    const { t, issued } = await withGrant("file-new-id");
    const count = serviceCounter(world.service);
    for (let i = 0; i < 4; i++) expect(await helper(t, ["get"], gitRequest(world))).toMatchObject({ code: 0, stderr: "" });
    expect(count.redemptions()).toBe(1);
    expect(await entryFiles(t.cacheDir)).toHaveLength(1);
    expect((await grantsOnDisk(t))[issued.repository]).not.toBe(issued.refreshToken);
  });
});
