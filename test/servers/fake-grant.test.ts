import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { request } from "node:https";
import { readFile } from "node:fs/promises";
import {
  BAD_TOKEN, DEFAULT_CLIENT_ID, GRANT_PERMISSIONS, GRANT_REVOKE_PATH, GRANT_TOKEN_PATH, MAX_BODY_BYTES,
  startFakeGrantServer, type FakeGrantServer, type GrantMode, type IssuedGrant,
} from "./fake-grant";
import { startGitHost, type GitHost } from "./git-host";
import { TokenRegistry } from "./token-registry";

const FORM = "application/x-www-form-urlencoded";

interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope: string;
  refresh_token?: string;
  refresh_token_expires_in?: number;
}

interface OAuthError { error: string; error_description: string }

function post(url: string, body: string | Record<string, string>, contentType = FORM, headers: Record<string, string> = {}): Promise<Response> {
  const payload = typeof body === "string" ? body : new URLSearchParams(body).toString();
  return fetch(url, { method: "POST", headers: { ...headers, "Content-Type": contentType }, body: payload });
}

function redeem(server: FakeGrantServer, refreshToken: string, extra: Record<string, string> = {}): Promise<Response> {
  return post(server.tokenEndpoint, { grant_type: "refresh_token", refresh_token: refreshToken, ...extra });
}

function revoke(server: FakeGrantServer, token: string, extra: Record<string, string> = {}): Promise<Response> {
  return post(server.revokeEndpoint, { token, token_type_hint: "refresh_token", ...extra });
}

function secretOf(g: IssuedGrant): string {
  return g.refreshToken.slice(g.refreshToken.indexOf(".") + 1);
}

async function answerOf(res: Response): Promise<TokenAnswer> {
  expect(res.status).toBe(200);
  return (await res.json()) as TokenAnswer;
}

/** Status and OAuth error code, with the whole text checked never to hold `secret`. */
async function failureOf(res: Response, secret?: string): Promise<[number, string]> {
  const text = await res.text();
  if (secret !== undefined) expect(text).not.toContain(secret);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as OAuthError;
  expect(typeof body.error_description).toBe("string");
  return [res.status, body.error];
}

