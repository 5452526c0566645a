/**
 * A fake GitHub REST API for the github-app source: verifies each GitHub App JWT (RS256 against the
 * app's public key, iss, iat/exp against its own clock, which may be offset), finds installations and
 * mints installation tokens into the shared TokenRegistry, so the TLS git host accepts them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { randomToken } from "./fake-broker";
import type { Permission, TokenRegistry } from "./token-registry";
import { listenOnLoopback } from "./listen";

export type GitHubMode = "ok" | "401" | "403" | "404" | "422" | "429" | "500" | "hang" | "garbage" | "secondary-rate-limit";

export interface FakeInstallation {
  id: number;
  /** The owner's login. */
  account: string;
  type?: "Organization" | "User";
  /** Bare names; null (or absent) = every repository of the account. */
  repositories?: string[] | null;
  permissions?: Record<string, Permission>;
}

export interface FakeGitHubOptions {
  appId: string;
  publicKeyPem: string;
  registry: TokenRegistry;
  installations: FakeInstallation[];
  /** e.g. "/api/v3" for GitHub Enterprise Server. */
  pathPrefix?: string;
  /** The server's clock minus real time. */
  clockOffsetSeconds?: number;
}

export interface GitHubRequest {
  method: string;
  /** The path below the prefix, without the query ("/app/installations"); the raw path when outside it. */
  path: string;
  status: number;
}

export interface FakeGitHub {
  url: string;
  readonly mints: number;
  requests: GitHubRequest[];
  setMode(mode: GitHubMode, opts?: { retryAfter?: number }): void;
  failNext(mode: GitHubMode, count?: number, opts?: { retryAfter?: number }): void;
  close(): Promise<void>;
}

export const DEFAULT_INSTALLATION_PERMISSIONS: Readonly<Record<string, Permission>> = {
  contents: "write", metadata: "read", pull_requests: "write", issues: "write",
  actions: "write", checks: "read", statuses: "read", administration: "read",
};

export const MESSAGES = {
  badJwt: "A JSON web token could not be decoded",
  iat: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
  exp: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
  expTooFar: "'Expiration time' claim ('exp') is too far in the future",
  permissions: "The permissions requested are not granted to this installation.",
  repositories: "There is at least one repository that does not exist or is not accessible to the parent installation.",
  secondary: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
} as const;

interface Choice { mode: GitHubMode; retryAfter?: number }
interface Answer { status: number; body: unknown; headers?: Record<string, string> }

const DOCS = "https://docs.github.com/rest";
const fail = (status: number, message: string, headers?: Record<string, string>): Answer => ({ status, body: { message, documentation_url: DOCS }, headers });

const MODE_ANSWERS: Partial<Record<GitHubMode, (c: Choice) => Answer>> = {
  "401": () => fail(401, MESSAGES.badJwt),
  "403": () => fail(403, "Resource not accessible by integration"),
  "404": () => fail(404, "Not Found"),
  "422": () => fail(422, MESSAGES.permissions),
  "429": (c) => fail(429, "API rate limit exceeded", { "Retry-After": String(c.retryAfter ?? 1) }),
  "secondary-rate-limit": (c) => fail(403, MESSAGES.secondary, { "Retry-After": String(c.retryAfter ?? 1) }),
  "500": () => fail(500, "Internal Server Error"),
  garbage: () => ({ status: 200, body: "<html>oops</html>", headers: { "Content-Type": "text/html" } }),
};

function base64url(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** Why GitHub would refuse this JWT, or undefined when it is good. */
export function jwtProblem(authorization: string | undefined, appId: string, key: KeyObject, nowS: number): string | undefined {
  const jwt = /^bearer (.+)$/i.exec(authorization ?? "")?.[1];
  const parts = jwt?.split(".") ?? [];
  if (parts.length !== 3) return MESSAGES.badJwt;
  const [head, body, sig] = parts as [string, string, string];
  let payload: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    if ((JSON.parse(base64url(head).toString()) as { alg?: unknown }).alg !== "RS256") return MESSAGES.badJwt;
    if (!verify("RSA-SHA256", Buffer.from(`${head}.${body}`), key, base64url(sig))) return MESSAGES.badJwt;
    payload = JSON.parse(base64url(body).toString()) as typeof payload;
  } catch {
    return MESSAGES.badJwt;
  }
  const { iss, iat, exp } = payload;
  if (String(iss) !== appId) return MESSAGES.badJwt;
  if (!Number.isInteger(iat) || (iat as number) > nowS + 60) return MESSAGES.iat;
  if (!Number.isInteger(exp) || (exp as number) <= nowS) return MESSAGES.exp;
  if ((exp as number) - (iat as number) > 600) return MESSAGES.expTooFar;
  return undefined;
}

