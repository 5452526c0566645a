/**
 * The grant source against a scripted transport and a fake clock: what it sends, how it judges each
 * answer (final, transient, invalid), Retry-After, and a rotated grant handed over before anything else.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Deadline } from "../../src/deadline";
import { HelperError } from "../../src/errors";
import type { Grant } from "../../src/grants/grant";
import { grantSource } from "../../src/sources/grant";
import { TransportError, type HttpAnswer, type HttpRequest, type Transport } from "../../src/sources/http";
import type { MintContext } from "../../src/sources/types";

const START = Date.UTC(2030, 0, 1, 12, 0, 0);
const SECRET = "s3cretS3cretS3cretS3cret";
const GRANT: Grant = {
  repository: "acme/widgets",
  refreshToken: { value: `ghr_grant1.${SECRET}`, origin: "~/.vers/grants.json" },
  tokenEndpoint: "https://grants.example/repo-grant/token",
  clientId: "Iv23liClient",
};
const SCOPE = { host: "github.com", owner: "acme", repositories: ["widgets"] };

type Script = Array<Partial<HttpAnswer> | TransportError>;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});
afterEach(() => vi.useRealTimers());

const ok = (fields: Record<string, unknown> = {}): Partial<HttpAnswer> => ({ status: 200, text: JSON.stringify({ access_token: "ghs_granted", token_type: "Bearer", expires_in: 3600, ...fields }) });
const oauth = (status: number, error: string, description = "said the service", headers = {}): Partial<HttpAnswer> => ({ status, text: JSON.stringify({ error, error_description: description }), headers });

/** Mints against the script (its last entry repeats), recording each request and when it was sent. */
function mint(script: Script, opts: { grant?: Grant; maxAttempts?: number; onRotated?: MintContext["onRotated"]; timeoutMs?: number } = {}) {
  const sent: Array<HttpRequest & { at: number }> = [];
  const http: Transport = {
    send: async (req) => {
      const next = script[Math.min(sent.length, script.length - 1)]!;
      sent.push({ ...req, at: Date.now() - START });
      if (next instanceof TransportError) throw next;
      return { status: 200, headers: {}, text: "", ms: 1, ...next };
    },
    fetch: () => Promise.reject(new Error("not used")),
    close: async () => undefined,
  };
  const ctx: MintContext = { deadline: Deadline.in(opts.timeoutMs ?? 15_000, Date.now), trace: () => {}, now: Date.now, env: {}, maxAttempts: opts.maxAttempts ?? 100, onRotated: opts.onRotated };
  const outcome = grantSource(opts.grant ?? GRANT, http).mint(SCOPE, ctx).then(
    (value) => ({ value, error: undefined, at: Date.now() - START }),
    (error: unknown) => ({ value: undefined, error: error as HelperError, at: Date.now() - START }),
  );
  return { sent, settle: async () => (await vi.advanceTimersByTimeAsync(60_000), outcome) };
}

describe("redeeming", () => {
  it("POSTs the form with client_id and no Authorization header; expiry counts from the send", async () => {
    const { sent, settle } = mint([ok()]);
    const { value } = await settle();
    expect(value).toEqual({ token: "ghs_granted", expiresAt: START + 3600_000, repositories: ["widgets"] });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ url: GRANT.tokenEndpoint, method: "POST", body: `grant_type=refresh_token&refresh_token=ghr_grant1.${SECRET}&client_id=Iv23liClient` });
    expect(sent[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.keys(sent[0]!.headers).map((h) => h.toLowerCase())).not.toContain("authorization");
  });

  it("leaves client_id out when it is not known", async () => {
    const { sent, settle } = mint([ok()], { grant: { ...GRANT, clientId: undefined } });
    await settle();
    expect(sent[0]!.body).toBe(`grant_type=refresh_token&refresh_token=ghr_grant1.${SECRET}`);
  });
});

