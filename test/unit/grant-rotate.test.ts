/**
 * Issue 15, items 5, 7 and 10, in process: a presented grant's rotation never replaces a held grant of
 * another lineage; a rotation to a new grant id keeps the grant's lineage (cache key, lock, which grant
 * answers); a grant is redeemed under its own lock and read again under it. Item 6's grant side: a
 * grant records the host it serves.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lockLooksHeld } from "../../src/cache/lock";
import { chooseSource, hostRefusal } from "../../src/choose-source";
import { Deadline } from "../../src/deadline";
import { checkGrant, grantIdentity, type Grant } from "../../src/grants/grant";
import { heldGrants } from "../../src/grants/held";
import { redeemLockPath, underGrantLock } from "../../src/grants/redeem-lock";
import { withRotation } from "../../src/grants/rotate";
import type { Scope } from "../../src/scope";
import type { Network } from "../../src/serve-context";
import { serveToken } from "../../src/serve-token";
import { resolveSettings } from "../../src/settings";
import { fakeIo, type FakeIo } from "./fake-io";

const ENDPOINT = "https://mcp.example/repo-grant/token";
const HELD = "ghr_Held1.HeldSecretHeldSecret";
const OTHER = "ghr_Other2.OtherSecretOther";
const NEXT = "ghr_Next3.NextSecretNextSecret";
const WIDGETS: Scope = { host: "github.com", owner: "acme", repositories: ["widgets"] };

function grant(refreshToken: string, more: Partial<Grant> = {}, origin = "grants file"): Grant {
  return { repository: "acme/widgets", refreshToken: { value: refreshToken, origin }, tokenEndpoint: ENDPOINT, ...more };
}

let io: FakeIo;
afterEach(async () => io?.cleanup());

async function machine(env: Record<string, string>, grants: Array<Record<string, string>>): Promise<string> {
  io = await fakeIo(env);
  const path = join(io.homedir, ".vers", "grants.json");
  await mkdir(join(io.homedir, ".vers"), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify({ grants }), { mode: 0o600 });
  return path;
}

const stored = (refreshToken: string, more: Record<string, string> = {}) => ({ repository: "acme/widgets", refresh_token: refreshToken, token_endpoint: ENDPOINT, ...more });

describe("withRotation: what a rotation replaces (item 5)", () => {
  it("the held grant itself (same id) is replaced in its place", () => {
    const next = withRotation([grant("ghr_A.aaaaaaaaaaaa", { repository: "acme/a" }), grant(HELD)], grant(HELD), "ghr_Held1.RotatedRotated");
    expect(next.kept).toBe(true);
    expect(next.grants.map((g) => g.refreshToken.value)).toEqual(["ghr_A.aaaaaaaaaaaa", "ghr_Held1.RotatedRotated"]);
    expect(next.grants[1]!.lineage).toBeUndefined();
  });

  it("a rotation to a new id keeps the lineage, and the next rotation finds it by lineage", () => {
    const once = withRotation([grant(HELD)], grant(HELD), NEXT);
    expect(once.grants).toEqual([expect.objectContaining({ refreshToken: expect.objectContaining({ value: NEXT }), lineage: "ghr_Held1" })]);
    const twice = withRotation(once.grants, grant(HELD), "ghr_Fourth4.FourthFourth");
    expect(twice.grants).toHaveLength(1);
    expect(twice.grants[0]).toMatchObject({ refreshToken: { value: "ghr_Fourth4.FourthFourth" }, lineage: "ghr_Held1" });
  });

  it("a presented grant with another id never replaces the held grant for its repository", () => {
    const held = [grant(HELD)];
    const next = withRotation(held, grant(OTHER, {}, "git's oauth_refresh_token"), "ghr_Other2.RotatedRotated");
    expect(next).toEqual({ grants: held, kept: false });
  });

  it("a presented grant for a repository held by nobody is kept", () => {
    const next = withRotation([grant(HELD)], grant(OTHER, { repository: "acme/gadgets" }, "git's oauth_refresh_token"), "ghr_Other2.RotatedRotated");
    expect(next.kept).toBe(true);
    expect(next.grants.map((g) => g.refreshToken.value)).toEqual([HELD, "ghr_Other2.RotatedRotated"]);
  });
});

describe("a presented grant rotated through serveToken (item 5)", () => {
  it("the grants file still holds the machine's own grant, and one warning says the presented one was not saved", async () => {
    const path = await machine({}, [stored(HELD)]);
    const network: Network = {
      async mintFrom(source, _scope, ctx) {
        expect(source).toMatchObject({ kind: "grant", grant: { refreshToken: { value: OTHER } } });
        await ctx.onRotated!("ghr_Other2.RotatedRotated");
        return { token: "ghs_presented01", expiresAt: io.now() + 3600_000 };
      },
    };
    const served = await serveToken({ io, settings: resolveSettings({}, io.env), trace: () => {}, network: async () => network }, WIDGETS, OTHER);
    expect(served.token).toBe("ghs_presented01");
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ grants: [stored(HELD)] });
    expect(io.err).toMatch(/^git-credential-vers: the grant service rotated the grant ghr_Other2 for acme\/widgets, which git presented; it was not saved/);
    expect(io.err).not.toContain("RotatedRotated");
  });
});

describe("a rotated grant supersedes its predecessor everywhere (item 10)", () => {
  it("the environment's grant gives way to the file's rotation of it (same lineage, new id)", async () => {
    await machine({ VERS_REFRESH_TOKEN: HELD, VERS_TOKEN_ENDPOINT: ENDPOINT, VERS_GRANT_REPOSITORY: "acme/widgets" }, [stored(NEXT, { lineage: "ghr_Held1" })]);
    const held = heldGrants(io);
    expect(held.grants.map((g) => g.refreshToken.value)).toEqual([NEXT]);
    const source = chooseSource(resolveSettings({}, io.env), io, { scope: WIDGETS });
    expect(source).toMatchObject({ kind: "grant", grant: { refreshToken: { value: NEXT } } });
  });

  it("another lineage in the environment still wins, as settings do", async () => {
    await machine({ VERS_REFRESH_TOKEN: OTHER, VERS_TOKEN_ENDPOINT: ENDPOINT, VERS_GRANT_REPOSITORY: "acme/widgets" }, [stored(NEXT, { lineage: "ghr_Held1" })]);
    expect(heldGrants(io).grants.map((g) => g.refreshToken.value)).toEqual([OTHER]);
  });

  it("the cache key follows the lineage, not the grant id of the moment", () => {
    expect(grantIdentity(grant(NEXT, { lineage: "ghr_Held1" }))).toBe(grantIdentity(grant(HELD)));
    expect(grantIdentity(grant(OTHER))).not.toBe(grantIdentity(grant(HELD)));
  });

  it("a grant git presents under a retired id of a held grant is used as the held grant", async () => {
    await machine({}, [stored(NEXT, { lineage: "ghr_Held1" })]);
    const source = chooseSource(resolveSettings({}, io.env), io, { scope: WIDGETS, refreshToken: HELD });
    expect(source).toMatchObject({ kind: "grant", grant: { refreshToken: { value: NEXT, origin: "~/.vers/grants.json" } } });
  });
});

describe("the grant's own lock (item 7)", () => {
  it("lives beside the grants file and follows the lineage", async () => {
    await machine({ XDG_CACHE_HOME: "/elsewhere" }, []);
    const path = redeemLockPath(io, grant(HELD))!;
    expect(path.startsWith(join(io.homedir, ".vers", "grants.json.redeem-"))).toBe(true);
    expect(redeemLockPath(io, grant(NEXT, { lineage: "ghr_Held1" }))).toBe(path);
    expect(redeemLockPath(io, grant(OTHER))).not.toBe(path);
  });

  it("a second redemption waits for the first, then reads the grant again and redeems the rotated one", async () => {
    const path = await machine({}, [stored(HELD)]);
    const deadline = Deadline.in(15_000, io.now);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const redeemed: string[] = [];
    const first = underGrantLock(io, () => {}, grant(HELD), deadline, async (current) => {
      redeemed.push(current.refreshToken.value);
      entered();
      expect(lockLooksHeld(redeemLockPath(io, current)!, Date.now())).toBe(true);
      await gate;
      await writeFile(path, JSON.stringify({ grants: [stored(NEXT, { lineage: "ghr_Held1" })] }), { mode: 0o600 });
    });
    await inside;
    // The second one, with the grant as read before the first rotated it; it finds the lock busy.
    const sleep = io.sleep;
    let waited = 0;
    io.sleep = async (ms) => {
      waited++;
      release();
      await sleep(ms);
    };
    const second = underGrantLock(io, () => {}, grant(HELD), deadline, async (current) => {
      redeemed.push(current.refreshToken.value);
    });
    await Promise.all([first, second]);
    expect(waited).toBeGreaterThan(0);
    expect(redeemed).toEqual([HELD, NEXT]);
  });
});

describe("a grant's host (item 6)", () => {
  it("is checked like configured hosts, normalized, and stored", () => {
    expect(checkGrant({ repository: "acme/w", refreshToken: HELD, tokenEndpoint: ENDPOINT, host: "GHE.example.com:443" }, "x")).toMatchObject({ host: "ghe.example.com" });
    expect(checkGrant({ repository: "acme/w", refreshToken: HELD, tokenEndpoint: ENDPOINT, host: "evil host/" }, "x")).toMatch(/its host "evil host\/" is not a host name/);
    expect(checkGrant({ repository: "acme/w", refreshToken: HELD, tokenEndpoint: ENDPOINT, host: 42 }, "x")).toMatch(/is not a host name/);
  });

  it("with two hosts, a path picks the repository's grant for the request's host; a grant for the other host is refused by the host check", async () => {
    await machine({ VERS_GITHUB_HOST: "github.com,ghe.example.com" }, [stored(HELD), stored(OTHER, { host: "ghe.example.com" })]);
    const settings = resolveSettings({}, io.env);
    const onGhe = chooseSource(settings, io, { scope: { ...WIDGETS, host: "ghe.example.com" } });
    expect(onGhe).toMatchObject({ grant: { refreshToken: { value: OTHER } } });
    expect(hostRefusal(onGhe, "ghe.example.com", settings.hosts)).toBeUndefined();
    const onGitHub = chooseSource(settings, io, { scope: WIDGETS });
    expect(onGitHub).toMatchObject({ grant: { refreshToken: { value: HELD } } });
    expect(hostRefusal(onGitHub, "ghe.example.com", settings.hosts)?.message).toMatch(/^the grant ghr_Held1 for acme\/widgets serves github\.com, not ghe\.example\.com/);
  });

  it("one grant with no host and two hosts configured: a request for the second gets the host check's line", async () => {
    await machine({ VERS_GITHUB_HOST: "github.com,ghe.example.com" }, [stored(HELD)]);
    const settings = resolveSettings({}, io.env);
    const source = chooseSource(settings, io, { scope: { host: "ghe.example.com", repositories: [] } });
    expect(hostRefusal(source, "ghe.example.com", settings.hosts)?.message).toMatch(/serves github\.com, not ghe\.example\.com/);
  });
});
