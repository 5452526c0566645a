import { describe, expect, it } from "vitest";
import { errorText, readExpiry, readTokenAnswer } from "../../src/sources/answer";

const NOW = Date.parse("2030-01-01T12:00:00Z");
const LATER = "2030-01-01T13:00:00Z";

const answer = (fields: Record<string, unknown>) => JSON.stringify({ token: "ghs_abc123", expires_at: LATER, ...fields });

describe("readTokenAnswer: valid answers", () => {
  it("reads the broker's full answer, expiry in ms", () => {
    const text = JSON.stringify({
      token: "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
      expires_at: LATER,
      permissions: { contents: "read", metadata: "read", issues: "write" },
      repositories: [
        { name: "widgets", full_name: "acme/widgets", private: true },
        { name: "gadgets", full_name: "acme/gadgets", private: false },
      ],
      repository_selection: "selected",
      installation_id: 42,
      org_id: 7,
    });
    expect(readTokenAnswer(text, NOW)).toStrictEqual({
      token: "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
      expiresAt: Date.parse(LATER),
      permissions: { contents: "read", metadata: "read", issues: "write" },
      repositories: ["widgets", "gadgets"],
    });
    expect(Date.parse(LATER)).toBe(1_893_502_800_000);
  });

  it("a minimal answer: no permissions or repositories", () => {
    expect(readTokenAnswer(JSON.stringify({ token: "t", expires_at: LATER }), NOW)).toStrictEqual({
      token: "t",
      expiresAt: 1_893_502_800_000,
      permissions: undefined,
      repositories: undefined,
    });
  });

  it("accepts expires_at with an offset", () => {
    const token = readTokenAnswer(answer({ expires_at: "2030-01-01T14:00:00+01:00" }), NOW);
    expect(token).toMatchObject({ expiresAt: 1_893_502_800_000 });
  });

  it("accepts an expiry 1 ms from now", () => {
    expect(readTokenAnswer(answer({ expires_at: new Date(NOW + 1).toISOString() }), NOW)).toMatchObject({ expiresAt: NOW + 1 });
  });

  it("keeps only read/write permissions", () => {
    const token = readTokenAnswer(answer({ permissions: { contents: "write", administration: "admin", issues: 1, metadata: "read" } }), NOW);
    expect(token).toMatchObject({ permissions: { contents: "write", metadata: "read" } });
  });

  it("reads repositories given as names or objects, dropping anything else", () => {
    const token = readTokenAnswer(answer({ repositories: [{ name: "a" }, "b", 3, null, { full_name: "acme/c" }] }), NOW);
    expect(token).toMatchObject({ repositories: ["a", "b"] });
  });

  it("keeps only repository and permission names GitHub could have sent: nothing that could act on a terminal when shown", () => {
    const token = readTokenAnswer(
      answer({
        permissions: { contents: "write", pull_requests: "read", "\u001b]0;PWNED\u0007": "read", "Contents ": "read", "x\ny": "write", "": "read" },
        repositories: [{ name: "widgets" }, { name: "\u001b[2Jx" }, "gad.gets", "..", "a/b", "wid gets", "é"],
      }),
      NOW,
    );
    expect(token).toMatchObject({ permissions: { contents: "write", pull_requests: "read" }, repositories: ["widgets", "gad.gets"] });
    expect(Object.keys((token as { permissions: object }).permissions)).toEqual(["contents", "pull_requests"]);
  });

  it("does not assume a token length or prefix", () => {
    const long = "x".repeat(8192);
    expect(readTokenAnswer(answer({ token: long }), NOW)).toMatchObject({ token: long });
    expect(readTokenAnswer(answer({ token: "v2.0.opaque-token_ABC" }), NOW)).toMatchObject({ token: "v2.0.opaque-token_ABC" });
  });
});

