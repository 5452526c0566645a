/**
 * Finding the installation: GITHUB_INSTALLATION_ID; per owner from the repository (falling back to
 * the owner as an organisation, then as a user), memoised so the next miss skips the look-up; the
 * app's only installation when git sent no path; and the clear errors when that cannot work.
 */
import { describe, expect, it } from "vitest";
import { fakeGitHubs, MapMemo, mint, mintError, ORG_WIDE, REPO } from "./github-app-fixtures";

const github = fakeGitHubs();
const paths = (gh: { requests: { method: string; path: string; status: number }[] }) => gh.requests.map((r) => `${r.method} ${r.path} ${r.status}`);

describe("GITHUB_INSTALLATION_ID", () => {
  it("is used as is: no look-up", async () => {
    const gh = await github({ installations: [{ id: 77, account: "acme" }] });
    await mint(gh.url, REPO, { installationId: "77", memo: new MapMemo() });
    expect(paths(gh)).toEqual(["POST /app/installations/77/access_tokens 201"]);
  });

  it("not a number: bad-setting before any request", async () => {
    const gh = await github();
    const err = await mintError(gh.url, REPO, { installationId: "acme" });
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe('GITHUB_INSTALLATION_ID "acme" is not an installation id');
    expect(gh.requests).toHaveLength(0);
  });
});

describe("per owner, when git sends the path", () => {
  it("GET /repos/{owner}/{repo}/installation, memoised: the next repository of the owner mints only", async () => {
    const gh = await github({ installations: [{ id: 5, account: "other" }, { id: 7, account: "acme" }] });
    const memo = new MapMemo();
    await mint(gh.url, REPO, { memo });
    expect(paths(gh)).toEqual(["GET /repos/acme/widgets/installation 200", "POST /app/installations/7/access_tokens 201"]);
    expect(memo.data.get("owner:acme")).toBe("7");
    gh.requests.length = 0;
    await mint(gh.url, { ...REPO, owner: "ACME", repositories: ["gadgets"] }, { memo });
    expect(paths(gh)).toEqual(["POST /app/installations/7/access_tokens 201"]);
  });

  it("the repository is not in the installation: falls back to /orgs, then /users", async () => {
    const gh = await github({ installations: [{ id: 9, account: "alice", type: "User", repositories: ["dotfiles"] }] });
    const err = await mintError(gh.url, { ...REPO, owner: "alice", repositories: ["notes"] });
    expect(paths(gh)).toEqual([
      "GET /repos/alice/notes/installation 404",
      "GET /orgs/alice/installation 404",
      "GET /users/alice/installation 200",
      "POST /app/installations/9/access_tokens 422",
    ]);
    expect(err.what).toMatch(/^GitHub refused a token for alice\/notes \(HTTP 422/);
  });

  it("an owner without a repository (token --repo forms): /orgs, then /users", async () => {
    const gh = await github({ installations: [{ id: 3, account: "bob", type: "User" }] });
    await mint(gh.url, { host: "github.com", owner: "bob", repositories: [] });
    expect(paths(gh)).toEqual(["GET /orgs/bob/installation 404", "GET /users/bob/installation 200", "POST /app/installations/3/access_tokens 201"]);
  });

  it("not installed on the owner at all: not-found after the three look-ups", async () => {
    const gh = await github({ installations: [{ id: 1, account: "someone-else" }] });
    const err = await mintError(gh.url, REPO, { memo: new MapMemo() });
    expect(err.code).toBe("not-found");
    expect(err.what).toBe("the GitHub App is not installed on acme/widgets (HTTP 404)");
    expect(gh.requests).toHaveLength(3);
  });

  it("a memoised installation GitHub no longer knows: looked up again, once, and the memo updated", async () => {
    const gh = await github({ installations: [{ id: 8, account: "acme" }] });
    const memo = new MapMemo();
    memo.set("owner:acme", "123");
    await mint(gh.url, REPO, { memo });
    expect(paths(gh)).toEqual([
      "POST /app/installations/123/access_tokens 404",
      "GET /repos/acme/widgets/installation 200",
      "POST /app/installations/8/access_tokens 201",
    ]);
    expect(memo.data.get("owner:acme")).toBe("8");
  });
});

describe("without a path", () => {
  it("the app's only installation, memoised", async () => {
    const gh = await github({ installations: [{ id: 11, account: "acme" }] });
    const memo = new MapMemo();
    await mint(gh.url, ORG_WIDE, { memo });
    expect(paths(gh)).toEqual(["GET /app/installations 200", "POST /app/installations/11/access_tokens 201"]);
    gh.requests.length = 0;
    await mint(gh.url, ORG_WIDE, { memo });
    expect(paths(gh)).toEqual(["POST /app/installations/11/access_tokens 201"]);
  });

  it("several installations: bad-setting naming them, GITHUB_INSTALLATION_ID and useHttpPath", async () => {
    const gh = await github({ installations: [{ id: 1, account: "acme" }, { id: 2, account: "globex" }] });
    const err = await mintError(gh.url, ORG_WIDE);
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe("the GitHub App has 2 installations (acme, globex) and git sent no repository path to choose one");
    expect(err.hint).toBe("set GITHUB_INSTALLATION_ID, or run `git config --global credential.useHttpPath true` so git sends the repository");
    expect(gh.mints).toBe(0);
  });

  it("no installation: not-found, saying to install the app", async () => {
    const gh = await github({ installations: [] });
    const err = await mintError(gh.url, ORG_WIDE);
    expect(err.code).toBe("not-found");
    expect(err.what).toMatch(/^the GitHub App \(app \d+\) is not installed anywhere \(HTTP 200/);
    expect(err.hint).toMatch(/^install it/);
  });
});
