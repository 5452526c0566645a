/**
 * Issue 12's property: whatever git sends, whatever the environment holds and whatever the broker
 * answers, `get` prints nothing or exactly a clean answer, writes nothing outside its cache folder, and
 * shows no secret on stderr or in the trace (only "…" and its last 4 characters). In process: git's
 * action through runGitAction with a fake Io (temporary HOME, fixed clock) and a fake broker on
 * loopback that answers what each run drew, so the real transport and answer checks run too.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGitAction } from "../../src/commands/git";
import { parseRequest } from "../../src/protocol/parse";
import { valueProblem, isCleanToken } from "../../src/text";
import { listenOnLoopback } from "../servers/listen";
import { fakeIo } from "./fake-io";

const RUNS = 500;
const START = Date.UTC(2031, 0, 1, 12);
const PREFIX = "git-credential-vers: ";
const TRACE_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z git-credential-vers\[4242\] /;
/** Anything a terminal may act on: C0 (but the newline ending each line), DEL, C1, line separators, bidi overrides. */
const UNSAFE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

// ---------------------------------------------------------------------------------------------
// The fake broker: answers each request with what the current run drew, and keeps what it was sent.

interface Answer {
  status: number;
  body: string;
}

let broker: Server;
let brokerUrl: string;
let answer: Answer = { status: 500, body: "" };
let received: Array<{ authorization?: string; body: string }> = [];

beforeAll(async () => {
  broker = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      received.push({ authorization: req.headers.authorization, body });
      // An answer may echo the request's Authorization back (a proxy or a broker that quotes what it refused).
      const echoed = answer.body.replace("{authorization}", JSON.stringify(req.headers.authorization ?? "").slice(1, -1));
      res.writeHead(answer.status, { "content-type": "application/json" }).end(echoed);
    });
  });
  brokerUrl = `http://127.0.0.1:${await listenOnLoopback(broker)}`;
});

afterAll(async () => {
  broker.closeAllConnections();
  await new Promise((resolve) => broker.close(resolve));
});

// ---------------------------------------------------------------------------------------------
// What a run draws.

/** A secret and its 12-character random parts: no part may appear on stderr (the last 4 characters may). */
interface Secret {
  value: string;
  parts: string[];
}

const part = fc.stringMatching(/^[A-Za-z0-9]{12}$/);
const odd = fc.constantFrom("\n", "\r", "\t", " ", "\x1b", "\x00", "\x07", "\x7f", "\x85", "\u2028", "\u202e", "é", "“");
function secret(prefix: string): fc.Arbitrary<Secret> {
  return fc.oneof(
    { weight: 3, arbitrary: part.map((p) => ({ value: `${prefix}${p}`, parts: [p] })) },
    { weight: 2, arbitrary: fc.tuple(part, odd, part).map(([a, c, b]) => ({ value: `${prefix}${a}${c}${b}`, parts: [a, b] })) },
    fc.tuple(odd, part, odd).map(([c, p, d]) => ({ value: `${c}${prefix}${p}${d}`, parts: [p] })),
    part.map((p) => ({ value: `${prefix}${p.repeat(800)}`, parts: [p] })), // over 8 KiB
  );
}

/** Text with characters that matter: control characters, separators, escapes, non-ASCII. */
const junk = fc.string({ unit: fc.constantFrom("a", "Z", "0", "/", ".", "-", "_", "%", "=", "@", ":", "#", "?", " ", "\t", "\r", "\x1b", "\x07", "\x85", "\u2028", "\u202e", "é", "😀"), maxLength: 30 });
const nameLike = fc.constantFrom("acme/widgets.git", "acme/widgets", "Acme/Widgets.GIT", "acme", "acme/", "/widgets.git", "acme/.git", "acme.git", "acme/../x", "acme/widgets/extra", "");
const hostLike = fc.constantFrom("github.com", "GitHub.COM", "github.com:443", "ghe.example.com", "github.com.evil.example", "github.com:8443", "");

