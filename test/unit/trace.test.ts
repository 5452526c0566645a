import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
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

describe("createTrace", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vers-trace-"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([undefined, "", "  ", "0", "false", "FALSE", " False "])("is off for %j", (setting) => {
    const written: string[] = [];
    const trace = createTrace(setting, (t) => written.push(t), now);
    trace("hello");
    expect(written).toEqual([]);
  });

  it.each(["1", "true", "TRUE", " 1 "])("writes to stderr for %j, one stamped line per message", (setting) => {
    const written: string[] = [];
    const trace = createTrace(setting, (t) => written.push(t), now);
    trace("minting a token for acme/widgets");
    trace("HTTP 201 in 12 ms");
    expect(written).toEqual([line("minting a token for acme/widgets"), line("HTTP 201 in 12 ms")]);
  });

  it("appends to a file path otherwise, 0600, nothing on stderr", async () => {
    const path = join(dir, "trace.log");
    const written: string[] = [];
    createTrace(path, (t) => written.push(t), now)("first");
    createTrace(path, (t) => written.push(t), now)("second");
    expect(written).toEqual([]);
    expect(await readFile(path, "utf8")).toBe(line("first") + line("second"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("takes a path with surrounding blanks trimmed", async () => {
    const path = join(dir, "trimmed.log");
    createTrace(`  ${path}\n`, () => {}, now)("x");
    expect(await readFile(path, "utf8")).toBe(line("x"));
  });

  it("ignores an unwritable trace file instead of failing", async () => {
    const path = join(dir, "a-folder");
    await mkdir(path);
    const written: string[] = [];
    const trace = createTrace(path, (t) => written.push(t), now);
    expect(() => trace("x")).not.toThrow();
    expect(written).toEqual([]);
  });

  it("stamps each line with the clock it was given", () => {
    let t = NOW;
    const written: string[] = [];
    const trace = createTrace("1", (s) => written.push(s), () => t);
    trace("a");
    t += 1500;
    trace("b");
    expect(written).toEqual([line("a"), `2030-01-01T12:00:01.500Z git-credential-vers[${process.pid}] b\n`]);
  });
});
