import { execFileSync } from "node:child_process";
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTrace, redact } from "../../src/trace";

const NOW = Date.parse("2030-01-01T12:00:00.000Z");
const now = () => NOW;
const line = (message: string) => `2030-01-01T12:00:00.000Z git-credential-vers[${process.pid}] ${message}\n`;

describe("redact", () => {
  it.each<[string | undefined, string]>([
    [undefined, "(none)"],
    ["", "(none)"],
    ["a", "…"],
    ["abcd", "…"],
    ["12345678", "…"],
    ["123456789", "…6789"],
    ["ghs_16C7e42F292c6912E7710c838347Ae178B4a", "…8B4a"],
    ["vers_live_secretkey_WXYZ", "…WXYZ"],
  ])("%j → %j", (secret, shown) => {
    expect(redact(secret)).toBe(shown);
  });

  it("never shows more than the last 4 characters", () => {
    for (let n = 1; n <= 64; n++) {
      const secret = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + (i % 26))).join("");
      const shown = redact(secret);
      expect(shown.startsWith("…")).toBe(true);
      expect(shown.length).toBeLessThanOrEqual(5);
      expect(shown).toBe(n <= 8 ? "…" : `…${secret.slice(-4)}`);
    }
  });
});

/** createTrace with VERS_CREDENTIAL_TRACE set to `setting` (and any other variables), capturing stderr. */
function traceWith(setting: string | undefined, env: Record<string, string> = {}, now = () => NOW) {
  const written: string[] = [];
  const trace = createTrace({ env: { ...env, VERS_CREDENTIAL_TRACE: setting }, stderr: (t) => written.push(t), now, pid: process.pid });
  return { trace, written };
}