const requestLine = fc.oneof(
  fc.tuple(fc.constant("protocol"), fc.oneof({ weight: 3, arbitrary: fc.constantFrom("https", "HTTPS", "http", "ssh") }, { weight: 1, arbitrary: junk })),
  fc.tuple(fc.constant("host"), fc.oneof({ weight: 3, arbitrary: hostLike }, { weight: 1, arbitrary: junk })),
  { weight: 2, arbitrary: fc.tuple(fc.constant("path"), fc.oneof({ weight: 3, arbitrary: nameLike }, { weight: 1, arbitrary: junk })) },
  fc.tuple(fc.constant("url"), fc.tuple(fc.constantFrom("https", "http"), hostLike, fc.oneof(nameLike, junk.map(encodeURIComponent), fc.constantFrom("acme%0aevil/w.git", "acme/%1b]0;x%07.git"))).map(([p, h, path]) => `${p}://${h}/${path}`)),
  fc.tuple(fc.constantFrom("username", "password", "capability[]", "wwwauth[]", "quit"), junk),
);

/** Mostly a request for github.com over https, with more lines (duplicates, url=, paths); sometimes anything. */
const requestText = fc.oneof(
  { weight: 4, arbitrary: fc.array(requestLine, { maxLength: 2 }).map((more) => [["protocol", "https"], ["host", "github.com"], ...more] as Array<[string, string]>) },
  { weight: 1, arbitrary: fc.array(requestLine, { maxLength: 6 }) },
).chain((lines) =>
  fc.oneof(
    { weight: 9, arbitrary: fc.constant(lines.map(([k, v]) => `${k}=${v}\n`).join("") + "\n") },
    { weight: 1, arbitrary: fc.tuple(fc.constant(lines), fc.constantFrom("\0", "no equals sign\n", "\r\n")).map(([l, tail]) => l.map(([k, v]) => `${k}=${v}\n`).join("") + tail) },
  ),
);

const iso = (ms: number) => new Date(ms).toISOString();
const expiresAt = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 24 * 3600 }).map((s) => iso(START + s * 1000).replace(/\.\d{3}Z$/, "Z")) },
  fc.integer({ min: 60, max: 3600 }).map((s) => iso(START + s * 1000).replace("Z", "+00:00")),
  fc.constantFrom("9999-12-31T00:00:00Z", "2099", "Dec 31 2099", iso(START - 1000), iso(START + 25 * 3600_000), "", "2031-01-01", "2031-01-01T12:30:00"),
  junk,
  fc.integer().map((n) => n as unknown as string),
);

const token = fc.oneof(
  { weight: 3, arbitrary: part.map((p) => ({ value: `ghs_${p}`, parts: [p] })) },
  { weight: 2, arbitrary: secret("ghs_") },
  fc.constantFrom({ value: "", parts: [] }, { value: 42 as unknown as string, parts: [] }),
);

const brokerAnswer = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(200, 201), token, expiresAt, fc.option(fc.dictionary(junk, fc.constantFrom("read", "write", "admin")))).map(([status, t, exp, permissions]) => ({
      status,
      token: t,
      body: JSON.stringify({ token: t.value, expires_at: exp, ...(permissions ? { permissions } : {}) }),
    })),
  },
  fc.tuple(fc.constantFrom(200, 201), fc.oneof(junk, fc.constant("[]"), fc.constant("null"))).map(([status, body]) => ({ status, token: undefined, body })),
  fc.tuple(fc.constantFrom(400, 401, 403, 404, 422), junk, junk).map(([status, message, error]) => ({ status, token: undefined, body: JSON.stringify({ message, error }) })),
  fc.constantFrom(400, 401, 403, 422).map((status) => ({ status, token: undefined, body: JSON.stringify({ message: "refused Authorization: {authorization}" }) })),
);

