/**
 * A fake "repo grant" token service: it issues durable, revocable refresh grants
 * `ghr_<grantId>.<secret>`, each for exactly one repository, and redeems them for short-lived `ghs_`
 * tokens (OAuth 2.0 refresh, RFC 6749 §6) that it adds to the shared TokenRegistry, so the TLS git
 * host accepts them for that repository only. Grants are revoked with RFC 7009 requests.
 *
 * Only sha256(secret) is kept; a presented secret is compared with crypto.timingSafeEqual.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import { randomToken } from "./fake-broker";
import { TokenRegistry, type Permission } from "./token-registry";
import { expiryIn, header, isoSeconds, Plumbing, randomBase62, readBody } from "./plumbing";

export type GrantMode =
  | "ok" | "invalid_grant" | "invalid_request" | "invalid_client" | "unsupported_grant_type"
  | "503" | "429" | "500" | "hang" | "garbage" | "no-expires-in" | "zero-expires-in" | "bad-token";

export interface GrantModeOptions {
  /** Seconds sent in Retry-After for "429" (default 1). */
  retryAfter?: number;
  /** Delay before the answer of this mode is worked out and sent (none by default; ignored by "hang"). */
  delayMs?: number;
}

export interface GrantRequest {
  /** The request target as sent, query included. */
  path: string;
  method: string;
  contentType?: string;
  /** Recorded so tests can assert that none was sent; the service never asks for one. */
  authorization?: string;
  /** The form fields (first value of each) when the body is application/x-www-form-urlencoded, else {}. */
  form: Record<string, string>;
  /** The raw body ("" when it was over the size limit). */
  body: string;
}

export interface IssuedGrant {
  /** "ghr_<grantId>" is what may be shown; the secret never. */
  grantId: string;
  /** The full ghr_<grantId>.<secret>. */
  refreshToken: string;
  /** "owner/repo". */
  repository: string;
  /** The JSON the minting service returns beside a token (camelCase, as a real service does). */
  serviceJson: {
    token: string;
    expiresAt: string;
    refreshToken: string;
    tokenEndpoint: string;
    clientId: string;
    refreshTokenExpiresAt: string;
    expiresIn: number;
    tokenType: "bearer";
    repository: { id: number; full_name: string };
  };
}

export interface FakeGrantServerOptions {
  registry?: TokenRegistry;
  /** The org the git host serves (default "acme"); see issue(). */
  org?: string;
  clientId?: string;
  /** Lifetime of minted ghs_ tokens (default 3600). */
  lifetimeSeconds?: number;
}

export interface FakeGrantServer {
  url: string;
  tokenEndpoint: string;
  revokeEndpoint: string;
  clientId: string;
  registry: TokenRegistry;
  /**
   * Creates a grant for "owner/repo" (a bare name means the org's) and mints one token for
   * serviceJson.token. Tokens of a grant whose owner is not the org are registered with no
   * repository at all: the registry has no owner field, and the git host serves the org only.
   */
  issue(repository: string): IssuedGrant;
  /** Successful token answers ("ok"), not counting issue(). */
  readonly redemptions: number;
  /** Revoke requests that revoked a live grant. */
  readonly revocations: number;
  requests: GrantRequest[];
  /** The grant exists, is not revoked or expired, and the secret matches. */
  isLive(refreshToken: string): boolean;
  /** Revokes the grant behind refreshToken from the service's side (not counted in revocations); false if it was not live. */
  revoke(refreshToken: string): boolean;
  setMode(mode: GrantMode, opts?: GrantModeOptions): void;
  /**
   * Queues modes that take precedence over setMode. The token endpoint takes the next one whatever
   * it is; the revoke endpoint takes it only when it is "503".
   */
  failNext(mode: GrantMode, count?: number, opts?: GrantModeOptions): void;
  setLifetime(seconds: number): void;
  /**
   * When on, every successful redemption returns a new refresh_token (same grant id, new secret) and the
   * old secret stops working; with "new-id", the new refresh_token is a new grant (a new grant id, same
   * repository) and the old grant is retired.
   */
  setRotation(on: boolean | "new-id"): void;
  /** Resolves on the next request received; call it before triggering the request. */
  onRequest(): Promise<GrantRequest>;
  close(): Promise<void>;
}

export const GRANT_TOKEN_PATH = "/repo-grant/token";
export const GRANT_REVOKE_PATH = "/repo-grant/revoke";
export const DEFAULT_CLIENT_ID = "Iv23liFakeRepoGrant01";
export const INSTALLATION_ID = 4242;
export const MAX_BODY_BYTES = 64 * 1024;
/** Refresh grants last six months, like GitHub's user refresh tokens. */
export const GRANT_LIFETIME_SECONDS = 15_897_600;
export const GRANT_PERMISSIONS: Readonly<Record<string, Permission>> = { contents: "write", metadata: "read" };
/** The access_token of "bad-token" answers. */
export const BAD_TOKEN = "ghs_bad token\nsecond-line";

