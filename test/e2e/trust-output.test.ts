/**
 * Issue 12, scope and output: a path never widens to org-wide, every value printed to git passes one
 * check, text from outside reaches stderr and the trace only escaped, an expiry that is not ISO 8601
 * within a day is an invalid answer, and bad user input (a broken keys.json, a base URL with a query
 * or fragment, a key that cannot go in a header) is named as such. Built helper, real git.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentialFill, git, helper, HELPER_BIN, run, type TestEnv } from "./harness";
import { brokerCounter, entryFiles, expectFailure, getToken, lines, ok, parseLines, PREFIX, request, startStub, tempEnvs, useServers, type StubServer } from "./fixtures";

const HOST = "github.com";
const servers = useServers();

const env = tempEnvs(() => ({
  brokerUrl: servers.broker.url,
  apiKey: servers.apiKey,
  hosts: [HOST],
  extraEnv: { VERS_TIMEOUT: "5" },
}));

const get = (t: TestEnv, fields: Record<string, string> = {}) => helper(t, ["get"], request(HOST, fields));
const raw = (text: string) => `${text}\n\n`;
/* eslint-disable no-control-regex */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
/* eslint-enable no-control-regex */

describe("a path never widens to org-wide", () => {
  const widening = ["acme", "acme/", "acme/.git", "acme.git", "/widgets.git"];

  it.each(widening)("path=%j through the helper: nothing on stdout, one line, exit 1, no broker request", async (path) => {
    const t = await env();
    const count = brokerCounter(servers.broker);
    const line = expectFailure(await get(t, { path }), /names no repository/);
    expect(line).toContain(JSON.stringify(path));
    expect(count.requests()).toBe(0);
  });

  it("through git credential fill with credential.useHttpPath: no password for any of them, our one line, no broker request", async () => {
    const t = await env();
    ok(await git(t, ["config", "--global", "credential.useHttpPath", "true"]), "git config");
    const count = brokerCounter(servers.broker);
    for (const path of widening) {
      const r = await credentialFill(t, { protocol: "https", host: HOST, path });
      expect(r.code, path).not.toBe(0); // git found no password and may not prompt
      expect(r.stdout, path).not.toMatch(/password=/);
      const ours = lines(r.stderr).filter((l) => l.startsWith(PREFIX));
      expect(ours, `${path}: ${r.stderr}`).toHaveLength(1);
      expect(ours[0], path).toMatch(/names no repository/);
    }
    expect(count.requests()).toBe(0);

    // The control: a path that names a repository gets a token for that repository alone.
    const served = ok(await credentialFill(t, { protocol: "https", host: HOST, path: "acme/widgets.git" }), "fill acme/widgets");
    expect(servers.broker.registry.lookup(parseLines(served.stdout).password!)?.repositories).toEqual(["widgets"]);
  });

  it("two url= paths that differ only in where a newline falls never share a token", async () => {
    const t = await env();
    const first = await helper(t, ["get"], raw(`url=https://${HOST}/acme%0aevil/widgets.git`));
    const second = await helper(t, ["get"], raw(`url=https://${HOST}/acme/evil%0awidgets.git`));
    const tokens = [first, second].map((r) => parseLines(r.stdout).password).filter((p) => p !== undefined);
    expect(new Set(tokens).size, "a token served for one path was served for the other").toBe(tokens.length);
    for (const r of [first, second]) expectFailure(r, /names no repository/);
  });
});

describe("every value printed to git passes one check", () => {
  const FORGED = `ghp_${"Q".repeat(36)}\nhost=evil.example\nusername=attacker`;

  function expectRefusedToken(r: Awaited<ReturnType<typeof get>>): void {
    const line = expectFailure(r, /GITHUB_TOKEN/);
    expect(line).toMatch(/control character/);
    for (const part of ["Q".repeat(36), "evil.example", "attacker"]) expect(r.stderr).not.toContain(part);
  }

  it("--source static with a newline in GITHUB_TOKEN: nothing printed, the error names GITHUB_TOKEN and never the token", async () => {
    const t = await env({ apiKey: undefined, extraEnv: { GITHUB_TOKEN: FORGED } });
    expectRefusedToken(await helper(t, ["--source", "static", "get"], request(HOST)));
    // Through git: no extra attribute reaches it either.
    t.env.VERS_TOKEN_SOURCE = "static";
    const fill = await credentialFill(t, { protocol: "https", host: HOST });
    expect(fill.stdout).not.toMatch(/evil\.example|attacker|password=/);
  });

  it("--fallback static with a newline in GITHUB_TOKEN, the broker refusing: one line naming GITHUB_TOKEN and the broker's failure", async () => {
    const t = await env({ extraEnv: { GITHUB_TOKEN: FORGED } });
    servers.broker.setMode("401");
    const r = await helper(t, ["--fallback", "static", "get"], request(HOST));
    expectRefusedToken(r);
    expect(r.stderr).toMatch(/HTTP 401/);
    expect(r.stderr).not.toMatch(/using GITHUB_TOKEN instead/);
  });

  it("a VERS_API_KEY with a newline in it: refused at once, naming VERS_API_KEY, never sent", async () => {
    const key = `vers_${"K".repeat(24)}\nX-Injected: 1`;
    const t = await env({ apiKey: key });
    const count = brokerCounter(servers.broker);
    const line = expectFailure(await get(t), /VERS_API_KEY/);
    expect(line).toMatch(/control character/);
    expect(line).not.toContain("K".repeat(24));
    expect(count.requests()).toBe(0);
  });
});

