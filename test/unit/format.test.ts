import { describe, expect, it } from "vitest";
import type { HelperError } from "../../src/errors";
import { formatAnswer, printable } from "../../src/protocol/format";
import { parseRequest } from "../../src/protocol/parse";
import type { Served } from "../../src/token";
import { errorOf } from "./expect-error";
import { heredoc } from "./heredoc";

describe("formatAnswer", () => {
  const cases: { name: string; served: Served; wantStdout: string }[] = [
    {
      name: "a minted token with its expiry",
      served: { token: "ghs_16C7e42F292c6912E7710c838347Ae178B4a", expiresAt: 1_767_225_600_000, origin: "the broker" },
      wantStdout: heredoc(`
        username=x-access-token
        password=ghs_16C7e42F292c6912E7710c838347Ae178B4a
        password_expiry_utc=1767225600
      `),
    },
    {
      name: "a static token: expiry omitted when undefined",
      served: { token: "ghp_static", origin: "env GITHUB_TOKEN" },
      wantStdout: heredoc(`
        username=x-access-token
        password=ghp_static
      `),
    },
    {
      name: "an expiry of 0 is still printed",
      served: { token: "t", expiresAt: 0, origin: "the cache" },
      wantStdout: heredoc(`
        username=x-access-token
        password=t
        password_expiry_utc=0
      `),
    },
    {
      name: "the expiry is in whole seconds, rounded down",
      served: { token: "t", expiresAt: 1_767_225_600_999, origin: "the cache" },
      wantStdout: heredoc(`
        username=x-access-token
        password=t
        password_expiry_utc=1767225600
      `),
    },
    {
      name: "a token holding = is printed verbatim",
      served: { token: "YWJjZA==", expiresAt: 1000, origin: "the broker" },
      wantStdout: heredoc(`
        username=x-access-token
        password=YWJjZA==
        password_expiry_utc=1
      `),
    },
  ];

  it.each(cases)("$name", ({ served, wantStdout }) => {
    expect(formatAnswer(served)).toBe(wantStdout);
  });

  it("the username is always x-access-token; permissions and repositories are not printed", () => {
    const out = formatAnswer({ token: "p", expiresAt: 5000, permissions: { contents: "read" }, repositories: ["widgets"], origin: "the broker" });
    expect(out).toBe("username=x-access-token\npassword=p\npassword_expiry_utc=5\n");
    expect(out.endsWith("\n\n")).toBe(false);
  });

  it("round-trips through git's reader", () => {
    const out = formatAnswer({ token: "a=b==", expiresAt: 42_000, origin: "the broker" });
    expect(parseRequest(out)).toEqual({ lists: {}, username: "x-access-token", password: "a=b==" });
  });
});

describe("printable: no value can add a line of its own", () => {
  function refusal(served: Served): HelperError {
    return errorOf(() => formatAnswer(served), "formatAnswer printed it");
  }

  it("a clean token is returned as is", () => {
    expect(printable({ token: "ghs_abc", origin: "the broker" })).toBe("ghs_abc");
  });

  it.each([
    ["a newline", "ghp_abc\nquit=1", "it holds a control character (a newline, CR, NUL or the like)"],
    ["a CR", "ghp_abc\r", "it holds a control character (a newline, CR, NUL or the like)"],
    ["a NUL", "ghp_abc\u0000", "it holds a control character (a newline, CR, NUL or the like)"],
    ["an escape", "ghp_\u001b[2J", "it holds a control character (a newline, CR, NUL or the like)"],
    ["nothing", "", "it is empty"],
    ["over 8 KiB", "x".repeat(8193), "it is over 8 KiB"],
  ])("a token from a variable holding %s: bad-answer naming the variable, and how to fix it", (_name, token, problem) => {
    const err = refusal({ token, origin: "env GITHUB_TOKEN" });
    expect(err.code).toBe("bad-answer");
    expect(err.what).toBe(`the token from env GITHUB_TOKEN cannot be printed: ${problem}`);
    expect(err.hint).toBe("set GITHUB_TOKEN to the token alone");
  });

  it("names GH_TOKEN when it came from there", () => {
    expect(refusal({ token: "a\nb", origin: "env GH_TOKEN" }).hint).toBe("set GH_TOKEN to the token alone");
  });

  it.each(["the broker", "GitHub", "the cache"])("a token from %s: names it and asks for a report", (origin) => {
    const err = refusal({ token: "a\nb", origin });
    expect(err.what).toBe(`the token from ${origin} cannot be printed: it holds a control character (a newline, CR, NUL or the like)`);
    expect(err.hint).toBe("set VERS_CREDENTIAL_TRACE=1 and report it");
  });

  it("never holds the token itself", () => {
    const err = refusal({ token: "ghp_SECRETSECRET\nquit=1", origin: "env GITHUB_TOKEN" });
    expect(err.message).not.toContain("SECRET");
    expect(err.message).not.toContain("quit=1");
  });

  it("a token with spaces inside is still one line: printed", () => {
    expect(formatAnswer({ token: "a b", origin: "env GITHUB_TOKEN" })).toBe("username=x-access-token\npassword=a b\n");
  });
});
