import { describe, expect, it } from "vitest";
import { formatAnswer, QUIT, type CredentialAnswer } from "../../src/protocol/format";
import { parseRequest } from "../../src/protocol/parse";
import { heredoc } from "./heredoc";

describe("formatAnswer", () => {
  const cases: { name: string; answer: CredentialAnswer; wantStdout: string }[] = [
    {
      name: "a minted token with its expiry",
      answer: { username: "x-access-token", password: "ghs_16C7e42F292c6912E7710c838347Ae178B4a", passwordExpiryUtc: 1_767_225_600 },
      wantStdout: heredoc(`
        username=x-access-token
        password=ghs_16C7e42F292c6912E7710c838347Ae178B4a
        password_expiry_utc=1767225600
      `),
    },
    {
      name: "a static token: expiry omitted when undefined",
      answer: { username: "x-access-token", password: "ghp_static" },
      wantStdout: heredoc(`
        username=x-access-token
        password=ghp_static
      `),
    },
    {
      name: "an expiry of 0 is still printed",
      answer: { username: "x-access-token", password: "t", passwordExpiryUtc: 0 },
      wantStdout: heredoc(`
        username=x-access-token
        password=t
        password_expiry_utc=0
      `),
    },
    {
      name: "a token holding = is printed verbatim",
      answer: { username: "x-access-token", password: "YWJjZA==", passwordExpiryUtc: 1 },
      wantStdout: heredoc(`
        username=x-access-token
        password=YWJjZA==
        password_expiry_utc=1
      `),
    },
  ];

  it.each(cases)("$name", ({ answer, wantStdout }) => {
    expect(formatAnswer(answer)).toBe(wantStdout);
  });

  it("ends with exactly one newline and no blank line", () => {
    const out = formatAnswer({ username: "u", password: "p", passwordExpiryUtc: 5 });
    expect(out).toBe("username=u\npassword=p\npassword_expiry_utc=5\n");
    expect(out.endsWith("\n\n")).toBe(false);
  });

  it("round-trips through git's reader", () => {
    const out = formatAnswer({ username: "x-access-token", password: "a=b==", passwordExpiryUtc: 42 });
    expect(parseRequest(out)).toEqual({ lists: {}, username: "x-access-token", password: "a=b==" });
  });
});

describe("QUIT", () => {
  it("is git's quit attribute on its own line", () => {
    expect(QUIT).toBe(heredoc(`
      quit=1
    `));
    expect(QUIT).toBe("quit=1\n");
  });
});