describe("a Vers key that cannot go in a header", () => {
  it("pasted with typographic quotes into ~/.vers/keys.json: refused at once, naming the file and the character, never sent", async () => {
    const t = await env({ apiKey: undefined });
    await mkdir(join(t.home, ".vers"), { mode: 0o700 });
    await writeFile(join(t.home, ".vers", "keys.json"), JSON.stringify({ keys: { VERS_API_KEY: `\u201c${servers.apiKey}\u201d` } }), { mode: 0o600 });
    const count = brokerCounter(servers.broker);
    const line = expectFailure(await get(t), /the Vers API key from ~\/\.vers\/keys\.json holds a character that is not ASCII \(U\+201C\)/);
    expect(line).not.toContain(servers.apiKey);
    expect(count.requests()).toBe(0);
  });
});

describe("text from outside is escaped before it reaches stderr or the trace", () => {
  let stub422: StubServer;
  beforeAll(async () => {
    stub422 = await startStub(422, { message: "repository \u001b]0;PWNED\u0007 is\ngit-credential-vers: forged line" });
  });
  afterAll(async () => {
    await stub422?.close();
  });

  it("a url= path holding ESC and BEL: one line, the characters escaped, none raw", async () => {
    const t = await env();
    servers.broker.setMode("404"); // where a path reaches the broker, its refusal names the path
    const r = await helper(t, ["get"], raw(`url=https://${HOST}/acme/%1b]0;PWNED%07.git`));
    const line = expectFailure(r, /PWNED/);
    expect(line).toContain("\\x1b]0;PWNED\\x07");
    expect(r.stderr).not.toMatch(CONTROL);
  });

  it("the broker's error text holding ESC, BEL and a newline: one line, escaped", async () => {
    const t = await env({ brokerUrl: stub422.url });
    const r = await get(t, { path: "acme/widgets.git" });
    const line = expectFailure(r, /HTTP 422/);
    expect(line).toContain("\\x1b]0;PWNED\\x07");
    expect(r.stderr).not.toMatch(CONTROL);
  });

  it("repository and permission names in a broker's answer carrying escapes reach neither status nor token --json", async () => {
    const hostile = await startStub(201, {
      token: `ghs_${"H".repeat(36)}`,
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
      permissions: { contents: "write", "\u001b]0;PWNED\u0007": "read" },
      repositories: [{ name: "widgets" }, { name: "\u001b[2J\u001b]0;PWNED\u0007" }],
    });
    try {
      const t = await env({ brokerUrl: hostile.url });
      await getToken(t, HOST);
      const status = await helper(t, ["status"]);
      expect(status.stdout).toContain("widgets");
      expect(status.stdout).not.toMatch(CONTROL);
      expect(status.stdout).not.toContain("PWNED");
      const json = ok(await helper(t, ["token", "--json"]), "token --json");
      expect(json.stdout).not.toContain("PWNED");
    } finally {
      await hostile.close();
    }
  });

  it("a broker refusal that quotes the key from ~/.vers/keys.json back: the line shows only its last 4 characters", async () => {
    const key = `vers_${"Q".repeat(24)}${"0123456789".repeat(20)}`;
    const quoting = await startStub(403, { message: `key ${key} may not mint for this organisation` });
    try {
      const t = await env({ apiKey: undefined, brokerUrl: quoting.url });
      await mkdir(join(t.home, ".vers"), { mode: 0o700 });
      await writeFile(join(t.home, ".vers", "keys.json"), JSON.stringify({ keys: { VERS_API_KEY: key } }), { mode: 0o600 });
      const line = expectFailure(await get(t), /HTTP 403/);
      expect(line).toContain(`…${key.slice(-4)}`);
      expect(line).not.toContain("QQQQQQQQ");
    } finally {
      await quoting.close();
    }
  });

  it("a request host holding a newline and ESC cannot forge a trace line, in a trace file or on stderr", async () => {
    const t = await env();
    const file = join(t.home, "trace.log");
    const forged = "2001-01-01T00:00:00.000Z git-credential-vers[1] FORGED";
    const input = raw(`url=https://${HOST}%0a${encodeURIComponent(forged)}%1b[2J/acme/widgets.git`);
    const toFile = await helper({ ...t, env: { ...t.env, VERS_CREDENTIAL_TRACE: file } }, ["get"], input);
    expect(toFile).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const toStderr = await helper({ ...t, env: { ...t.env, VERS_CREDENTIAL_TRACE: "1" } }, ["get"], input);
    expect(toStderr).toMatchObject({ code: 0, stdout: "" });
    for (const trace of [await readFile(file, "utf8"), toStderr.stderr]) {
      expect(trace).toContain("FORGED"); // the host was traced…
      expect(trace).not.toMatch(CONTROL); // …escaped
      for (const l of lines(trace)) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z git-credential-vers\[\d+\] /);
      expect(trace).not.toMatch(/^2001-01-01/m);
    }
  });
});

