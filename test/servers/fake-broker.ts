import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { TokenRegistry, type Permission } from "./token-registry";
import { expiryIn, header, isoSeconds, Plumbing, randomBase62, readBody } from "./plumbing";

export type BrokerMode =
  | "ok" | "401" | "403" | "404" | "422" | "429" | "500" | "503"
  | "hang" | "garbage" | "bad-token" | "past-expiry" | "slow" | "reset";

export interface ModeOptions {
  /** Seconds sent in Retry-After for "429" (default 1). */
  retryAfter?: number;
  /** Delay before answering for "slow" (default 2000 ms). */
  delayMs?: number;
}

export interface BrokerRequest {
  path: string;
  method: string;
  authorization: string | undefined;
  userAgent: string | undefined;
  contentType: string | undefined;
  body: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  json: unknown;
}

export interface FakeBrokerOptions {
  apiKey: string;
  /** More keys it accepts: other tenants of the same broker (requests tell them apart by `authorization`). */
  moreApiKeys?: string[];
  registry?: TokenRegistry;
  org?: string;
  lifetimeSeconds?: number;
  defaultPermissions?: Record<string, Permission>;
}

export interface FakeBroker {
  url: string;
  registry: TokenRegistry;
  /** Count of tokens issued and registered ("ok" and "slow" answers). */
  readonly mints: number;
  requests: BrokerRequest[];
  setMode(mode: BrokerMode, opts?: ModeOptions): void;
  failNext(mode: BrokerMode, count?: number, opts?: ModeOptions): void;
  setLifetime(seconds: number): void;
  /** Resolves on the next request received; call it before triggering the request. */
  onRequest(): Promise<BrokerRequest>;
  close(): Promise<void>;
}

export const TOKEN_PATH = "/api/github/installation-token";

export const DEFAULT_PERMISSIONS: Readonly<Record<string, Permission>> = {
  contents: "write",
  metadata: "read",
  pull_requests: "write",
  issues: "write",
  actions: "write",
  checks: "read",
  statuses: "read",
  administration: "read",
};

interface ModeChoice { mode: BrokerMode; opts: ModeOptions }
interface Grant { repositories: string[] | null; permissions: Record<string, Permission> }
interface Rejection { status: number; error: string; message: string }

type ErrorMode = "401" | "403" | "404" | "422" | "429" | "500" | "503";

const ERROR_ANSWERS: Record<ErrorMode, Rejection> = {
  "401": { status: 401, error: "unauthorized", message: "invalid API key" },
  "403": { status: 403, error: "forbidden", message: "Resource not accessible by integration" },
  "404": { status: 404, error: "not_found", message: "Not Found" },
  "422": { status: 422, error: "invalid_request", message: "Validation Failed" },
  "429": { status: 429, error: "rate_limited", message: "API rate limit exceeded" },
  "500": { status: 500, error: "internal_error", message: "Internal Server Error" },
  "503": { status: 503, error: "unavailable", message: "Service Unavailable" },
};

export function randomToken(): string {
  return `ghs_${randomBase62(36)}`;
}

