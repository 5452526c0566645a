import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSelfSignedCert } from "./tls";
import type { MintedToken, TokenRegistry } from "./token-registry";
import { listenOnLoopback } from "./listen";

export interface GitHostOptions {
  registry: TokenRegistry;
  /** Working folder (certificate, repositories, HOME); a temporary one is made and removed when absent. */
  dir?: string;
  org?: string;
}

/** One request the host answered, for tests that need to know which token was refused and why. */
export interface GitHostRequest {
  method: string;
  path: string;
  status: number;
  /** The Basic-auth password presented, if any. */
  token: string | undefined;
  reason: string;
}

export interface GitHost {
  url: string;
  host: string;
  caFile: string;
  root: string;
  createRepo(owner: string, name: string): Promise<string>;
  readonly refused: number;
  readonly served: number;
  requests: GitHostRequest[];
  close(): Promise<void>;
}

interface Target { owner: string; name: string; push: boolean }
type Verdict =
  | { ok: true; token: string }
  | { ok: false; status: 401 | 403 | 404; reason: string; token: string | undefined };

interface CgiHead { status: number; headers: Array<[string, string]> }

function gitEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, GIT_CONFIG_NOSYSTEM: "1", LANG: "C" };
}

function runGit(args: string[], home: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { env: gitEnv(home) }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

function basicPassword(authorization: string | undefined): string | undefined {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "")?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const password = colon < 0 ? "" : decoded.slice(colon + 1);
  return password === "" ? undefined : password;
}

function parseTarget(url: URL): Target | undefined {
  const m = /^\/([^/]+)\/([^/]+?)(?:\.git)?(?:\/.*)?$/.exec(url.pathname);
  const owner = m?.[1];
  const name = m?.[2];
  if (owner === undefined || name === undefined) return undefined;
  const push = url.searchParams.get("service") === "git-receive-pack" || url.pathname.endsWith("/git-receive-pack");
  return { owner, name, push };
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function scopeProblem(t: MintedToken, target: Target, org: string): string | undefined {
  if (!sameName(target.owner, org)) return `token is for ${org}, not ${target.owner}`;
  if (t.repositories !== null && !t.repositories.some((r) => sameName(r, target.name))) {
    return `repository ${target.name} is not in the token's scope`;
  }
  if (target.push && t.permissions.contents !== "write") return "push needs contents: write";
  return undefined;
}

function judge(req: IncomingMessage, url: URL, registry: TokenRegistry, org: string): Verdict {
  const token = basicPassword(req.headers.authorization);
  const deny = (status: 401 | 403 | 404, reason: string): Verdict => ({ ok: false, status, reason, token });
  if (token === undefined) return deny(401, "no credentials");
  const minted = registry.lookup(token);
  if (minted === undefined) return deny(401, "unknown token");
  if (Date.now() >= minted.expiresAt) return deny(401, "expired token");
  const target = parseTarget(url);
  if (target === undefined) return deny(404, "not a repository path");
  const problem = scopeProblem(minted, target, org);
  return problem === undefined ? { ok: true, token } : deny(403, problem);
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}

function cgiEnv(req: IncomingMessage, url: URL, root: string, home: string): Record<string, string> {
  const env: Record<string, string> = {
    ...gitEnv(home),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_USER: "x-access-token",
    REMOTE_ADDR: "127.0.0.1",
  };
  const optional: Array<[string, string | undefined]> = [
    ["CONTENT_LENGTH", req.headers["content-length"]],
    ["HTTP_CONTENT_ENCODING", req.headers["content-encoding"]],
    ["HTTP_GIT_PROTOCOL", single(req.headers["git-protocol"])],
  ];
  for (const [k, v] of optional) if (v !== undefined) env[k] = v;
  return env;
}

function headerEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf < 0 && lf < 0) return undefined;
  if (lf < 0 || (crlf >= 0 && crlf < lf)) return { at: crlf, length: 4 };
  return { at: lf, length: 2 };
}

function parseCgiHead(text: string): CgiHead {
  const head: CgiHead = { status: 200, headers: [] };
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") head.status = parseInt(value, 10) || 500;
    else head.headers.push([name, value]);
  }
  return head;
}

function writeCgiHead(res: ServerResponse, head: CgiHead): void {
  res.statusCode = head.status;
  for (const [name, value] of head.headers) {
    const prior = res.getHeader(name);
    if (prior === undefined) res.setHeader(name, value);
    else res.setHeader(name, [...(Array.isArray(prior) ? prior : [String(prior)]), value]);
  }
}

function failCgi(res: ServerResponse, why: string): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  res.writeHead(500, { "Content-Type": "text/plain" });
  res.end(`git http-backend failed: ${why}\n`);
}