interface ModeChoice { mode: GrantMode; opts: GrantModeOptions }
interface Grant { id: string; repository: string; secretHash: Buffer; expiresAt: number; revoked: boolean }
interface Answer { status: number; body: string; headers: Record<string, string> }

const FORM_TYPE = "application/x-www-form-urlencoded";
const REFRESH_TOKEN = /^ghr_([A-Za-z0-9]{1,64})\.([A-Za-z0-9]{1,256})$/;
const REPOSITORY = /^(?:([A-Za-z0-9][A-Za-z0-9-]*)\/)?([A-Za-z0-9._-]+)$/;

type ErrorMode = "invalid_grant" | "invalid_request" | "invalid_client" | "unsupported_grant_type" | "503" | "500";

const MODE_ERRORS: Record<ErrorMode, [status: number, error: string, description: string]> = {
  invalid_grant: [400, "invalid_grant", "The refresh token is invalid, expired or revoked."],
  invalid_request: [400, "invalid_request", "The request is missing a required parameter or is malformed."],
  invalid_client: [401, "invalid_client", "Client authentication failed."],
  unsupported_grant_type: [400, "unsupported_grant_type", "The grant type is not supported."],
  "503": [503, "temporarily_unavailable", "The service is temporarily unavailable."],
  "500": [500, "server_error", "Internal Server Error"],
};

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return {
    status,
    body: JSON.stringify(body),
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers },
  };
}

function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): Answer {
  return json(status, { error, error_description: description }, headers);
}

function isForm(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === FORM_TYPE;
}

/** First value of each field; a repeated field is reported by formProblem. */
function parseForm(body: string): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(body)) if (!(k in form)) form[k] = v;
  return form;
}

/** Why a form request is malformed (RFC 6749 §3.2, §5.2), or undefined. */
function formProblem(record: GrantRequest): Answer | undefined {
  if (!isForm(record.contentType)) {
    return oauthError(400, "invalid_request", `Content-Type must be ${FORM_TYPE}`);
  }
  const params = new URLSearchParams(record.body);
  const repeated = [...new Set(params.keys())].find((k) => params.getAll(k).length > 1);
  if (repeated !== undefined) return oauthError(400, "invalid_request", `parameter ${repeated} is repeated`);
  return undefined;
}

function toRecord(req: IncomingMessage, body: string): GrantRequest {
  const contentType = header(req, "content-type");
  return {
    path: req.url ?? "",
    method: req.method ?? "",
    contentType,
    authorization: header(req, "authorization"),
    form: isForm(contentType) ? parseForm(body) : {},
    body,
  };
}

function send(res: ServerResponse, a: Answer): void {
  if (res.destroyed) return;
  res.writeHead(a.status, a.headers);
  res.end(a.body);
}

class FakeGrantService implements FakeGrantServer {
  url = "";
  tokenEndpoint = "";
  revokeEndpoint = "";
  readonly clientId: string;
  readonly registry: TokenRegistry;
  readonly requests: GrantRequest[] = [];
  private redeemed = 0;
  private revoked = 0;
  private mode: ModeChoice = { mode: "ok", opts: {} };
  private readonly queue: ModeChoice[] = [];
  private lifetimeSeconds: number;
  private rotation: boolean | "new-id" = false;
  private readonly org: string;
  private readonly grants = new Map<string, Grant>();
  private readonly repositoryIds = new Map<string, number>();
  private readonly waiters: Array<(r: GrantRequest) => void> = [];
  private readonly plumbing: Plumbing;

  constructor(opts: FakeGrantServerOptions) {
    this.registry = opts.registry ?? new TokenRegistry();
    this.org = opts.org ?? "acme";
    this.clientId = opts.clientId ?? DEFAULT_CLIENT_ID;
    this.lifetimeSeconds = opts.lifetimeSeconds ?? 3600;
    this.plumbing = new Plumbing(createServer((req, res) => void this.handle(req, res).catch(() => res.destroy())));
  }

  get redemptions(): number {
    return this.redeemed;
  }

  get revocations(): number {
    return this.revoked;
  }

  async listen(): Promise<void> {
    this.url = await this.plumbing.listen();
    this.tokenEndpoint = `${this.url}${GRANT_TOKEN_PATH}`;
    this.revokeEndpoint = `${this.url}${GRANT_REVOKE_PATH}`;
  }