/** Absent `weight` times in `weight + 1`: each setting is usually unset, so that most runs reach the broker. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, weight = 4): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
}

const environment = fc.record({
  VERS_API_KEY: fc.oneof({ weight: 4, arbitrary: secret("vers_") }, { weight: 1, arbitrary: fc.constant(undefined) }),
  GITHUB_TOKEN: sometimes(secret("ghp_"), 1),
  GH_TOKEN: sometimes(secret("gho_")),
  keysJson: sometimes(fc.oneof(secret("vers_").map((s) => ({ key: s as Secret | undefined, text: JSON.stringify({ keys: { VERS_API_KEY: s.value } }) })), junk.map((text) => ({ key: undefined, text })))),
  VERS_TOKEN_SOURCE: sometimes(fc.oneof({ weight: 3, arbitrary: fc.constant("static") }, { weight: 4, arbitrary: fc.constantFrom("auto", "broker", "grant", "github-app") }, { weight: 1, arbitrary: junk }), 2),
  VERS_FALLBACK: sometimes(fc.constantFrom("static", "off"), 2),
  VERS_GITHUB_HOST: sometimes(fc.oneof({ weight: 3, arbitrary: fc.constantFrom("github.com", "github.com,ghe.example.com", "GitHub.com:443") }, { weight: 1, arbitrary: junk })),
  VERS_GITHUB_PROFILE: sometimes(fc.oneof({ weight: 3, arbitrary: fc.constantFrom("read", "develop", "clone", "ci") }, { weight: 1, arbitrary: junk })),
  VERS_BASE_URL: sometimes(fc.constantFrom("#frag", "?q", "/\x1bx"), 9),
  VERS_CREDENTIAL_TRACE: sometimes(fc.constant("1"), 1),
  VERS_CREDENTIAL_STRICT: sometimes(fc.constant("1"), 3),
  /** The cache folder is a link to another folder of this user's. */
  cacheLink: sometimes(fc.constant(true)),
});

// ---------------------------------------------------------------------------------------------
// What is checked.

/** Every file and folder under `root` (links not followed) with its type, mode and a digest of its content. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const kind = st.isDirectory() ? "folder" : st.isFile() ? createHash("sha256").update(readFileSync(path)).digest("hex") : "other";
      out.set(path, `${(st.mode & 0o7777).toString(8)} ${kind}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

/** Paths the helper may make or change: its cache folder, what is in it, and the folders above it up to HOME. */
function mayChange(path: string, home: string, cacheDir: string): boolean {
  return path === cacheDir || path.startsWith(`${cacheDir}/`) || (cacheDir.startsWith(`${path}/`) && path.startsWith(`${home}/`));
}

function expectedHosts(value: string | undefined): string[] {
  return (value?.trim() ? value.split(",") : ["github.com"]).map((h) => h.trim().toLowerCase().replace(/:443$/, ""));
}