class FakeGitHubServer implements FakeGitHub {
  url = "";
  readonly requests: GitHubRequest[] = [];
  private minted = 0;
  private mode: Choice = { mode: "ok" };
  private readonly queue: Choice[] = [];
  private readonly key: KeyObject;
  private readonly prefix: string;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly o: FakeGitHubOptions) {
    this.key = createPublicKey(o.publicKeyPem);
    this.prefix = (o.pathPrefix ?? "").replace(/\/+$/, "");
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  get mints(): number {
    return this.minted;
  }

  async listen(): Promise<void> {
    this.url = `http://127.0.0.1:${await listenOnLoopback(this.server)}${this.prefix}`;
  }


  setMode(mode: GitHubMode, opts: { retryAfter?: number } = {}): void {
    this.mode = { mode, ...opts };
  }

  failNext(mode: GitHubMode, count = 1, opts: { retryAfter?: number } = {}): void {
    for (let i = 0; i < count; i++) this.queue.push({ mode, ...opts });
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }

  private nowMs(): number {
    return Date.now() + (this.o.clockOffsetSeconds ?? 0) * 1000;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const raw = (req.url ?? "").split("?")[0]!;
    const inside = raw.startsWith(`${this.prefix}/`);
    const path = inside ? raw.slice(this.prefix.length) : raw;
    const record: GitHubRequest = { method: req.method ?? "", path, status: 0 };
    this.requests.push(record);
    const choice = this.queue.shift() ?? this.mode;
    if (choice.mode === "hang") return;
    const answer = inside ? this.answer(choice, req, path, body) : fail(404, "Not Found");
    record.status = answer.status;
    this.send(res, answer);
  }

  private answer(choice: Choice, req: IncomingMessage, path: string, body: string): Answer {
    const forced = MODE_ANSWERS[choice.mode];
    if (forced) return forced(choice);
    const problem = jwtProblem(req.headers.authorization, this.o.appId, this.key, Math.floor(this.nowMs() / 1000));
    if (problem) return fail(401, problem);
    return this.route(req.method ?? "GET", path, body);
  }

  private route(method: string, path: string, body: string): Answer {
    const seg = path.split("/").slice(1).map(decodeURIComponent);
    const find = (pred: (i: FakeInstallation) => boolean): Answer => {
      const found = this.o.installations.find(pred);
      return found ? { status: 200, body: installationJson(found) } : fail(404, "Not Found");
    };
    const owns = (i: FakeInstallation, owner: string | undefined) => i.account.toLowerCase() === owner?.toLowerCase();
    if (method === "GET" && path === "/app/installations") return { status: 200, body: this.o.installations.map(installationJson) };
    if (method === "GET" && seg.length === 4 && seg[0] === "repos" && seg[3] === "installation") {
      return find((i) => owns(i, seg[1]) && (!i.repositories || i.repositories.some((r) => r.toLowerCase() === seg[2]!.toLowerCase())));
    }
    if (method === "GET" && seg.length === 3 && seg[0] === "orgs" && seg[2] === "installation") return find((i) => owns(i, seg[1]) && i.type !== "User");
    if (method === "GET" && seg.length === 3 && seg[0] === "users" && seg[2] === "installation") return find((i) => owns(i, seg[1]) && i.type === "User");
    const mint = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (method === "POST" && mint) return this.mint(Number(mint[1]), body);
    return fail(404, "Not Found");
  }

  private mint(id: number, text: string): Answer {
    const inst = this.o.installations.find((i) => i.id === id);
    if (!inst) return fail(404, "Not Found");
    let asked: { repositories?: unknown; permissions?: unknown };
    try {
      asked = text.trim() ? (JSON.parse(text) as typeof asked) : {};
    } catch {
      return fail(400, "Problems parsing JSON");
    }
    const granted = inst.permissions ?? DEFAULT_INSTALLATION_PERMISSIONS;
    const repos = asked.repositories as string[] | undefined;
    if (repos && (!Array.isArray(repos) || repos.some((r) => inst.repositories && !inst.repositories.includes(r)))) return fail(422, MESSAGES.repositories);
    const perms = asked.permissions as Record<string, Permission> | undefined;
    if (perms && Object.entries(perms).some(([n, a]) => (n === "administration" && a === "write") || !allows(granted[n], a))) return fail(422, MESSAGES.permissions);
    const token = randomToken();
    const permissions = perms && Object.keys(perms).length ? perms : { ...granted };
    const repositories = repos ?? inst.repositories ?? null;
    this.o.registry.add({ token, expiresAt: Date.now() + 3600_000, repositories, permissions });
    this.minted++;
    const expiresAt = new Date(this.nowMs() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const listed = repositories?.map((name) => ({ id: 1, name, full_name: `${inst.account}/${name}`, private: true }));
    return { status: 201, body: { token, expires_at: expiresAt, permissions, repository_selection: repositories ? "selected" : "all", ...(listed ? { repositories: listed } : {}) } };
  }

  /** Always with a Date header on the server's (offset) clock, as auth-app reads it after a clock-skew 401. */
  private send(res: ServerResponse, a: Answer): void {
    res.writeHead(a.status, { "Content-Type": "application/json; charset=utf-8", Date: new Date(this.nowMs()).toUTCString(), ...a.headers });
    res.end(typeof a.body === "string" ? a.body : JSON.stringify(a.body));
  }
}

function allows(granted: Permission | undefined, asked: Permission): boolean {
  return granted === "write" || (granted === "read" && asked === "read");
}

function installationJson(i: FakeInstallation): Record<string, unknown> {
  return {
    id: i.id,
    account: { login: i.account, type: i.type ?? "Organization" },
    target_type: i.type ?? "Organization",
    repository_selection: i.repositories ? "selected" : "all",
    permissions: i.permissions ?? DEFAULT_INSTALLATION_PERMISSIONS,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** A fresh RSA key pair for a test app (never committed): the private key as PKCS#1 and PKCS#8 PEM. */
export function generateAppKeys(): { pkcs1: string; pkcs8: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    pkcs1: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    pkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

export async function startFakeGitHub(o: FakeGitHubOptions): Promise<FakeGitHub> {
  const server = new FakeGitHubServer(o);
  await server.listen();
  return server;
}