  issue(repository: string): IssuedGrant {
    const m = REPOSITORY.exec(repository);
    const name = m?.[2];
    if (name === undefined || name === "." || name === "..") throw new Error(`not a repository: ${JSON.stringify(repository)}`);
    const fullName = `${m?.[1] ?? this.org}/${name}`;
    const id = randomBase62(20);
    const secret = randomBase62(40);
    const grant: Grant = { id, repository: fullName, secretHash: sha256(secret), expiresAt: Date.now() + GRANT_LIFETIME_SECONDS * 1000, revoked: false };
    this.grants.set(id, grant);
    const refreshToken = `ghr_${id}.${secret}`;
    const { token, expiresAt } = this.mint(grant);
    return {
      grantId: id,
      refreshToken,
      repository: fullName,
      serviceJson: {
        token,
        expiresAt: isoSeconds(expiresAt),
        refreshToken,
        tokenEndpoint: this.tokenEndpoint,
        clientId: this.clientId,
        refreshTokenExpiresAt: isoSeconds(grant.expiresAt),
        expiresIn: this.lifetimeSeconds,
        tokenType: "bearer",
        repository: { id: this.repositoryId(fullName), full_name: fullName },
      },
    };
  }

  isLive(refreshToken: string): boolean {
    return typeof this.find(refreshToken) !== "string";
  }

  revoke(refreshToken: string): boolean {
    const grant = this.find(refreshToken);
    if (typeof grant === "string") return false;
    grant.revoked = true;
    return true;
  }

  setMode(mode: GrantMode, opts: GrantModeOptions = {}): void {
    this.mode = { mode, opts };
  }

  failNext(mode: GrantMode, count = 1, opts: GrantModeOptions = {}): void {
    for (let i = 0; i < count; i++) this.queue.push({ mode, opts });
  }

  setLifetime(seconds: number): void {
    this.lifetimeSeconds = seconds;
  }

  setRotation(on: boolean | "new-id"): void {
    this.rotation = on;
  }