describe("createTrace", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vers-trace-"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([undefined, "", "  ", "0", "false", "FALSE", " False "])("is off for %j", (setting) => {
    const { trace, written } = traceWith(setting);
    trace("hello");
    expect(written).toEqual([]);
  });

  it.each(["1", "true", "TRUE", " 1 "])("writes to stderr for %j, one stamped line per message", (setting) => {
    const { trace, written } = traceWith(setting);
    trace("minting a token for acme/widgets");
    trace("HTTP 201 in 12 ms");
    expect(written).toEqual([line("minting a token for acme/widgets"), line("HTTP 201 in 12 ms")]);
  });

  it("stamps each line with the pid it was given", () => {
    const written: string[] = [];
    createTrace({ env: { VERS_CREDENTIAL_TRACE: "1" }, stderr: (t) => written.push(t), now, pid: 4242 })("x");
    expect(written).toEqual(["2030-01-01T12:00:00.000Z git-credential-vers[4242] x\n"]);
  });

  it("appends to a file path otherwise, 0600, nothing on stderr", async () => {
    const path = join(dir, "trace.log");
    const first = traceWith(path);
    first.trace("first");
    traceWith(path).trace("second");
    expect(first.written).toEqual([]);
    expect(await readFile(path, "utf8")).toBe(line("first") + line("second"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("takes a path with surrounding blanks trimmed", async () => {
    const path = join(dir, "trimmed.log");
    traceWith(`  ${path}\n`).trace("x");
    expect(await readFile(path, "utf8")).toBe(line("x"));
  });

  it("ignores an unwritable trace file instead of failing", async () => {
    const path = join(dir, "a-folder");
    await mkdir(path);
    const { trace, written } = traceWith(path);
    expect(() => trace("x")).not.toThrow();
    expect(written).toEqual([]);
  });

  it("writes nothing to a FIFO in the trace file's place, and does not wait for a reader", () => {
    const path = join(dir, "fifo");
    execFileSync("mkfifo", ["-m", "600", path]);
    const { trace, written } = traceWith(path);
    expect(() => trace("x")).not.toThrow();
    expect(written).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)("writes nothing to a trace file another user owns (needs root to make one)", async () => {
    const path = join(dir, "theirs.log");
    await writeFile(path, "", { mode: 0o666 });
    await chown(path, 65534, 65534);
    createTrace({ env: { VERS_CREDENTIAL_TRACE: path }, stderr: () => undefined, now, pid: 1, uid: 0 })("secret-ish scope");
    expect(await readFile(path, "utf8")).toBe("");
  });

  it("stamps each line with the clock it was given", () => {
    let t = NOW;
    const { trace, written } = traceWith("1", {}, () => t);
    trace("a");
    t += 1500;
    trace("b");
    expect(written).toEqual([line("a"), `2030-01-01T12:00:01.500Z git-credential-vers[${process.pid}] b\n`]);
  });
});

describe("createTrace: nothing raw reaches the terminal", () => {
  it("escapes control characters, so a request field cannot forge a trace line", () => {
    const { trace, written } = traceWith("1");
    trace("path acme/x\n2030-01-01T00:00:00.000Z git-credential-vers[1] forged\u001b[2J");
    expect(written).toEqual([line("path acme/x\\x0a2030-01-01T00:00:00.000Z git-credential-vers[1] forged\\x1b[2J")]);
  });

  it("escapes line separators and bidirectional overrides", () => {
    const { trace, written } = traceWith("1");
    trace("a\u2028b\u202ec");
    expect(written).toEqual([line("a\\u{2028}b\\u{202e}c")]);
  });

  it("escapes what goes to a trace file too", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vers-trace-"));
    try {
      const path = join(dir, "t.log");
      traceWith(path).trace("x\ry");
      expect(await readFile(path, "utf8")).toBe(line("x\\x0dy"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("createTrace: a secret variable's value never appears", () => {
  it.each([
    ["VERS_API_KEY", "vers_live_0123456789abcdef"],
    ["GITHUB_TOKEN", "ghp_0123456789abcdefWXYZ"],
    ["GH_TOKEN", "gho_0123456789abcdefWXYZ"],
    ["VERS_REFRESH_TOKEN", "refresh_0123456789WXYZ"],
    ["GITHUB_APP_PRIVATE_KEY", "MIIEpAIBAAKCAQEA0123WXYZ"],
    ["GITHUB_APP_PRIVATE_KEY_B64", "LS0tLS1CRUdJTiBSU0EgWXYZ"],
  ])("%s: shown as … and its last 4 characters", (name, value) => {
    const { trace, written } = traceWith("1", { [name]: value });
    trace(`sending ${value} and again ${value}`);
    expect(written).toEqual([line(`sending …${value.slice(-4)} and again …${value.slice(-4)}`)]);
    expect(written.join("")).not.toContain(value);
  });

  it("a Redis URL's password", () => {
    const { trace, written } = traceWith("1", { VERS_REDIS_URL: "rediss://default:s3cret-redis-pw@cache:6380" });
    trace("connecting to rediss://default:s3cret-redis-pw@cache:6380");
    expect(written).toEqual([line("connecting to rediss://default:…s-pw@cache:6380")]);
  });

  it("a value under 8 characters is left alone (it would mangle ordinary words)", () => {
    const { trace, written } = traceWith("1", { VERS_API_KEY: "broker" });
    trace("asking the broker");
    expect(written).toEqual([line("asking the broker")]);
  });

  it("a secret is hidden before escaping, so a control character inside it does not let it through", () => {
    const secret = "vers_live_abc\u0007defgh";
    const { trace, written } = traceWith("1", { VERS_API_KEY: secret });
    trace(`key ${secret}`);
    expect(written).toEqual([line("key …efgh")]);
  });

  it("a secret written to a file is hidden too", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vers-trace-"));
    try {
      const path = join(dir, "t.log");
      traceWith(path, { VERS_API_KEY: "vers_live_0123456789abcdef" }).trace("key vers_live_0123456789abcdef");
      expect(await readFile(path, "utf8")).toBe(line("key …cdef"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