describe("readTokenAnswer: invalid answers give a reason", () => {
  const dirty = "the token holds whitespace or control characters, or is over 8 KiB";
  it.each([
    ["not JSON", "<html>502 Bad Gateway</html>", "not JSON"],
    ["empty", "", "not JSON"],
    ["truncated JSON", answer({}).slice(0, 20), "not JSON"],
    ["JSON null", "null", "not a JSON object"],
    ["a JSON string", '"ghs_abc"', "not a JSON object"],
    ["a JSON number", "42", "not a JSON object"],
    ["no token", JSON.stringify({ expires_at: LATER }), "no token"],
    ["an empty token", answer({ token: "" }), "no token"],
    ["a numeric token", answer({ token: 123 }), "no token"],
    ["a token with a space", answer({ token: "ghs_abc def" }), dirty],
    ["a token with a newline", answer({ token: "ghs_abc\nquit=1" }), dirty],
    ["a token with a CR", answer({ token: "ghs_abc\r" }), dirty],
    ["a token with a tab", answer({ token: "\tghs_abc" }), dirty],
    ["a token with a NUL", answer({ token: "ghs\u0000abc" }), dirty],
    ["a token with an escape", answer({ token: "ghs\u001b[2Jabc" }), dirty],
    ["a token with DEL", answer({ token: "ghs\u007f" }), dirty],
    ["a token with a line separator", answer({ token: "ghs\u2028abc" }), dirty],
    ["a token over 8 KiB", answer({ token: "x".repeat(8193) }), dirty],
    ["a token over 8 KiB in UTF-8 bytes", answer({ token: "é".repeat(4097) }), dirty],
    ["no expires_at", JSON.stringify({ token: "ghs_abc" }), "no expires_at"],
    ["a null expires_at", answer({ expires_at: null }), "no expires_at"],
    ["a numeric expires_at", answer({ expires_at: 1_893_502_800 }), "no expires_at"],
    ["an unreadable expires_at", answer({ expires_at: "tomorrow" }), "expires_at is not an ISO 8601 time"],
    ["an expires_at Date.parse would take", answer({ expires_at: "Tue, 01 Jan 2030 13:00:00 GMT" }), "expires_at is not an ISO 8601 time"],
    ["an expires_at more than a day ahead", answer({ expires_at: "2030-01-03T12:00:00Z" }), "expires_at is more than 24 hours ahead"],
    ["an expires_at in the past", answer({ expires_at: "2029-12-31T12:00:00Z" }), "expires_at is already past"],
    ["an expires_at of exactly now", answer({ expires_at: new Date(NOW).toISOString() }), "expires_at is already past"],
  ])("%s", (_name, text, reason) => {
    expect(readTokenAnswer(text, NOW)).toBe(reason);
  });
});

describe("readExpiry: an ISO 8601 time in the next 24 hours", () => {
  it.each([
    ["2030-01-01T13:00:00Z", Date.parse("2030-01-01T13:00:00Z")],
    ["2030-01-01T13:00Z", Date.parse("2030-01-01T13:00:00Z")],
    ["2030-01-01T13:00:00.123Z", Date.parse("2030-01-01T13:00:00.123Z")],
    ["2030-01-01T13:00:00.123456Z", Date.parse("2030-01-01T13:00:00.123Z")],
    ["2030-01-01T14:00:00+01:00", Date.parse("2030-01-01T13:00:00Z")],
    ["2030-01-01T14:00:00+0100", Date.parse("2030-01-01T13:00:00Z")],
    ["2030-01-01T08:00:00-05:00", Date.parse("2030-01-01T13:00:00Z")],
  ])("%j → its time in ms", (text, ms) => {
    expect(readExpiry(text, NOW)).toBe(ms);
  });

  it.each([
    ["2030-01-01T13:00:00", "no zone"],
    ["2030-01-01 13:00:00Z", "a space for the T"],
    ["2030-01-01", "a date alone"],
    ["20300101T130000Z", "the basic format"],
    ["1893502800", "seconds since the epoch"],
    ["1893502800000", "ms since the epoch"],
    ["Tue, 01 Jan 2030 13:00:00 GMT", "an HTTP date"],
    ["2030-01-01T13:00:00Z ", "a trailing space"],
    [" 2030-01-01T13:00:00Z", "a leading space"],
    ["2030-01-01T13:00:00Zjunk", "something after"],
    ["2030-13-01T13:00:00Z", "month 13"],
    ["2030-01-01T25:00:00Z", "hour 25"],
    ["", "nothing"],
  ])("%j (%s) is not an ISO 8601 time", (text) => {
    expect(readExpiry(text, NOW)).toBe("expires_at is not an ISO 8601 time");
  });

  it("a time already past, or exactly now, is past", () => {
    expect(readExpiry("2029-12-31T12:00:00Z", NOW)).toBe("expires_at is already past");
    expect(readExpiry(new Date(NOW).toISOString(), NOW)).toBe("expires_at is already past");
  });

  it("exactly 24 hours ahead is accepted; 1 ms more is not", () => {
    const day = 24 * 3600_000;
    expect(readExpiry(new Date(NOW + day).toISOString(), NOW)).toBe(NOW + day);
    expect(readExpiry(new Date(NOW + day + 1).toISOString(), NOW)).toBe("expires_at is more than 24 hours ahead");
    expect(readExpiry("2099-01-01T00:00:00Z", NOW)).toBe("expires_at is more than 24 hours ahead");
  });
});