function reject(status: number, error: string, message: string): Rejection {
  return { status, error, message };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function parseRepositories(v: unknown): string[] | null | Rejection {
  if (v === undefined) return null;
  if (!Array.isArray(v) || !v.every((n) => typeof n === "string" && n !== "")) {
    return reject(422, "invalid_request", "repositories: must be an array of repository names");
  }
  if (v.length === 0) return reject(422, "invalid_request", "repositories: must not be empty");
  const qualified = v.find((n: string) => n.includes("/"));
  if (qualified !== undefined) {
    return reject(422, "invalid_request", `repositories: "${qualified}" is not a bare repository name`);
  }
  return v as string[];
}

function checkPermission(name: string, level: unknown, defaults: Record<string, Permission>): Rejection | undefined {
  if (level !== "read" && level !== "write") {
    return reject(422, "invalid_request", `${name}: must be "read" or "write"`);
  }
  if (!(name in defaults)) return reject(422, "invalid_request", `${name}: not granted to this installation`);
  if (level === "write" && defaults[name] !== "write") {
    return reject(422, "invalid_request", `${name}: write is not allowed`);
  }
  return undefined;
}

function parsePermissions(v: unknown, defaults: Record<string, Permission>): Record<string, Permission> | Rejection {
  if (v === undefined) return { ...defaults };
  if (!isRecord(v)) return reject(422, "invalid_request", "permissions: must be an object");
  if (v.administration === "write") {
    return reject(422, "invalid_request", "administration: write is not allowed");
  }
  for (const [name, level] of Object.entries(v)) {
    const problem = checkPermission(name, level, defaults);
    if (problem) return problem;
  }
  return Object.keys(v).length === 0 ? { ...defaults } : (v as Record<string, Permission>);
}

function isRejection(v: unknown): v is Rejection {
  return isRecord(v) && typeof v.status === "number" && typeof v.message === "string";
}

/** Turns a request body into what the broker would grant, or why it refuses. */
export function parseGrant(body: string, defaults: Record<string, Permission>): Grant | Rejection {
  if (body.trim() === "") return { repositories: null, permissions: { ...defaults } };
  const json = parseJson(body);
  if (json === undefined) return reject(400, "invalid_json", "request body is not valid JSON");
  if (!isRecord(json)) return reject(400, "invalid_json", "request body must be a JSON object");
  const repositories = parseRepositories(json.repositories);
  if (isRejection(repositories)) return repositories;
  const permissions = parsePermissions(json.permissions, defaults);
  if (isRejection(permissions)) return permissions;
  return { repositories, permissions };
}

function tokenAnswer(token: string, expiresAt: number, grant: Grant, org: string): Record<string, unknown> {
  const repos = grant.repositories?.map((name) => ({ name, full_name: `${org}/${name}`, private: true }));
  return {
    token,
    expires_at: isoSeconds(expiresAt),
    permissions: grant.permissions,
    ...(repos ? { repositories: repos } : {}),
    repository_selection: repos ? "selected" : "all",
    installation_id: 4242,
    org_id: 99,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

function sendRejection(res: ServerResponse, r: Rejection, headers: Record<string, string> = {}): void {
  sendJson(res, r.status, { error: r.error, message: r.message }, headers);
}

function toRecord(req: IncomingMessage, body: string): BrokerRequest {
  return {
    path: req.url ?? "",
    method: req.method ?? "",
    authorization: header(req, "authorization"),
    userAgent: header(req, "user-agent"),
    contentType: header(req, "content-type"),
    body,
    json: body.trim() === "" ? undefined : parseJson(body),
  };
}

class FakeBrokerServer implements FakeBroker {
  url = "";
  readonly registry: TokenRegistry;
  readonly requests: BrokerRequest[] = [];
  private minted = 0;
  private mode: ModeChoice = { mode: "ok", opts: {} };
  private readonly queue: ModeChoice[] = [];
  private lifetimeSeconds: number;
  private readonly org: string;
  private readonly defaults: Record<string, Permission>;
  private readonly waiters: Array<(r: BrokerRequest) => void> = [];
  private readonly plumbing: Plumbing;

  constructor(private readonly opts: FakeBrokerOptions) {
    this.registry = opts.registry ?? new TokenRegistry();
    this.org = opts.org ?? "acme";
    this.lifetimeSeconds = opts.lifetimeSeconds ?? 3600;
    this.defaults = { ...(opts.defaultPermissions ?? DEFAULT_PERMISSIONS) };
    this.plumbing = new Plumbing(createServer((req, res) => void this.handle(req, res).catch(() => res.destroy())));
  }

  get mints(): number {
    return this.minted;
  }

  async listen(): Promise<void> {
    this.url = await this.plumbing.listen();
  }

  setMode(mode: BrokerMode, opts: ModeOptions = {}): void {
    this.mode = { mode, opts };
  }

  failNext(mode: BrokerMode, count = 1, opts: ModeOptions = {}): void {
    for (let i = 0; i < count; i++) this.queue.push({ mode, opts });
  }

  setLifetime(seconds: number): void {
    this.lifetimeSeconds = seconds;
  }

  onRequest(): Promise<BrokerRequest> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    return this.plumbing.close();
  }

  private notify(record: BrokerRequest): void {
    for (const resolve of this.waiters.splice(0)) resolve(record);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record = toRecord(req, (await readBody(req)).body);
    this.requests.push(record);
    this.notify(record);
    if (record.path.split("?")[0] !== TOKEN_PATH) return sendRejection(res, ERROR_ANSWERS["404"]);
    if (record.method !== "POST") return sendRejection(res, reject(405, "method_not_allowed", "use POST"));
    if (!this.authorized(record.authorization)) return sendRejection(res, ERROR_ANSWERS["401"]);
    this.answer(this.queue.shift() ?? this.mode, record, res);
  }

  private authorized(authorization: string | undefined): boolean {
    const match = /^Bearer (.+)$/i.exec(authorization ?? "");
    return match !== null && (match[1] === this.opts.apiKey || (this.opts.moreApiKeys ?? []).includes(match[1]!));
  }

  private answer(choice: ModeChoice, record: BrokerRequest, res: ServerResponse): void {
    switch (choice.mode) {
      case "ok": return this.mint(record, res);
      case "slow": return this.plumbing.later(choice.opts.delayMs ?? 2000, () => this.mint(record, res));
      case "hang": return;
      case "reset": return void res.socket?.destroy();
      case "garbage": return this.sendGarbage(res);
      case "bad-token": return this.sendUnregistered(res, record, "ghs_bad token", expiryIn(this.lifetimeSeconds));
      case "past-expiry": return this.sendUnregistered(res, record, randomToken(), Date.now() - 3600_000);
      case "429": return sendRejection(res, ERROR_ANSWERS["429"], { "Retry-After": String(choice.opts.retryAfter ?? 1) });
      default: return sendRejection(res, ERROR_ANSWERS[choice.mode]);
    }
  }

  private mint(record: BrokerRequest, res: ServerResponse): void {
    if (res.destroyed) return;
    const grant = parseGrant(record.body, this.defaults);
    if (isRejection(grant)) return sendRejection(res, grant);
    const token = randomToken();
    const expiresAt = expiryIn(this.lifetimeSeconds);
    this.registry.add({ token, expiresAt, repositories: grant.repositories, permissions: grant.permissions });
    this.minted++;
    sendJson(res, 201, tokenAnswer(token, expiresAt, grant, this.org));
  }

  private sendUnregistered(res: ServerResponse, record: BrokerRequest, token: string, expiresAt: number): void {
    const parsed = parseGrant(record.body, this.defaults);
    const grant = isRejection(parsed) ? { repositories: null, permissions: { ...this.defaults } } : parsed;
    sendJson(res, 200, tokenAnswer(token, expiresAt, grant, this.org));
  }

  private sendGarbage(res: ServerResponse): void {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<html>oops</html>");
  }
}

export async function startFakeBroker(opts: FakeBrokerOptions): Promise<FakeBroker> {
  const broker = new FakeBrokerServer(opts);
  await broker.listen();
  return broker;
}
