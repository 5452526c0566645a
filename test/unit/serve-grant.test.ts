/**
 * The serve/miss path with a grant source, in process (as serve-token.test.ts): a rotated grant is saved
 * while the entry's lock is still held, an invalid grant is noted so the next get fails at once, and the
 * token is cached under the grant's repository.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { scopeKey } from "../../src/cache/key";
import { lockLooksHeld } from "../../src/cache/lock";
import { CacheStore } from "../../src/cache/store";
import { HelperError } from "../../src/errors";
import type { Scope } from "../../src/scope";
import type { Network } from "../../src/serve-context";
import { serveToken } from "../../src/serve-token";
import { resolveSettings } from "../../src/settings";
import type { MintContext } from "../../src/sources/types";
import { fakeIo, type FakeIo } from "./fake-io";

const ENDPOINT = "https://mcp.example/repo-grant/token";
const OLD = "ghr_Grant1.OldSecretOldSecret";
const NEW = "ghr_Grant1.NewSecretNewSecret";
const ASKED: Scope = { host: "github.com", repositories: [] };
const GRANTED: Scope = { host: "github.com", owner: "acme", repositories: ["widgets"] };

let io: FakeIo;
afterEach(async () => io?.cleanup());

async function machineWithGrant(): Promise<{ store: CacheStore; key: string; grantsPath: string }> {
  io = await fakeIo({});
  const grantsPath = join(io.homedir, ".vers", "grants.json");
  await mkdir(join(io.homedir, ".vers"), { recursive: true, mode: 0o700 });
  await writeFile(grantsPath, JSON.stringify({ grants: [{ repository: "acme/widgets", refresh_token: OLD, token_endpoint: ENDPOINT }] }), { mode: 0o600 });
  const store = new CacheStore(io.cacheDir, io.uid);
  return { store, key: scopeKey(`grant ${ENDPOINT} ghr_Grant1`, GRANTED), grantsPath };
}

function serve(network: Network, refreshToken?: string) {
  return serveToken({ io, settings: resolveSettings({}, io.env), trace: () => {}, network: async () => network }, ASKED, refreshToken);
}

describe("serveToken with a grant", () => {
  it("saves a rotated grant while it still holds the entry's lock, and caches the token under the grant's repository", async () => {
    const { store, key, grantsPath } = await machineWithGrant();
    let heldWhileSaving: boolean | undefined;
    const network: Network = {
      async mintFrom(source, scope, ctx: MintContext) {
        expect(source).toMatchObject({ kind: "grant", grant: { refreshToken: { value: OLD } } });
        expect(scope).toEqual(GRANTED);
        await ctx.onRotated!(NEW);
        heldWhileSaving = lockLooksHeld(store.entryPath(key), io.now());
        return { token: "ghs_fromGrant01", expiresAt: io.now() + 3600_000 };
      },
    };
    expect((await serve(network)).token).toBe("ghs_fromGrant01");
    expect(heldWhileSaving).toBe(true);
    expect(JSON.parse(await readFile(grantsPath, "utf8"))).toEqual({ grants: [{ repository: "acme/widgets", refresh_token: NEW, token_endpoint: ENDPOINT }] });
    expect(store.read(key)).toMatchObject({ token: "ghs_fromGrant01", owner: "acme", repositories: ["widgets"], source: "grant" });
    expect(io.err).toBe("");
  });

  it("an invalid grant is noted: the next get within 10 s fails at once with the same line, asking nobody", async () => {
    await machineWithGrant();
    let mints = 0;
    const network: Network = {
      async mintFrom() {
        mints++;
        throw new HelperError("invalid-grant", "the grant for acme/widgets (ghr_Grant1) is no longer valid (HTTP 400 invalid_grant)", "ask for a new grant", 400);
      },
    };
    const first = await serve(network).catch((err: Error) => err.message);
    io.advance(5000);
    const second = await serve(network).catch((err: Error) => err.message);
    expect(second).toBe(first);
    expect(first).toMatch(/is no longer valid/);
    expect(mints).toBe(1);
    io.advance(6000);
    await serve(network).catch(() => undefined);
    expect(mints).toBe(2);
  });

  it("a rotated grant that cannot be saved: the token is served, with one warning line that the old grant is gone", async () => {
    const { grantsPath } = await machineWithGrant();
    const network: Network = {
      async mintFrom(_source, _scope, ctx) {
        await writeFile(grantsPath, "{", { mode: 0o600 });
        await ctx.onRotated!(NEW);
        return { token: "ghs_fromGrant02", expiresAt: io.now() + 3600_000 };
      },
    };
    expect((await serve(network)).token).toBe("ghs_fromGrant02");
    expect(io.err).toMatch(/^git-credential-vers: the grant service rotated the grant ghr_Grant1 for acme\/widgets, but the new grant could not be saved: .*is not JSON \(the old grant no longer works; ask for a new grant and pipe it to git-credential-vers grant add\)\n$/);
    expect(io.err).not.toContain("NewSecret");
  });
});
