/** Which source, and which grant, a request gets: auto order, scope rules, env vs file, git's oauth_refresh_token. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chooseSource, sourceScope, type SourceConfig } from "../../src/choose-source";
import type { Scope } from "../../src/scope";
import { secretsIn } from "../../src/secrets";
import { resolveSettings } from "../../src/settings";
import { fakeIo, type FakeIo } from "./fake-io";

const ENDPOINT = "https://mcp.example/repo-grant/token";
const A = "ghr_GrantA.SecretOfGrantA01";
const B = "ghr_GrantB.SecretOfGrantB01";
const HOST = "github.com";
const pathScope = (repo: string): Scope => ({ host: HOST, owner: repo.split("/")[0], repositories: [repo.split("/")[1]!] });
const NO_PATH: Scope = { host: HOST, repositories: [] };
const ENV_GRANT = { VERS_REFRESH_TOKEN: B, VERS_TOKEN_ENDPOINT: ENDPOINT, VERS_GRANT_REPOSITORY: "acme/b" };

let io: FakeIo;
afterEach(async () => io?.cleanup());

async function machine(env: Record<string, string>, grants: Array<[string, string]> = []): Promise<FakeIo> {
  await io?.cleanup();
  io = await fakeIo(env);
  if (grants.length) {
    await mkdir(join(io.homedir, ".vers"), { recursive: true, mode: 0o700 });
    const list = grants.map(([repository, token]) => ({ repository, refresh_token: token, token_endpoint: ENDPOINT }));
    await writeFile(join(io.homedir, ".vers", "grants.json"), JSON.stringify({ grants: list }), { mode: 0o600 });
  }
  return io;
}

function choose(scope?: Scope, refreshToken?: string): SourceConfig {
  return chooseSource(resolveSettings({}, io.env), io, scope && { scope, refreshToken });
}

function chosenGrant(scope?: Scope, refreshToken?: string): string {
  const source = choose(scope, refreshToken);
  if (source.kind !== "grant") throw new Error(`chose ${source.kind}`);
  return `${source.grant.repository} ${source.grant.refreshToken.value} ${source.grant.refreshToken.origin}`;
}

describe("auto: the Vers key, then grants, then a GitHub App", () => {
  it.each([
    ["a key wins over grants", { VERS_API_KEY: "vers_key_0123456789" }, "broker"],
    ["grants win over a GitHub App", { GITHUB_APP_ID: "42" }, "grant"],
    ["--source grant ignores the key", { VERS_API_KEY: "vers_key_0123456789", VERS_TOKEN_SOURCE: "grant" }, "grant"],
    ["--source github-app ignores the grants", { GITHUB_APP_ID: "42", VERS_TOKEN_SOURCE: "github-app" }, "github-app"],
  ])("%s", async (_name, env, kind) => {
    await machine(env, [["acme/a", A]]);
    expect(choose(NO_PATH).kind).toBe(kind);
  });

  it("no grants held and nothing else: the error mentions grant add", async () => {
    await machine({});
    expect(() => choose(NO_PATH)).toThrow(/no Vers API key was found .*git-credential-vers grant add/);
  });
});

describe("a grant serves only its repository", () => {
  it("with a path: that repository's grant, whatever the case", async () => {
    await machine({}, [["acme/a", A], ["acme/b", B]]);
    expect(chosenGrant(pathScope("ACME/B"))).toBe(`acme/b ${B} ~/.vers/grants.json`);
  });

  it("with a path for another repository: no answer, naming the grants held", async () => {
    await machine({}, [["acme/a", A]]);
    expect(() => choose(pathScope("acme/other"))).toThrow(/^no refresh grant is held for acme\/other \(held: acme\/a\) \(a grant serves only its own repository/);
  });

  it("without a path: the one grant held; several or none is no answer, pointing at useHttpPath", async () => {
    await machine({}, [["acme/a", A]]);
    expect(chosenGrant(NO_PATH)).toBe(`acme/a ${A} ~/.vers/grants.json`);
    await machine({}, [["acme/a", A], ["acme/b", B]]);
    expect(() => choose(NO_PATH)).toThrow(/^2 refresh grants are held and git sent no repository path to choose one \(held: acme\/a, acme\/b\) \(set credential\.useHttpPath .*install --per-repo\)$/);
    await machine({ VERS_TOKEN_SOURCE: "grant" });
    expect(() => choose(NO_PATH)).toThrow(/^no refresh grant is held \(pipe one to git-credential-vers grant add/);
  });

  it("the cache key's identity holds the endpoint and grant id, never the secret; the scope narrows to the grant's repository", async () => {
    await machine({}, [["Acme/A", A]]);
    const source = choose(NO_PATH);
    expect(source).toMatchObject({ kind: "grant", identity: `grant ${ENDPOINT} ghr_GrantA` });
    expect(JSON.stringify(source.kind === "grant" && source.identity)).not.toContain("SecretOfGrantA01");
    expect(sourceScope(source, NO_PATH)).toEqual({ host: HOST, owner: "Acme", repositories: ["A"] });
  });

  it("a profile is refused: a grant cannot narrow its token's permissions", async () => {
    await machine({ VERS_GITHUB_PROFILE: "read" }, [["acme/a", A]]);
    expect(() => choose(NO_PATH)).toThrow(/a refresh grant cannot limit a token's permissions \(profile read\)/);
  });
});

describe("the grant in the environment", () => {
  it("is a grant like the file's", async () => {
    await machine(ENV_GRANT);
    expect(chosenGrant(NO_PATH)).toBe(`acme/b ${B} env VERS_REFRESH_TOKEN`);
  });

  it.each([
    ["VERS_GRANT_REPOSITORY", /VERS_REFRESH_TOKEN is set without VERS_GRANT_REPOSITORY/],
    ["VERS_TOKEN_ENDPOINT", /VERS_REFRESH_TOKEN is set without VERS_TOKEN_ENDPOINT/],
  ])("without %s: one clear error", async (name, message) => {
    await machine({ ...ENV_GRANT, [name]: "" });
    expect(() => choose(NO_PATH)).toThrow(message);
  });

  it("a malformed VERS_REFRESH_TOKEN is an error that does not repeat it", async () => {
    await machine({ ...ENV_GRANT, VERS_REFRESH_TOKEN: "ghr_x.bad$secretvalue" });
    expect(() => choose(NO_PATH)).toThrow(/the grant in VERS_REFRESH_TOKEN is not usable: its refresh token is not ghr_/);
    expect(() => choose(NO_PATH)).not.toThrow(/bad\$secretvalue/);
  });

  it("the file's copy wins for the same grant id (it was rotated); the environment wins for the same repository under another id", async () => {
    const rotated = "ghr_GrantB.RotatedSecret0001";
    await machine(ENV_GRANT, [["acme/b", rotated]]);
    expect(chosenGrant(NO_PATH)).toBe(`acme/b ${rotated} ~/.vers/grants.json`);
    await machine(ENV_GRANT, [["acme/b", A]]);
    expect(chosenGrant(NO_PATH)).toBe(`acme/b ${B} env VERS_REFRESH_TOKEN`);
  });

  it("its secret, alone or whole, is among the secrets hidden from errors and the trace", () => {
    expect(secretsIn(ENV_GRANT)).toEqual(expect.arrayContaining([B, "SecretOfGrantB01"]));
  });
});

describe("git's oauth_refresh_token", () => {
  const PRESENTED = "ghr_Presented.PresentedSecret01";

  it("is the grant for the request's repository, redeemed at VERS_TOKEN_ENDPOINT", async () => {
    await machine({ VERS_TOKEN_ENDPOINT: ENDPOINT });
    expect(chosenGrant(pathScope("acme/p"), PRESENTED)).toBe(`acme/p ${PRESENTED} git's oauth_refresh_token`);
  });

  it("a grant held under the same id is used as held (the held copy follows rotation)", async () => {
    await machine({}, [["acme/a", "ghr_Presented.RotatedSecret0001"]]);
    expect(chosenGrant(pathScope("acme/a"), PRESENTED)).toBe("acme/a ghr_Presented.RotatedSecret0001 ~/.vers/grants.json");
  });

  it.each([
    ["no path", NO_PATH, PRESENTED, { VERS_TOKEN_ENDPOINT: ENDPOINT }],
    ["no endpoint known", pathScope("acme/p"), PRESENTED, {}],
    ["GitHub's own refresh token", pathScope("acme/p"), "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9D", { VERS_TOKEN_ENDPOINT: ENDPOINT }],
  ])("is ignored with %s", async (_name, scope, token, env) => {
    await machine({ VERS_TOKEN_SOURCE: "grant", ...env });
    expect(() => choose(scope, token)).toThrow(/no refresh grant is held/);
  });

  it("a held grant with the same id for another repository is not used for this one", async () => {
    await machine({}, [["acme/a", PRESENTED]]);
    expect(() => choose(pathScope("acme/b"), PRESENTED)).toThrow(/no refresh grant is held for acme\/b/);
  });
});
