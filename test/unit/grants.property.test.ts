/**
 * Issue 15, property test for the grants file and presented grants: random grants files (valid,
 * malformed, duplicate repositories, other ids, hosts, lineages), configured hosts, requests and git's
 * oauth_refresh_token. The choice is deterministic; a grant that answers serves only its repository and
 * its host; a presented grant's rotation never overwrites a held grant of another id; errors are
 * HelperErrors that never hold a secret.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseSource, hostRefusal, type SourceConfig } from "../../src/choose-source";
import { isHelperError } from "../../src/errors";
import { grantHost, grantIdOf, grantLineage, PRESENTED_ORIGIN, sameLineage, sameRepository, type Grant } from "../../src/grants/grant";
import { heldGrants } from "../../src/grants/held";
import { withRotation } from "../../src/grants/rotate";
import type { Scope } from "../../src/scope";
import { resolveSettings } from "../../src/settings";
import { fakeIo, type FakeIo } from "./fake-io";

const ENDPOINT = "https://mcp.example/repo-grant/token";
const IDS = ["ghr_A", "ghr_B", "ghr_C", "ghr_D"];
const REPOS = ["acme/a", "acme/b", "Acme/A", "other/x"];
const secret = fc.stringMatching(/^[A-Za-z0-9]{8,16}$/);
const refreshToken = fc.tuple(fc.constantFrom(...IDS), secret).map(([id, s]) => `${id}.${s}`);

const validEntry = fc.record(
  {
    repository: fc.constantFrom(...REPOS),
    refresh_token: refreshToken,
    token_endpoint: fc.constantFrom(ENDPOINT, "https://other.example/token"),
    host: fc.constantFrom("github.com", "ghe.example.com", "GHE.example.com:443"),
    lineage: fc.constantFrom(...IDS),
  },
  { requiredKeys: ["repository", "refresh_token", "token_endpoint"] },
);
const badEntry = fc.oneof(
  fc.constant(null),
  fc.constant("ghr_A.secretsecret"),
  fc.record({ repository: fc.constantFrom("acme", "../x", ""), refresh_token: refreshToken, token_endpoint: fc.constant(ENDPOINT) }),
  fc.record({ repository: fc.constant("acme/a"), refresh_token: fc.constantFrom("ghr_nodot", "gho_x.y", ""), token_endpoint: fc.constant(ENDPOINT) }),
  fc.record({ repository: fc.constant("acme/a"), refresh_token: refreshToken, token_endpoint: fc.constant(ENDPOINT), host: fc.constantFrom("bad host", "x/y", 7) }),
  fc.record({ repository: fc.constant("acme/a"), refresh_token: refreshToken, token_endpoint: fc.constant(ENDPOINT), lineage: fc.constantFrom("nope", 3) }),
);
const fileText = fc.oneof(
  { weight: 6, arbitrary: fc.array(validEntry, { maxLength: 4 }).map((grants) => JSON.stringify({ grants })) },
  { weight: 2, arbitrary: fc.tuple(fc.array(validEntry, { maxLength: 2 }), badEntry).map(([g, b]) => JSON.stringify({ grants: [...g, b] })) },
  { weight: 1, arbitrary: fc.constantFrom("", "{", "[]", '{"grants":{}}', "null") },
);
const hosts = fc.constantFrom<string[]>(["github.com"], ["ghe.example.com"], ["github.com", "ghe.example.com"], ["ghe.example.com", "github.com"]);
const envGrant = fc.option(fc.record({ VERS_REFRESH_TOKEN: refreshToken, VERS_TOKEN_ENDPOINT: fc.constant(ENDPOINT), VERS_GRANT_REPOSITORY: fc.constantFrom(...REPOS) }), { nil: undefined });

let io: FakeIo;
beforeAll(async () => {
  io = await fakeIo({});
  mkdirSync(join(io.homedir, ".vers"), { recursive: true, mode: 0o700 });
});
afterAll(async () => io?.cleanup());

type Outcome = { grant: Grant } | { error: string };

function choose(configured: readonly string[], scope: Scope, presented: string | undefined): { outcome: Outcome; source?: SourceConfig } {
  const settings = resolveSettings({ source: "grant" }, io.env);
  try {
    const source = chooseSource(settings, io, { scope, refreshToken: presented });
    if (source.kind !== "grant") throw new Error(`chose ${source.kind}`);
    const refusal = hostRefusal(source, scope.host, configured);
    return refusal ? { outcome: { error: refusal.message } } : { outcome: { grant: source.grant }, source };
  } catch (err) {
    if (!isHelperError(err)) throw err;
    return { outcome: { error: err.message } };
  }
}

describe("the grants file and presented grants", () => {
  it("choice is deterministic; a grant serves only its repository and host; presented rotations never overwrite another held id", () => {
    fc.assert(
      fc.property(fileText, hosts, fc.nat(1), fc.option(fc.constantFrom(...REPOS), { nil: undefined }), fc.option(refreshToken, { nil: undefined }), envGrant, (text, configured, hostAt, path, presented, env) => {
        writeFileSync(join(io.homedir, ".vers", "grants.json"), text, { mode: 0o600 });
        io.env = { VERS_GITHUB_HOST: configured.join(","), ...env };
        const host = configured[hostAt % configured.length]!;
        const scope: Scope = path ? { host, owner: path.split("/")[0], repositories: [path.split("/")[1]!] } : { host, repositories: [] };
        const first = choose(configured, scope, presented);
        const again = choose(configured, scope, presented);
        expect(again.outcome).toEqual(first.outcome);
        if ("error" in first.outcome) {
          for (const value of [presented, env?.VERS_REFRESH_TOKEN, ...text.split('"')].filter((v): v is string => !!v && /^ghr_\w+\./.test(v))) {
            expect(first.outcome.error).not.toContain(value.split(".")[1]);
          }
          return;
        }
        const grant = first.outcome.grant;
        // Its repository only, its host only.
        if (path) expect(sameRepository(grant.repository, path)).toBe(true);
        // The oracle, written out: the host the grant records, else the one configured host, else github.com.
        expect(grant.host ?? (configured.length === 1 ? configured[0] : "github.com")).toBe(host);
        // Without a path and no grant presented, a grant held here answers only when it is the one grant held for that host.
        const held = heldGrants(io).grants;
        if (!path && presented === undefined) {
          expect(held.filter((g) => grantHost(g, configured) === host).length === 1 || held.length === 1).toBe(true);
        }
        // The rotation of what answered never replaces a held grant of another lineage and id, when it was presented.
        const rotated = withRotation(held, grant, `${grantIdOf(grant.refreshToken.value)}.Rotated0Rotated`);
        const others = held.filter((g) => !sameLineage(g, grant) && grantIdOf(g.refreshToken.value) !== grantIdOf(grant.refreshToken.value));
        if (grant.refreshToken.origin === PRESENTED_ORIGIN) {
          for (const g of others) expect(rotated.grants).toContainEqual(g);
        }
        // A rotation keeps the lineage of what it rotated.
        const kept = rotated.grants.find((g) => g.refreshToken.value.endsWith(".Rotated0Rotated"));
        if (kept) expect(grantLineage(kept)).toBe(grantLineage(held.find((g) => sameLineage(g, grant)) ?? grant));
      }),
      { numRuns: 300 },
    );
  });
});