/** Reads the CGI header block from the backend's stdout, then streams the rest as the body. */
function relayCgi(child: ChildProcessWithoutNullStreams, res: ServerResponse): void {
  let head = Buffer.alloc(0);
  let started = false;
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (end === undefined) return;
    started = true;
    child.stdout.off("data", onData);
    writeCgiHead(res, parseCgiHead(head.subarray(0, end.at).toString("latin1")));
    res.write(head.subarray(end.at + end.length));
    child.stdout.pipe(res);
  };
  child.stdout.on("data", onData);
  child.on("error", (err) => failCgi(res, err.message));
  child.on("close", (code) => {
    if (!started) failCgi(res, `exit ${code ?? "signal"}: ${stderr.trim()}`);
  });
}

class GitHostServer implements GitHost {
  url = "";
  host = "";
  caFile = "";
  readonly root: string;
  readonly requests: GitHostRequest[] = [];
  private refusedCount = 0;
  private servedCount = 0;
  private server: Server | undefined;
  private readonly home: string;
  private readonly org: string;
  private readonly sockets = new Set<Socket>();
  private readonly children = new Set<ChildProcessWithoutNullStreams>();

  constructor(private readonly dir: string, private readonly ownsDir: boolean, private readonly registry: TokenRegistry, org: string) {
    this.root = join(dir, "repos");
    this.home = join(dir, "home");
    this.org = org;
  }

  get refused(): number {
    return this.refusedCount;
  }

  get served(): number {
    return this.servedCount;
  }

  async start(): Promise<void> {
    const tlsDir = join(this.dir, "tls");
    await Promise.all([mkdir(this.root, { recursive: true }), mkdir(this.home, { recursive: true }), mkdir(tlsDir, { recursive: true })]);
    const cert = await makeSelfSignedCert(tlsDir);
    this.caFile = cert.certFile;
    const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => this.handle(req, res));
    server.on("connection", (s: Socket) => this.track(s));
    this.server = server;
    const port = await listenOnLoopback(server);
    this.host = `127.0.0.1:${port}`;
    this.url = `https://${this.host}`;
  }

  async createRepo(owner: string, name: string): Promise<string> {
    const bare = join(this.root, owner, `${name}.git`);
    await mkdir(join(this.root, owner), { recursive: true });
    await runGit(["init", "--quiet", "--bare", "--initial-branch=main", bare], this.home);
    await runGit(["--git-dir", bare, "config", "http.receivepack", "true"], this.home);
    await this.seed(bare, `${owner}/${name}`);
    return `${this.url}/${owner}/${name}.git`;
  }

  async close(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL");
    const server = this.server;
    if (server !== undefined) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    }
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }

  private async seed(bare: string, title: string): Promise<void> {
    const work = await mkdtemp(join(this.dir, "seed-"));
    const h = this.home;
    try {
      await runGit(["init", "--quiet", "--initial-branch=main", work], h);
      await writeFile(join(work, "README.md"), `# ${title}\n`);
      await runGit(["-C", work, "add", "README.md"], h);
      const who = ["-c", "user.name=Git Host", "-c", "user.email=git-host@example.invalid"];
      await runGit(["-C", work, ...who, "commit", "--quiet", "-m", "Initial commit"], h);
      await runGit(["-C", work, "push", "--quiet", bare, "main"], h);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }

  private log(req: IncomingMessage, status: number, token: string | undefined, reason: string): void {
    this.requests.push({ method: req.method ?? "", path: req.url ?? "", status, token, reason });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = URL.canParse(req.url ?? "", this.url) ? new URL(req.url ?? "", this.url) : undefined;
    if (url === undefined || url.origin !== this.url) {
      req.resume();
      res.writeHead(400, { "Content-Type": "text/plain" });
      return void res.end("bad request target\n");
    }
    const verdict = judge(req, url, this.registry, this.org);
    if (!verdict.ok) return this.refuse(req, res, verdict);
    this.servedCount++;
    this.log(req, 200, verdict.token, "served");
    this.runBackend(req, res, url);
  }

  private refuse(req: IncomingMessage, res: ServerResponse, v: Extract<Verdict, { ok: false }>): void {
    if (v.status !== 404) this.refusedCount++;
    this.log(req, v.status, v.token, v.reason);
    const headers: Record<string, string> = { "Content-Type": "text/plain" };
    if (v.status === 401) headers["WWW-Authenticate"] = 'Basic realm="git-host"';
    req.resume();
    res.writeHead(v.status, headers);
    res.end(`${v.reason}\n`);
  }

  private runBackend(req: IncomingMessage, res: ServerResponse, url: URL): void {
    let env: Record<string, string>;
    try {
      env = cgiEnv(req, url, this.root, this.home);
    } catch {
      req.resume();
      return failCgi(res, "bad path");
    }
    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    this.children.add(child);
    child.on("close", () => this.children.delete(child));
    child.stdin.on("error", () => undefined); // the backend may stop reading early
    req.pipe(child.stdin);
    relayCgi(child, res);
    res.on("close", () => {
      if (!res.writableFinished) child.kill("SIGKILL");
    });
  }
}

export async function startGitHost(opts: GitHostOptions): Promise<GitHost> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "git-host-")));
  const host = new GitHostServer(dir, opts.dir === undefined, opts.registry, opts.org ?? "acme");
  try {
    await host.start();
  } catch (err) {
    await host.close();
    throw err;
  }
  return host;
}
