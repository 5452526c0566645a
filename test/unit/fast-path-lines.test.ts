/**
 * src/fast-path/lines.ts and src/helper-lines.ts: the one line `install` writes for the fast path,
 * and recognising every form install ever wrote (so `install` replaces them and `uninstall` removes
 * them) — and nothing of the user's.
 */
import { describe, expect, it } from "vitest";
import { fastPathHelperWords, fastPathLines, fastPathScriptWords, isFastPathLine, SOCKET_NAME } from "../../src/fast-path/lines";
import { helperValue, isOurs, ourHelperWords } from "../../src/helper-lines";
import { OLD_LINES } from "./fast-path-old-lines";

const HELPER = "/usr/local/bin/git-credential-vers";

describe("fastPathLines: one short line that sources the script beside the helper, with the helper's flags", () => {
  it("a plain path as is", () => {
    expect(fastPathLines(HELPER, ["--host", "github.com"])).toEqual(['!vers_helper=/usr/local/bin/git-credential-vers; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host github.com']);
    expect(fastPathLines(HELPER, ["--host", "ghe.example.com", "--profile", "clone"])).toEqual(['!vers_helper=/usr/local/bin/git-credential-vers; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host ghe.example.com --profile clone']);
    expect(fastPathLines(HELPER, [])).toEqual(['!vers_helper=/usr/local/bin/git-credential-vers; vers_fast() { . "$vers_helper-fast"; }; vers_fast']);
  });

  it("a path that needs quoting, quoted", () => {
    expect(fastPathLines("/home/u/tools with space/git-credential-vers", ["--host", "github.com"])).toEqual([`!vers_helper='/home/u/tools with space/git-credential-vers'; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host github.com`]);
    expect(fastPathLines("/home/o'brien/git-credential-vers", ["--host", "h"])).toEqual([`!vers_helper='/home/o'\\''brien/git-credential-vers'; vers_fast() { . "$vers_helper-fast"; }; vers_fast --host h`]);
    expect(fastPathLines("/a:~/b/git-credential-vers", ["--host", "h"])[0]).toContain(`vers_helper='/a:~/b/git-credential-vers';`);
  });

  it("stays under 200 characters on one line for a long install", () => {
    const [line] = fastPathLines("/opt/some/rather/long/prefix/for/tools/bin/git-credential-vers", ["--host", "github.enterprise.example.com", "--profile", "deploy-readonly"]);
    expect(line!.length).toBeLessThan(200);
    expect(line).not.toContain("\n");
  });
});

describe("SOCKET_NAME: the sockets cache clear, uninstall and the .deb's prerm stop", () => {
  it("fast.sock, and the cksum-named sockets of the previous script; nothing else", () => {
    for (const name of ["fast.sock", "fast-2159331180-43.sock"]) expect(SOCKET_NAME.test(name), name).toBe(true);
    for (const name of ["fast.sock.lock", "fast-1-2.sock.lock", "fast-.sock", "evil.sock", "fast-0-0.sock.probe"]) expect(SOCKET_NAME.test(name), name).toBe(false);
  });
});

describe("recognising what install wrote", () => {
  const newLine = fastPathLines(HELPER, ["--host", "github.com", "--profile", "clone"])[0]!;
  const quotedLine = fastPathLines("/home/u/tools with space/git-credential-vers", ["--host", "github.com"])[0]!;
  /** The previous form (the script run, not sourced), as install wrote it before. */
  const previous = ["/usr/local/bin/git-credential-vers-fast --host github.com --profile clone", "!'/home/u/tools with space/git-credential-vers-fast' --host github.com"];

  it("the script line: the helper beside the script runs, with the line's flags", () => {
    expect(fastPathHelperWords(newLine)).toEqual([HELPER, "--host", "github.com", "--profile", "clone"]);
    expect(ourHelperWords(newLine, "/elsewhere/git-credential-vers")).toEqual([HELPER, "--host", "github.com", "--profile", "clone"]);
    expect(ourHelperWords(quotedLine, HELPER)).toEqual(["/home/u/tools with space/git-credential-vers", "--host", "github.com"]);
    for (const line of [newLine, quotedLine]) {
      expect(isFastPathLine(line)).toBe(true);
      expect(isOurs(line, HELPER)).toBe(true);
    }
    expect(fastPathScriptWords(newLine)).toEqual(["/usr/local/bin/git-credential-vers-fast", "--host", "github.com", "--profile", "clone"]);
    expect(fastPathScriptWords(quotedLine)).toEqual(["/home/u/tools with space/git-credential-vers-fast", "--host", "github.com"]);
  });

  it("the previous one-line form, which ran the script", () => {
    expect(fastPathHelperWords(previous[0]!)).toEqual([HELPER, "--host", "github.com", "--profile", "clone"]);
    expect(ourHelperWords(previous[1]!, HELPER)).toEqual(["/home/u/tools with space/git-credential-vers", "--host", "github.com"]);
    for (const line of previous) {
      expect(isFastPathLine(line)).toBe(true);
      expect(isOurs(line, HELPER)).toBe(true);
    }
  });

  it("the first fast path's daemon and helper lines", () => {
    for (const [daemon, helper] of [OLD_LINES.plain, OLD_LINES.quoted]) {
      expect(isFastPathLine(daemon)).toBe(true);
      expect(isOurs(daemon, HELPER)).toBe(true);
      expect(isOurs(helper, HELPER)).toBe(true);
    }
    expect(ourHelperWords(OLD_LINES.plain[1], HELPER)).toEqual([HELPER, "--host", "github.com"]);
    expect(ourHelperWords(OLD_LINES.quoted[1], HELPER)).toEqual(["/home/u/tools with space/git-credential-vers", "--host", "ghe.example.com", "--profile", "clone"]);
  });

  it("the plain line, quoted or not", () => {
    for (const [path, args] of [
      [HELPER, ["--host", "github.com"]],
      ["/home/u/tools with space/git-credential-vers", ["--host", "github.com"]],
    ] as const) {
      const value = helperValue(path, [...args]);
      expect(isOurs(value, HELPER)).toBe(true);
      expect(isFastPathLine(value)).toBe(false);
      expect(ourHelperWords(value, HELPER)).toEqual([path, ...args]);
    }
  });

  it("nothing of the user's", () => {
    for (const value of ["", "store", "cache --timeout 900", "!user_helper() { :; }; user_helper", "/usr/bin/git-credential-vers-fast-other --host h", "!f() { echo vers_fast_path; }; f", '!vers_helper=/usr/bin/other; vers_fast() { . "$vers_helper-fast"; }; vers_fast', '!vers_helper=/usr/bin/git-credential-vers; vers_fast() { . "$vers_helper-fast"; rm -rf x; }; vers_fast', "/usr/lib/git-core/git-credential-libsecret"]) {
      expect(isOurs(value, HELPER), value).toBe(false);
      expect(isFastPathLine(value), value).toBe(false);
    }
  });
});