describe("final answers: one request, no retry, never the secret", () => {
  it.each([
    ["invalid_grant", oauth(400, "invalid_grant", "The refresh token is invalid (revoked)."), "invalid-grant", /^the grant for acme\/widgets \(ghr_grant1\) is no longer valid \(HTTP 400 invalid_grant: The refresh token is invalid \(revoked\)\.\) \(it was revoked or has expired: ask the service that issued it for a new grant and pipe it to git-credential-vers grant add\)$/],
    ["invalid_request", oauth(400, "invalid_request", "refresh_token is\nrequired"), "invalid-request", /^the grant service refused the grant ghr_grant1 for acme\/widgets \(HTTP 400 invalid_request: refresh_token is required\)/],
    ["invalid_client", oauth(401, "invalid_client", "unknown client_id"), "unauthorized", /HTTP 401 invalid_client: unknown client_id.*check the grant's token endpoint and client id/],
    ["unsupported_grant_type", oauth(400, "unsupported_grant_type"), "invalid-request", /HTTP 400 unsupported_grant_type/],
    ["404", { status: 404, text: "Not Found" }, "bad-answer", /^the grant service answered HTTP 404 \(check the grant's token endpoint https:\/\/grants\.example\/repo-grant\/token\)$/],
    ["a redirect", { status: 302, headers: { location: "https://elsewhere.example/token" } }, "bad-answer", /redirected to https:\/\/elsewhere\.example \(HTTP 302\); not followed/],
  ])("%s", async (_name, answer, code, message) => {
    const { sent, settle } = mint([answer, ok()]);
    const { error } = await settle();
    expect(error).toBeInstanceOf(HelperError);
    expect(error!.code).toBe(code);
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toContain(SECRET);
    expect(sent).toHaveLength(1);
  });

  it("a service quoting the grant back, at length: neither the grant nor its secret reaches the message, cut or whole", async () => {
    const quoted = `refresh_token ${GRANT.refreshToken.value} was revoked; padding ${"p".repeat(300)}; again ${SECRET.repeat(20)}`;
    const { settle } = mint([oauth(400, "invalid_grant", quoted)]);
    const { error } = await settle();
    expect(error!.code).toBe("invalid-grant");
    expect(error!.message).toContain(`…${SECRET.slice(-4)}`);
    expect(error!.message).not.toContain(SECRET.slice(0, 12));
  });

  it("invalid_grant for a grant from the environment says to set VERS_REFRESH_TOKEN", async () => {
    const { settle } = mint([oauth(400, "invalid_grant")], { grant: { ...GRANT, refreshToken: { ...GRANT.refreshToken, origin: "env VERS_REFRESH_TOKEN" } } });
    expect((await settle()).error!.hint).toMatch(/and set VERS_REFRESH_TOKEN$/);
  });
});

describe("transient answers", () => {
  it.each([
    ["503 temporarily_unavailable", oauth(503, "temporarily_unavailable")],
    ["500", { status: 500, text: "oops" }],
    ["a reset connection", new TransportError("reset", "ECONNRESET")],
  ])("%s is retried", async (_name, failure) => {
    const { sent, settle } = mint([failure, failure, ok()]);
    expect((await settle()).value?.token).toBe("ghs_granted");
    expect(sent).toHaveLength(3);
  });

  it("429 waits as Retry-After says, then retries", async () => {
    const { sent, settle } = mint([oauth(429, "temporarily_unavailable", "slow down", { "retry-after": "2" }), ok()]);
    expect((await settle()).value?.token).toBe("ghs_granted");
    expect(sent.map((s) => s.at)).toEqual([0, 2000]);
  });

  it("503 until the deadline: unavailable, naming the status and the tries", async () => {
    const { sent, settle } = mint([oauth(503, "temporarily_unavailable")], { timeoutMs: 3000 });
    const { error } = await settle();
    expect(error!.code).toBe("unavailable");
    expect(error!.what).toBe(`the grant service is unavailable (HTTP 503 after ${sent.length} tries)`);
  });

  it("with a token in hand (one attempt), a 503 fails at once", async () => {
    const { sent, settle } = mint([oauth(503, "temporarily_unavailable"), ok()], { maxAttempts: 1 });
    expect((await settle()).error!.code).toBe("unavailable");
    expect(sent).toHaveLength(1);
  });
});

describe("invalid answers", () => {
  it("an answer for another repository is tried once more, then refused: that token is never served", async () => {
    const { sent, settle } = mint([ok({ scope: "repo:acme/gadgets" })]);
    const { error } = await settle();
    expect(error!.what).toBe("the grant service sent an invalid answer (HTTP 200: the token is for acme/gadgets, not acme/widgets)");
    expect(sent).toHaveLength(2);
  });
});

describe("rotation", () => {
  it("hands the new grant over, once, and waits until it is kept before serving", async () => {
    const kept: Array<[string, number]> = [];
    const keep = async (t: string) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      kept.push([t, Date.now() - START]);
    };
    const { settle } = mint([ok({ refresh_token: "ghr_grant1.n3wS3cretN3wS3cret" })], { onRotated: keep });
    const { value, at } = await settle();
    expect(value?.token).toBe("ghs_granted");
    expect(kept).toEqual([["ghr_grant1.n3wS3cretN3wS3cret", 100]]);
    expect(at).toBe(100);
  });

  it("keeps a grant rotated in an invalid answer, and redeems the new one on the next try", async () => {
    const rotated: string[] = [];
    const { sent, settle } = mint([ok({ refresh_token: "ghr_grant1.n3wS3cretN3wS3cret", expires_in: 0 }), ok()], { onRotated: async (t) => void rotated.push(t) });
    expect((await settle()).value?.token).toBe("ghs_granted");
    expect(rotated).toEqual(["ghr_grant1.n3wS3cretN3wS3cret"]);
    expect(sent[1]!.body).toContain("refresh_token=ghr_grant1.n3wS3cretN3wS3cret");
  });
});