  onRequest(): Promise<GrantRequest> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    return this.plumbing.close();
  }

  private notify(record: GrantRequest): void {
    for (const resolve of this.waiters.splice(0)) resolve(record);
  }

  private repositoryId(fullName: string): number {
    const key = fullName.toLowerCase();
    let id = this.repositoryIds.get(key);
    if (id === undefined) {
      id = 700_000_001 + this.repositoryIds.size;
      this.repositoryIds.set(key, id);
    }
    return id;
  }

  /** The live grant behind a ghr_ value, or why there is none. */
  private find(refreshToken: string): Grant | string {
    const m = REFRESH_TOKEN.exec(refreshToken);
    if (m === null) return "malformed refresh token";
    const grant = this.grants.get(m[1] ?? "");
    if (grant === undefined) return "unknown grant";
    if (!timingSafeEqual(sha256(m[2] ?? ""), grant.secretHash)) return "bad secret";
    if (grant.revoked) return "revoked";
    if (Date.now() >= grant.expiresAt) return "expired";
    return grant;
  }

  /** Registers a ghs_ token for the grant's repository (none when the owner is not the org). */
  private mint(grant: Grant): { token: string; expiresAt: number } {
    const [owner, name] = grant.repository.split("/") as [string, string];
    const ours = owner.toLowerCase() === this.org.toLowerCase();
    const token = randomToken();
    const expiresAt = expiryIn(this.lifetimeSeconds);
    this.registry.add({ token, expiresAt, repositories: ours ? [name] : [], permissions: { ...GRANT_PERMISSIONS } });
    return { token, expiresAt };
  }

  private scope(repository: string): string {
    return `github-app-installation:${INSTALLATION_ID} repo:${repository}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { body, tooLarge } = await readBody(req, MAX_BODY_BYTES);
    const record = toRecord(req, tooLarge ? "" : body);
    this.requests.push(record);
    this.notify(record);
    if (tooLarge) return send(res, oauthError(413, "invalid_request", `request body is over ${MAX_BODY_BYTES} bytes`));
    const path = record.path.split("?")[0];
    if (path !== GRANT_TOKEN_PATH && path !== GRANT_REVOKE_PATH) return send(res, oauthError(404, "not_found", "Not Found"));
    if (record.method !== "POST") return send(res, oauthError(405, "invalid_request", "use POST", { Allow: "POST" }));
    const choice = path === GRANT_TOKEN_PATH ? this.queue.shift() ?? this.mode : this.revokeChoice();
    if (choice.mode === "hang") return;
    const answer = (): void => {
      const a = path === GRANT_TOKEN_PATH ? this.tokenAnswer(choice, record) : this.revokeAnswer(choice, record);
      if (a !== undefined) send(res, a);
    };
    if (choice.opts.delayMs === undefined) return answer();
    this.plumbing.later(choice.opts.delayMs, () => {
      if (!res.destroyed) answer();
    });
  }

  private revokeChoice(): ModeChoice {
    if (this.queue[0]?.mode === "503") return this.queue.shift() ?? this.mode;
    return this.mode.mode === "503" ? this.mode : { mode: "ok", opts: {} };
  }

  /** The answer of the token endpoint in this mode; undefined for "hang", which never answers. */
  private tokenAnswer(choice: ModeChoice, record: GrantRequest): Answer | undefined {
    switch (choice.mode) {
      case "ok": return this.redeem(record);
      case "429": {
        const retryAfter = String(choice.opts.retryAfter ?? 1);
        return oauthError(429, "temporarily_unavailable", `rate limit exceeded; retry after ${retryAfter} s`, { "Retry-After": retryAfter });
      }
      case "garbage": return { status: 200, body: "<html>oops</html>", headers: { "Content-Type": "text/html" } };
      case "no-expires-in": return json(200, { access_token: randomToken(), token_type: "Bearer", scope: this.guessScope(record) });
      case "zero-expires-in": return json(200, { access_token: randomToken(), token_type: "Bearer", expires_in: 0, scope: this.guessScope(record) });
      case "bad-token": return json(200, { access_token: BAD_TOKEN, token_type: "Bearer", expires_in: this.lifetimeSeconds, scope: this.guessScope(record) });
      case "hang": return undefined;
      default: {
        const [status, error, description] = MODE_ERRORS[choice.mode];
        return oauthError(status, error, description);
      }
    }
  }

  /** The scope of a forced answer: the presented grant's repository when it is known. */
  private guessScope(record: GrantRequest): string {
    const id = REFRESH_TOKEN.exec(record.form.refresh_token ?? "")?.[1];
    const grant = id === undefined ? undefined : this.grants.get(id);
    return this.scope(grant?.repository ?? `${this.org}/unknown`);
  }

  private clientProblem(form: Record<string, string>): Answer | undefined {
    const clientId = form.client_id;
    if (clientId === undefined || clientId === this.clientId) return undefined;
    return oauthError(401, "invalid_client", "unknown client_id");
  }

  private redeem(record: GrantRequest): Answer {
    const malformed = formProblem(record);
    if (malformed) return malformed;
    const form = record.form;
    if (form.grant_type !== "refresh_token") {
      return oauthError(400, "unsupported_grant_type", form.grant_type ? "only grant_type=refresh_token is supported" : "grant_type is required");
    }
    const badClient = this.clientProblem(form);
    if (badClient) return badClient;
    if (!form.refresh_token) return oauthError(400, "invalid_request", "refresh_token is required");
    const grant = this.find(form.refresh_token);
    if (typeof grant === "string") return oauthError(400, "invalid_grant", `The refresh token is invalid (${grant}).`);
    const { token } = this.mint(grant);
    this.redeemed++;
    const answer: Record<string, unknown> = {
      access_token: token,
      token_type: "Bearer",
      expires_in: this.lifetimeSeconds,
      scope: this.scope(grant.repository),
    };
    if (this.rotation === "new-id") {
      const secret = randomBase62(40);
      const next: Grant = { id: randomBase62(20), repository: grant.repository, secretHash: sha256(secret), expiresAt: Date.now() + GRANT_LIFETIME_SECONDS * 1000, revoked: false };
      this.grants.set(next.id, next);
      grant.revoked = true;
      answer.refresh_token = `ghr_${next.id}.${secret}`;
      answer.refresh_token_expires_in = GRANT_LIFETIME_SECONDS;
    } else if (this.rotation) {
      const secret = randomBase62(40);
      grant.secretHash = sha256(secret);
      grant.expiresAt = Date.now() + GRANT_LIFETIME_SECONDS * 1000;
      answer.refresh_token = `ghr_${grant.id}.${secret}`;
      answer.refresh_token_expires_in = GRANT_LIFETIME_SECONDS;
    }
    return json(200, answer);
  }

  /** RFC 7009: 200 with an empty body for any well-formed request, whether or not the grant existed. */
  private revokeAnswer(choice: ModeChoice, record: GrantRequest): Answer | undefined {
    if (choice.mode === "503") return this.tokenAnswer(choice, record);
    const malformed = formProblem(record);
    if (malformed) return malformed;
    const badClient = this.clientProblem(record.form);
    if (badClient) return badClient;
    const token = record.form.token;
    if (!token) return oauthError(400, "invalid_request", "token is required");
    if (this.revoke(token)) this.revoked++;
    return { status: 200, body: "", headers: { "Cache-Control": "no-store" } };
  }
}

export async function startFakeGrantServer(opts: FakeGrantServerOptions = {}): Promise<FakeGrantServer> {
  const server = new FakeGrantService(opts);
  await server.listen();
  return server;
}