describe("errorText", () => {
  it.each([
    [JSON.stringify({ message: "Repository not found" }), "Repository not found"],
    [JSON.stringify({ error: "invalid_request" }), "invalid_request"],
    [JSON.stringify({ error_description: "the grant expired" }), "the grant expired"],
    [JSON.stringify({ message: "Validation Failed", error: "unprocessable" }), "Validation Failed"],
    [JSON.stringify({ error_description: "desc", error: "code" }), "desc"],
    [JSON.stringify({ message: 42, error: "fallback" }), "fallback"],
    [JSON.stringify({ message: null, error_description: "desc" }), "desc"],
    [JSON.stringify({ message: "  padded  " }), "padded"],
    [JSON.stringify({ message: "line one\nline two\r\nline three" }), "line one line two line three"],
    [JSON.stringify({ message: "tab\there\u0000nul\u001b[31mred\u2028sep" }), "tab here\\x00nul\\x1b[31mred sep"],
    [JSON.stringify({ message: "bidi \u202eevil" }), "bidi \\u{202e}evil"],
    [JSON.stringify({ other: "x" }), ""],
    ["{}", ""],
    ["null", ""],
    ['"just a string"', ""],
    ["<html>Bad Gateway</html>", ""],
    ["", ""],
  ])("%j → %j", (text, want) => {
    expect(errorText(text)).toBe(want);
  });

  it("hides the credentials the request carried, before it is cut: a long key quoted back shows only its last 4 characters", () => {
    const key = `vers_${"k".repeat(20)}${"0123456789".repeat(30)}`;
    const out = errorText(JSON.stringify({ message: `refused Authorization: Bearer ${key}` }), [key]);
    expect(out).toBe(`refused Authorization: Bearer …${key.slice(-4)}`);
    expect(errorText(JSON.stringify({ message: `no such key ${key}` }), [key])).not.toContain("kkkkkkkk");
  });

  it("is cut to 200 characters", () => {
    const out = errorText(JSON.stringify({ message: "a".repeat(500) }));
    expect(out).toBe("a".repeat(200));
  });

  it("never returns a line break or a control character, nor more than 200 characters", () => {
    const nasty = Array.from({ length: 300 }, (_, i) => String.fromCharCode(i % 40) + "word").join("");
    for (const text of [nasty, "\n".repeat(300) + "x", "x\n".repeat(300), "\u0085\u2029".repeat(200)]) {
      const out = errorText(JSON.stringify({ message: text }));
      expect(out.length).toBeLessThanOrEqual(200);
      expect(out).not.toMatch(/[\n\r\u2028\u2029\u0085]/);
      expect(out).not.toMatch(/\p{Cc}/u);
    }
  });
});