describe("fake grant server", () => {
  let server: FakeGrantServer;

  beforeAll(async () => {
    server = await startFakeGrantServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("listens on loopback with the two endpoints", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.tokenEndpoint).toBe(`${server.url}${GRANT_TOKEN_PATH}`);
    expect(server.revokeEndpoint).toBe(`${server.url}${GRANT_REVOKE_PATH}`);
    expect(server.clientId).toBe(DEFAULT_CLIENT_ID);
  });

  it("issues a grant for one repository, with one token registered for that repository only", () => {
    const redemptions = server.redemptions;
    const g = server.issue("acme/widget");
    expect(g.repository).toBe("acme/widget");
    expect(g.grantId).toMatch(/^[A-Za-z0-9]+$/);
    expect(g.refreshToken.startsWith(`ghr_${g.grantId}.`)).toBe(true);
    expect(secretOf(g)).toMatch(/^[A-Za-z0-9]{32,}$/);
    expect(g.grantId).not.toContain(secretOf(g));
    expect(g.serviceJson).toMatchObject({
      refreshToken: g.refreshToken,
      tokenEndpoint: server.tokenEndpoint,
      clientId: server.clientId,
      expiresIn: 3600,
      tokenType: "bearer",
      repository: { full_name: "acme/widget" },
    });
    expect(g.serviceJson.repository.id).toBeGreaterThan(0);
    expect(g.serviceJson.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(g.serviceJson.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(g.serviceJson.refreshTokenExpiresAt)).toBeGreaterThan(Date.parse(g.serviceJson.expiresAt));
    expect(server.registry.lookup(g.serviceJson.token)).toEqual({
      token: g.serviceJson.token,
      expiresAt: Date.parse(g.serviceJson.expiresAt),
      repositories: ["widget"],
      permissions: { contents: "write", metadata: "read" },
    });
    expect(server.isLive(g.refreshToken)).toBe(true);
    expect(server.redemptions).toBe(redemptions);
  });

  it("issues a fresh grant id and secret every time, takes a bare name as the org's, and refuses a bad name", () => {
    const a = server.issue("acme/widget");
    const b = server.issue("widget");
    expect(b.repository).toBe("acme/widget");
    expect(b.grantId).not.toBe(a.grantId);
    expect(secretOf(b)).not.toBe(secretOf(a));
    expect(b.serviceJson.repository.id).toBe(a.serviceJson.repository.id);
    for (const bad of ["", "a/b/c", "acme/", "acme/.."]) expect(() => server.issue(bad)).toThrow(/not a repository/);
  });

  it("redeems a grant for a ghs_ token registered for that repository only, with the lifetime as expiry", async () => {
    const g = server.issue("acme/widget");
    const before = server.redemptions;
    const sentAt = Date.now();
    const answer = await answerOf(await redeem(server, g.refreshToken));
    const receivedAt = Date.now();
    expect(answer).toEqual({
      access_token: answer.access_token,
      token_type: "Bearer",
      expires_in: 3600,
      scope: "github-app-installation:4242 repo:acme/widget",
    });
    expect(answer.access_token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(answer.access_token).not.toBe(g.serviceJson.token);
    const minted = server.registry.lookup(answer.access_token);
    expect(minted).toMatchObject({ repositories: ["widget"], permissions: { ...GRANT_PERMISSIONS } });
    expect(minted?.permissions).toEqual({ contents: "write", metadata: "read" });
    expect(minted?.expiresAt).toBeGreaterThan(sentAt + 3600_000 - 1000);
    expect(minted?.expiresAt).toBeLessThanOrEqual(receivedAt + 3600_000);
    expect(server.redemptions).toBe(before + 1);
    // Without rotation the same grant keeps working.
    expect(server.isLive(g.refreshToken)).toBe(true);
    const again = await answerOf(await redeem(server, g.refreshToken));
    expect(again.access_token).not.toBe(answer.access_token);
    expect(server.redemptions).toBe(before + 2);
  });

  it("sets the lifetime of later tokens", async () => {
    server.setLifetime(120);
    try {
      const g = server.issue("acme/short");
      expect(g.serviceJson.expiresIn).toBe(120);
      const sentAt = Date.now();
      const answer = await answerOf(await redeem(server, g.refreshToken));
      const receivedAt = Date.now();
      expect(answer.expires_in).toBe(120);
      const expiresAt = server.registry.lookup(answer.access_token)?.expiresAt ?? 0;
      expect(expiresAt).toBeGreaterThan(sentAt + 120_000 - 1000);
      expect(expiresAt).toBeLessThanOrEqual(receivedAt + 120_000);
    } finally {
      server.setLifetime(3600);
    }
  });

  it.each([
    ["a wrong secret", (g: IssuedGrant) => `ghr_${g.grantId}.${"x".repeat(40)}`],
    ["an unknown grant id", (g: IssuedGrant) => `ghr_${"Z".repeat(20)}.${secretOf(g)}`],
    ["the secret without the grant id", (g: IssuedGrant) => `ghr_.${secretOf(g)}`],
    ["a value without the ghr_ prefix", (g: IssuedGrant) => g.refreshToken.slice(4)],
    ["a value with a trailing newline", (g: IssuedGrant) => `${g.refreshToken}\n`],
    ["the issued ghs_ token", (g: IssuedGrant) => g.serviceJson.token],
  ])("refuses %s with 400 invalid_grant, minting nothing", async (_what, present) => {
    const g = server.issue("acme/widget");
    const size = server.registry.size;
    const redemptions = server.redemptions;
    expect(server.isLive(present(g))).toBe(false);
    expect(await failureOf(await redeem(server, present(g)), secretOf(g))).toEqual([400, "invalid_grant"]);
    expect(server.registry.size).toBe(size);
    expect(server.redemptions).toBe(redemptions);
    expect((await redeem(server, g.refreshToken)).status).toBe(200);
  });

  it("refuses a revoked grant with 400 invalid_grant", async () => {
    const g = server.issue("acme/widget");
    expect(server.revoke(g.refreshToken)).toBe(true);
    expect(server.revoke(g.refreshToken)).toBe(false);
    const size = server.registry.size;
    expect(await failureOf(await redeem(server, g.refreshToken), secretOf(g))).toEqual([400, "invalid_grant"]);
    expect(server.registry.size).toBe(size);
    expect(server.isLive(g.refreshToken)).toBe(false);
  });

  it("rotates the refresh token on each redemption when asked: the new one works, the old one is invalid_grant", async () => {
    server.setRotation(true);
    try {
      const g = server.issue("acme/rotating");
      const first = await answerOf(await redeem(server, g.refreshToken));
      const next = first.refresh_token ?? "";
      expect(next.startsWith(`ghr_${g.grantId}.`)).toBe(true);
      expect(next.slice(next.indexOf(".") + 1)).toMatch(/^[A-Za-z0-9]{32,}$/);
      expect(next).not.toBe(g.refreshToken);
      expect(first.refresh_token_expires_in).toBeGreaterThan(first.expires_in ?? 0);
      expect([server.isLive(g.refreshToken), server.isLive(next)]).toEqual([false, true]);
      expect(await failureOf(await redeem(server, g.refreshToken), secretOf(g))).toEqual([400, "invalid_grant"]);
      const second = await answerOf(await redeem(server, next));
      expect(second.refresh_token).toMatch(new RegExp(`^ghr_${g.grantId}\\.`));
      expect(second.refresh_token).not.toBe(next);
      expect(server.registry.lookup(second.access_token)?.repositories).toEqual(["rotating"]);
      expect((await redeem(server, next)).status).toBe(400);
    } finally {
      server.setRotation(false);
    }
    const plain = await answerOf(await redeem(server, server.issue("acme/rotating").refreshToken));
    expect(plain).not.toHaveProperty("refresh_token");
  });

  it("accepts the right client_id and refuses another with 401 invalid_client", async () => {
    const g = server.issue("acme/widget");
    expect((await redeem(server, g.refreshToken, { client_id: server.clientId })).status).toBe(200);
    const size = server.registry.size;
    const redemptions = server.redemptions;
    expect(await failureOf(await redeem(server, g.refreshToken, { client_id: "Iv23liSomeoneElse" }), secretOf(g))).toEqual([401, "invalid_client"]);
    expect(server.registry.size).toBe(size);
    expect(server.redemptions).toBe(redemptions);
  });

  it.each([
    ["a missing grant_type", {}],
    ["an empty grant_type", { grant_type: "" }],
    ["grant_type=authorization_code", { grant_type: "authorization_code" }],
  ])("refuses %s with 400 unsupported_grant_type", async (_what, fields: Record<string, string>) => {
    const g = server.issue("acme/widget");
    const size = server.registry.size;
    const res = await post(server.tokenEndpoint, { ...fields, refresh_token: g.refreshToken });
    expect(await failureOf(res, secretOf(g))).toEqual([400, "unsupported_grant_type"]);
    expect(server.registry.size).toBe(size);
  });

  it.each([
    ["a JSON body", (t: string) => JSON.stringify({ grant_type: "refresh_token", refresh_token: t }), "application/json"],
    ["a form body sent as text/plain", (t: string) => `grant_type=refresh_token&refresh_token=${t}`, "text/plain"],
    ["a form body with no content type", (t: string) => `grant_type=refresh_token&refresh_token=${t}`, null],
    ["no refresh_token", () => "grant_type=refresh_token", FORM],
    ["an empty refresh_token", () => "grant_type=refresh_token&refresh_token=", FORM],
    ["a repeated refresh_token", (t: string) => `grant_type=refresh_token&refresh_token=${t}&refresh_token=${t}`, FORM],
  ])("refuses %s with 400 invalid_request", async (_what, body, contentType) => {
    const g = server.issue("acme/widget");
    const size = server.registry.size;
    const headers: Record<string, string> = contentType === null ? {} : { "Content-Type": contentType };
    const res = await fetch(server.tokenEndpoint, { method: "POST", headers, body: new Blob([body(g.refreshToken)]) });
    expect(await failureOf(res, secretOf(g))).toEqual([400, "invalid_request"]);
    expect(server.registry.size).toBe(size);
  });

  it("accepts a form content type with a charset parameter", async () => {
    const g = server.issue("acme/widget");
    const res = await post(server.tokenEndpoint, { grant_type: "refresh_token", refresh_token: g.refreshToken }, "application/x-www-form-urlencoded;charset=UTF-8");
    expect((await answerOf(res)).scope).toContain("repo:acme/widget");
  });

  it("revokes a grant with 200 and an empty body; redeeming it is then invalid_grant", async () => {
    const g = server.issue("acme/widget");
    const before = server.revocations;
    const res = await revoke(server, g.refreshToken);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    expect(server.isLive(g.refreshToken)).toBe(false);
    expect(server.revocations).toBe(before + 1);
    expect(await failureOf(await redeem(server, g.refreshToken))).toEqual([400, "invalid_grant"]);
    const again = await revoke(server, g.refreshToken);
    expect([again.status, await again.text()]).toEqual([200, ""]);
    expect(server.revocations).toBe(before + 1);
  });

  it("answers 200 to revoking an unknown grant, and leaves a grant alone when the secret is wrong", async () => {
    const g = server.issue("acme/widget");
    const before = server.revocations;
    for (const token of [`ghr_${"Q".repeat(20)}.${secretOf(g)}`, `ghr_${g.grantId}.${"y".repeat(40)}`, "not-a-grant"]) {
      const res = await revoke(server, token);
      expect([res.status, await res.text()]).toEqual([200, ""]);
    }
    expect(server.revocations).toBe(before);
    expect(server.isLive(g.refreshToken)).toBe(true);
    expect((await redeem(server, g.refreshToken)).status).toBe(200);
  });

  it("refuses a malformed revoke request with 400 invalid_request", async () => {
    const g = server.issue("acme/widget");
    const missing = await post(server.revokeEndpoint, { token_type_hint: "refresh_token" });
    expect(await failureOf(missing)).toEqual([400, "invalid_request"]);
    const asJson = await post(server.revokeEndpoint, JSON.stringify({ token: g.refreshToken }), "application/json");
    expect(await failureOf(asJson, secretOf(g))).toEqual([400, "invalid_request"]);
    const otherClient = await revoke(server, g.refreshToken, { client_id: "Iv23liSomeoneElse" });
    expect(await failureOf(otherClient, secretOf(g))).toEqual([401, "invalid_client"]);
    expect(server.isLive(g.refreshToken)).toBe(true);
  });

  it.each([
    ["invalid_grant", 400, "invalid_grant"],
    ["invalid_request", 400, "invalid_request"],
    ["invalid_client", 401, "invalid_client"],
    ["unsupported_grant_type", 400, "unsupported_grant_type"],
    ["503", 503, "temporarily_unavailable"],
    ["500", 500, "server_error"],
    ["429", 429, "temporarily_unavailable"],
  ] as Array<[GrantMode, number, string]>)("answers mode %s with %i %s for a good grant, once", async (mode, status, error) => {
    const g = server.issue("acme/widget");
    const size = server.registry.size;
    const redemptions = server.redemptions;
    server.failNext(mode);
    expect(await failureOf(await redeem(server, g.refreshToken), secretOf(g))).toEqual([status, error]);
    expect(server.registry.size).toBe(size);
    expect(server.redemptions).toBe(redemptions);
    expect(server.isLive(g.refreshToken)).toBe(true);
    expect((await redeem(server, g.refreshToken)).status).toBe(200);
  });

  it("answers 429 with Retry-After (default 1, or as set)", async () => {
    const g = server.issue("acme/widget");
    server.failNext("429");
    server.failNext("429", 1, { retryAfter: 7 });
    const first = await redeem(server, g.refreshToken);
    const second = await redeem(server, g.refreshToken);
    expect([first.status, first.headers.get("retry-after")]).toEqual([429, "1"]);
    expect([second.status, second.headers.get("retry-after")]).toEqual([429, "7"]);
    const other = await redeem(server, g.refreshToken);
    expect([other.status, other.headers.get("retry-after")]).toEqual([200, null]);
  });

  it("queues failNext before the persistent mode and keeps setMode until changed", async () => {
    const g = server.issue("acme/widget");
    server.failNext("500", 2);
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 3; i++) statuses.push((await redeem(server, g.refreshToken)).status);
      server.setMode("503");
      for (let i = 0; i < 2; i++) statuses.push((await redeem(server, g.refreshToken)).status);
      server.failNext("invalid_client");
      statuses.push((await redeem(server, g.refreshToken)).status);
    } finally {
      server.setMode("ok");
    }
    statuses.push((await redeem(server, g.refreshToken)).status);
    expect(statuses).toEqual([500, 500, 200, 503, 503, 401, 200]);
  });

  it("answers garbage with a 200 HTML body", async () => {
    const g = server.issue("acme/widget");
    const size = server.registry.size;
    server.failNext("garbage");
    const res = await redeem(server, g.refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(await res.text()).toBe("<html>oops</html>");
    expect(server.registry.size).toBe(size);
  });

  it.each([
    ["no-expires-in", undefined],
    ["zero-expires-in", 0],
  ] as Array<[GrantMode, number | undefined]>)("answers %s with a 200 whose token is not registered", async (mode, expiresIn) => {
    const g = server.issue("acme/widget");
    const size = server.registry.size;
    const redemptions = server.redemptions;
    server.failNext(mode);
    const answer = await answerOf(await redeem(server, g.refreshToken));
    expect(answer.access_token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(answer.expires_in).toBe(expiresIn);
    expect("expires_in" in answer).toBe(expiresIn !== undefined);
    expect(answer.scope).toBe("github-app-installation:4242 repo:acme/widget");
    expect(server.registry.lookup(answer.access_token)).toBeUndefined();
    expect([server.registry.size, server.redemptions]).toEqual([size, redemptions]);
  });

  it("answers bad-token with an access_token holding whitespace, not registered", async () => {
    const g = server.issue("acme/widget");
    const size = server.registry.size;
    server.failNext("bad-token");
    const answer = await answerOf(await redeem(server, g.refreshToken));
    expect(answer.access_token).toBe(BAD_TOKEN);
    expect(answer.access_token).toMatch(/ /);
    expect(answer.access_token).toMatch(/\n/);
    expect(answer.expires_in).toBe(3600);
    expect(server.registry.size).toBe(size);
  });

  it("answers a delayed mode once its timer runs", { timeout: 5_000 }, async () => {
    const g = server.issue("acme/widget");
    server.failNext("ok", 1, { delayMs: 20 });
    const answer = await answerOf(await redeem(server, g.refreshToken));
    expect(server.registry.lookup(answer.access_token)?.repositories).toEqual(["widget"]);
  });

  it("applies mode 503 to revoke as well, and no other mode", { timeout: 10_000 }, async () => {
    const g = server.issue("acme/widget");
    const before = server.revocations;
    server.setMode("503");
    try {
      expect(await failureOf(await revoke(server, g.refreshToken), secretOf(g))).toEqual([503, "temporarily_unavailable"]);
    } finally {
      server.setMode("ok");
    }
    expect(server.isLive(g.refreshToken)).toBe(true);
    server.failNext("503");
    expect((await revoke(server, g.refreshToken)).status).toBe(503);
    expect((await redeem(server, g.refreshToken)).status).toBe(200); // the queued 503 went to the revoke
    try {
      for (const mode of ["500", "429", "invalid_grant", "garbage", "bad-token", "hang"] as GrantMode[]) {
        server.setMode(mode);
        const res = await revoke(server, `ghr_${"Q".repeat(20)}.${"q".repeat(40)}`);
        expect([mode, res.status, await res.text()]).toEqual([mode, 200, ""]);
      }
      server.setMode("invalid_grant");
      expect((await revoke(server, g.refreshToken)).status).toBe(200);
    } finally {
      server.setMode("ok");
    }
    expect(server.revocations).toBe(before + 1);
    expect(server.isLive(g.refreshToken)).toBe(false);
  });

  it("leaves a queued mode other than 503 for the token endpoint when a revoke comes first", async () => {
    const g = server.issue("acme/widget");
    const h = server.issue("acme/widget");
    server.failNext("invalid_client");
    expect((await revoke(server, g.refreshToken)).status).toBe(200);
    expect(server.isLive(g.refreshToken)).toBe(false);
    expect(await failureOf(await redeem(server, h.refreshToken))).toEqual([401, "invalid_client"]);
    expect((await redeem(server, h.refreshToken)).status).toBe(200);
  });

  it("records each request's form fields, and that no Authorization header was sent", async () => {
    const g = server.issue("acme/widget");
    const seen = server.onRequest();
    await redeem(server, g.refreshToken, { client_id: server.clientId });
    const record = await seen;
    expect(server.requests.at(-1)).toBe(record);
    expect(record).toMatchObject({ method: "POST", path: GRANT_TOKEN_PATH, contentType: FORM });
    expect(record.authorization).toBeUndefined();
    expect(record.form).toEqual({ grant_type: "refresh_token", refresh_token: g.refreshToken, client_id: server.clientId });
    expect(record.body).toBe(new URLSearchParams(record.form).toString());

    const withAuth = server.onRequest();
    await post(server.revokeEndpoint, { token: g.refreshToken }, FORM, { Authorization: "Basic eDp5" });
    expect(await withAuth).toMatchObject({ path: GRANT_REVOKE_PATH, authorization: "Basic eDp5", form: { token: g.refreshToken } });

    const json = server.onRequest();
    await post(server.tokenEndpoint, JSON.stringify({ refresh_token: "x" }), "application/json");
    expect(await json).toMatchObject({ contentType: "application/json", form: {}, body: '{"refresh_token":"x"}' });
  });

  it("answers 404 JSON on any other path, 405 to other methods, and keeps the query in the recorded path", async () => {
    const g = server.issue("acme/widget");
    for (const path of ["/", "/repo-grant", "/repo-grant/token/extra", "/login/oauth/access_token"]) {
      expect(await failureOf(await post(`${server.url}${path}`, { grant_type: "refresh_token", refresh_token: g.refreshToken }))).toEqual([404, "not_found"]);
    }
    const get = await fetch(server.tokenEndpoint);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await failureOf(get)).toEqual([405, "invalid_request"]);
    const query = await fetch(`${server.tokenEndpoint}?refresh_token=${g.refreshToken}`, {
      method: "POST", headers: { "Content-Type": FORM }, body: "grant_type=refresh_token",
    });
    expect(await failureOf(query)).toEqual([400, "invalid_request"]);
    expect(server.requests.at(-1)?.path).toBe(`${GRANT_TOKEN_PATH}?refresh_token=${g.refreshToken}`);
  });

  it("refuses a body over the size limit with 413, whatever it holds", async () => {
    const g = server.issue("acme/widget");
    const redemptions = server.redemptions;
    const fields = { grant_type: "refresh_token", refresh_token: g.refreshToken, pad: "x".repeat(MAX_BODY_BYTES) };
    expect(await failureOf(await post(server.tokenEndpoint, fields))).toEqual([413, "invalid_request"]);
    expect(server.requests.at(-1)).toMatchObject({ body: "", form: {} });
    expect(server.redemptions).toBe(redemptions);
    expect(await failureOf(await post(server.revokeEndpoint, { token: g.refreshToken, pad: "x".repeat(MAX_BODY_BYTES) }))).toEqual([413, "invalid_request"]);
    expect(server.isLive(g.refreshToken)).toBe(true);
    const underLimit = { ...fields, pad: "x".repeat(1000) };
    expect((await post(server.tokenEndpoint, underLimit)).status).toBe(200);
  });
});

describe("fake grant server closing", () => {
  it("closes promptly with a hanging request and a delayed answer pending, which both fail", async () => {
    const server = await startFakeGrantServer();
    const g = server.issue("acme/widget");
    server.failNext("hang");
    server.failNext("ok", 1, { delayMs: 600_000 });
    const seen = [server.onRequest()];
    const hanging = redeem(server, g.refreshToken);
    hanging.catch(() => undefined);
    await seen[0];
    seen.push(server.onRequest());
    const delayed = redeem(server, g.refreshToken);
    delayed.catch(() => undefined);
    await seen[1];
    await server.close();
    await expect(hanging).rejects.toThrow();
    await expect(delayed).rejects.toThrow();
    expect(server.requests).toHaveLength(2);
    expect(server.redemptions).toBe(0);
    expect(server.registry.size).toBe(1); // the token issue() minted, nothing since
  }, 5_000);
});

interface HttpsAnswer { status: number; body: string }

function httpsGet(url: string, ca: string, token: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const authorization = `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
    const req = request(url, { ca, headers: { Authorization: authorization }, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("fake grant server with the TLS git host", () => {
  let registry: TokenRegistry;
  let server: FakeGrantServer;
  let host: GitHost;
  let ca: string;
  let urlA: string;
  let urlB: string;

  beforeAll(async () => {
    registry = new TokenRegistry();
    server = await startFakeGrantServer({ registry });
    host = await startGitHost({ registry });
    [urlA, urlB] = await Promise.all([host.createRepo("acme", "a"), host.createRepo("acme", "b")]);
    ca = await readFile(host.caFile, "utf8");
  }, 30_000);
  afterAll(async () => {
    await Promise.all([server?.close(), host?.close()]);
  });

  const pushRefs = (url: string): string => `${url}/info/refs?service=git-receive-pack`;

  it("lets a redeemed token push to its repository and no other", async () => {
    const g = server.issue("acme/a");
    const { access_token: token } = await answerOf(await redeem(server, g.refreshToken));
    const own = await httpsGet(pushRefs(urlA), ca, token);
    expect([own.status, own.body]).toEqual([200, expect.stringContaining("refs/heads/main")]);
    const other = await httpsGet(pushRefs(urlB), ca, token);
    expect([other.status, other.body]).toEqual([403, "repository b is not in the token's scope\n"]);
    expect((await httpsGet(pushRefs(urlA), ca, g.serviceJson.token)).status).toBe(200);
  });

  it("mints tokens the host refuses everywhere for a grant of another owner", async () => {
    const g = server.issue("someone-else/a");
    expect(g.repository).toBe("someone-else/a");
    const { access_token: token, scope } = await answerOf(await redeem(server, g.refreshToken));
    expect(scope).toBe("github-app-installation:4242 repo:someone-else/a");
    for (const url of [urlA, urlB]) expect((await httpsGet(pushRefs(url), ca, token)).status).toBe(403);
  });
});
