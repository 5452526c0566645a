import { describe, expect, it } from "vitest";
import { errorLine, HelperError, isHelperError, warningLine } from "../../src/errors";

describe("errorLine: the one line git shows", () => {
  it("is the prefix, what failed and the hint, ending in one newline", () => {
    const err = new HelperError("unauthorized", "the broker rejected VERS_API_KEY (HTTP 401)", "check the key", 401);
    expect(errorLine(err)).toBe("git-credential-vers: the broker rejected VERS_API_KEY (HTTP 401) (check the key)\n");
  });

  it("escapes text from outside: a newline in a path cannot add a line of its own", () => {
    const err = new HelperError("bad-input", 'git asked for path "a\nquit=1", which names no repository', "use owner/repo");
    const line = errorLine(err);
    expect(line).toBe('git-credential-vers: git asked for path "a\\x0aquit=1", which names no repository (use owner/repo)\n');
    expect(line.split("\n")).toHaveLength(2);
  });

  it("escapes terminal escapes and bidi overrides", () => {
    const err = new HelperError("bad-answer", "GitHub said \u001b[2J\u202egnp.exe", "report it");
    expect(errorLine(err)).toBe("git-credential-vers: GitHub said \\x1b[2J\\u{202e}gnp.exe (report it)\n");
  });

  it("shows a known secret only by its last 4 characters", () => {
    const err = new HelperError("bad-setting", "VERS_BASE_URL https://vers_live_0123456789abcdef@x is odd", "fix it");
    expect(errorLine(err, ["vers_live_0123456789abcdef"])).toBe("git-credential-vers: VERS_BASE_URL https://…cdef@x is odd (fix it)\n");
  });

  it("anything else is an unexpected error: its first line only, and a way to report it", () => {
    expect(errorLine(new TypeError("boom\n    at somewhere (file.js:1:1)"))).toBe(
      "git-credential-vers: unexpected error: boom (set VERS_CREDENTIAL_TRACE=1 and report it)\n",
    );
    expect(errorLine("a string")).toBe("git-credential-vers: unexpected error: a string (set VERS_CREDENTIAL_TRACE=1 and report it)\n");
  });

  it("hides secrets in unexpected errors too", () => {
    expect(errorLine(new Error("token ghp_0123456789abcdef leaked"), ["ghp_0123456789abcdef"])).toBe(
      "git-credential-vers: unexpected error: token …cdef leaked (set VERS_CREDENTIAL_TRACE=1 and report it)\n",
    );
  });

  it("takes a HelperError from another bundle chunk (another copy of the class) by its name and code", () => {
    const foreign = Object.assign(new Error("what (hint)"), { name: "HelperError", code: "timeout" });
    expect(isHelperError(foreign)).toBe(true);
    expect(errorLine(foreign)).toBe("git-credential-vers: what (hint)\n");
    expect(isHelperError(Object.assign(new Error("x"), { name: "HelperError" }))).toBe(false);
    expect(isHelperError({ name: "HelperError", code: "timeout" })).toBe(false);
  });
});

describe("warningLine", () => {
  it("is one escaped line with the hint, secrets hidden", () => {
    expect(warningLine("not using the cache: /tmp/x\n is a link", "remove it")).toBe("git-credential-vers: not using the cache: /tmp/x\\x0a is a link (remove it)\n");
    expect(warningLine("the broker failed for key vers_live_0123456789abcdef", "fallback static", ["vers_live_0123456789abcdef"])).toBe(
      "git-credential-vers: the broker failed for key …cdef (fallback static)\n",
    );
  });
});