describe("an expires_at that is not ISO 8601 within 24 hours is an invalid answer", () => {
  it.each(["9999-12-31T00:00:00Z", "2099", "Dec 31 2099"])("expires_at %j: exit 1 naming an invalid answer, one retry, nothing cached", async (expiresAt) => {
    const stub = await startStub(201, { token: `ghs_${"E".repeat(36)}`, expires_at: expiresAt, permissions: { contents: "write" } });
    try {
      const t = await env({ brokerUrl: stub.url });
      const r = await get(t);
      expectFailure(r, /the broker sent an invalid answer/);
      expect(r.stdout).not.toContain("E".repeat(36));
      expect(stub.requests).toBe(2);
      const cached = await entryFiles(t.cacheDir).catch(() => []);
      expect(cached).toEqual([]);
    } finally {
      await stub.close();
    }
  });
});

describe("bad input from the user", () => {
  it("a ~/.vers/keys.json that is not JSON: the message names the file, no request", async () => {
    const t = await env({ apiKey: undefined });
    await mkdir(join(t.home, ".vers"), { mode: 0o700 });
    await writeFile(join(t.home, ".vers", "keys.json"), '{"keys": {"VERS_API_KEY": ', { mode: 0o600 });
    const count = brokerCounter(servers.broker);
    const line = expectFailure(await get(t), /keys\.json/);
    expect(line).toContain(join(t.home, ".vers", "keys.json"));
    expect(line).toMatch(/not JSON/);
    expect(count.requests()).toBe(0);
  });

  it("a FIFO in ~/.vers/keys.json's place: get ends at once, naming the file", async () => {
    const t = await env({ apiKey: undefined });
    await mkdir(join(t.home, ".vers"), { mode: 0o700 });
    execFileSync("mkfifo", ["-m", "600", join(t.home, ".vers", "keys.json")]);
    const r = await run(HELPER_BIN, ["get"], { env: t.env, cwd: t.home, input: request(HOST), timeoutMs: 20_000 });
    expect(r.signal, r.stderr).toBeNull();
    expectFailure(r, /~\/\.vers\/keys\.json .* cannot be read \(not a regular file\)/);
  });

  it("a FIFO as GITHUB_APP_PRIVATE_KEY_FILE: get ends at once, naming the file", async () => {
    const pem = join(tmpdir(), `vers-fifo-${process.pid}-${Date.now()}.pem`);
    execFileSync("mkfifo", ["-m", "600", pem]);
    try {
      const t = await env({ apiKey: undefined, extraEnv: { GITHUB_APP_ID: "1", GITHUB_APP_PRIVATE_KEY_FILE: pem, GITHUB_API_URL: servers.broker.url } });
      const r = await run(HELPER_BIN, ["get"], { env: t.env, cwd: t.home, input: request(HOST), timeoutMs: 20_000 });
      expect(r.signal, r.stderr).toBeNull();
      expectFailure(r, /GITHUB_APP_PRIVATE_KEY_FILE .*cannot be read \(not a regular file\)/);
    } finally {
      await rm(pem, { force: true });
    }
  });

  it.each([
    ["a fragment", (url: string) => `${url}/path#frag`],
    ["an empty fragment", (url: string) => `${url}#`],
    ["a query", (url: string) => `${url}/path?q`],
    ["a query on the origin", (url: string) => `${url}?q=1`],
  ])("VERS_BASE_URL with %s: refused as a bad setting, no request", async (_name, make) => {
    const t = await env({ brokerUrl: make(servers.broker.url) });
    const count = brokerCounter(servers.broker);
    expectFailure(await get(t), /VERS_BASE_URL must not have a query or fragment/);
    expect(count.requests()).toBe(0);
  });
});

describe("the control", () => {
  it("a plain get still works and caches one entry", async () => {
    const t = await env();
    await getToken(t, HOST);
    expect((await readdir(t.cacheDir)).filter((n) => n.endsWith(".json"))).toHaveLength(1);
  });
});