describe("get: clean output, nothing written outside the cache, no secret on stderr", () => {
  it("for random requests, environments and broker answers", async () => {
    await fc.assert(
      fc.asyncProperty(requestText, environment, brokerAnswer, async (input, drawn, reply) => {
        const env: Record<string, string> = { VERS_BASE_URL: brokerUrl + (drawn.VERS_BASE_URL ?? "") };
        for (const name of ["VERS_API_KEY", "GITHUB_TOKEN", "GH_TOKEN"] as const) if (drawn[name]) env[name] = drawn[name].value;
        for (const name of ["VERS_TOKEN_SOURCE", "VERS_FALLBACK", "VERS_GITHUB_HOST", "VERS_GITHUB_PROFILE", "VERS_CREDENTIAL_TRACE", "VERS_CREDENTIAL_STRICT"] as const) {
          if (drawn[name] !== undefined) env[name] = drawn[name];
        }
        const io = await fakeIo(env, START);
        try {
          if (drawn.cacheLink) {
            mkdirSync(join(io.homedir, "elsewhere"), { mode: 0o700 });
            mkdirSync(dirname(io.cacheDir), { mode: 0o700 });
            symlinkSync(join(io.homedir, "elsewhere"), io.cacheDir);
          }
          if (drawn.keysJson) {
            mkdirSync(join(io.homedir, ".vers"), { mode: 0o700 });
            writeFileSync(join(io.homedir, ".vers", "keys.json"), drawn.keysJson.text, { mode: 0o600 });
          }
          answer = { status: reply.status, body: reply.body };
          received = [];
          io.input = input;
          const before = snapshot(io.homedir);

          const code = await runGitAction("get", {}, io);

          // Exit 0 or 1; stdout empty (or quit=1 when strict and failing), or exactly the answer lines.
          expect([0, 1]).toContain(code);
          const out = io.out;
          if (out === "" || out === "quit=1\n") {
            if (out !== "") expect(code).toBe(1);
          } else {
            expect(code).toBe(0);
            const lines = out.split("\n");
            expect(lines.pop()).toBe("");
            expect(lines[0]).toBe("username=x-access-token");
            expect(lines[1]).toMatch(/^password=/);
            const password = lines[1]!.slice("password=".length);
            expect(valueProblem(password)).toBeUndefined();
            if (lines.length === 3) {
              expect(lines[2]).toMatch(/^password_expiry_utc=\d+$/);
              expect(password).toBe(reply.token?.value);
              expect(isCleanToken(password)).toBe(true);
              // A path is answered for its one repository, never org-wide.
              const request = parseRequest(input);
              const last = received.at(-1);
              expect(last).toBeDefined();
              const repo = request.path === undefined ? undefined : /^[A-Za-z0-9_.-]+\/([A-Za-z0-9_.-]+?)(\.git)?$/i.exec(request.path)?.[1];
              if (request.path === undefined) expect(last!.body).not.toContain("repositories");
              else expect(JSON.parse(last!.body)).toMatchObject({ repositories: [repo] });
            } else {
              expect(lines).toHaveLength(2);
              expect([drawn.GITHUB_TOKEN?.value.trim(), drawn.GH_TOKEN?.value.trim()]).toContain(password);
            }
            // Only https, only a configured host.
            const request = parseRequest(input);
            expect(request.protocol?.toLowerCase()).toBe("https");
            expect(expectedHosts(env.VERS_GITHUB_HOST)).toContain(request.host!.toLowerCase().replace(/:443$/, ""));
          }

          // stderr: escaped, one line per error or warning (or trace lines), never a secret.
          const err = io.err;
          expect(err.replace(/\n/g, "")).not.toMatch(UNSAFE);
          const errLines = err === "" ? [] : err.replace(/\n$/, "").split("\n");
          expect(err === "" || err.endsWith("\n")).toBe(true);
          const ours = errLines.filter((l) => !TRACE_LINE.test(l));
          for (const line of ours) expect(line.startsWith(PREFIX), line).toBe(true);
          if (env.VERS_CREDENTIAL_TRACE === undefined) expect(ours).toEqual(errLines);
          // A failed get says one line, its error; beside an answer, a cache that cannot be used is a warning of its own.
          if (code === 1) expect(ours).toHaveLength(1);
          const told = ours.filter((l) => !l.startsWith(`${PREFIX}not using the cache`));
          expect(told.length).toBeLessThanOrEqual(1);
          const secrets = [drawn.VERS_API_KEY, drawn.GITHUB_TOKEN, drawn.GH_TOKEN, drawn.keysJson?.key, reply.token];
          for (const s of secrets) for (const p of s?.parts ?? []) expect(err).not.toContain(p);

          // Nothing written outside the cache folder.
          const after = snapshot(io.homedir);
          const outside = (m: Map<string, string>) => [...m].filter(([path]) => !mayChange(path, io.homedir, io.cacheDir));
          expect(outside(after)).toEqual(outside(before));
        } finally {
          await io.cleanup();
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
