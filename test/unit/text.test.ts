import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeText, hideSecrets, isCleanToken, MAX_VALUE_BYTES, oneLine, valueProblem } from "../../src/text";

describe("escapeText", () => {
  it.each([
    ["plain text", "plain text"],
    ["", ""],
    ["tab\there", "tab\\x09here"],
    ["line\nbreak", "line\\x0abreak"],
    ["cr\r", "cr\\x0d"],
    ["nul\u0000", "nul\\x00"],
    ["\u001b[31mred\u001b[0m", "\\x1b[31mred\\x1b[0m"],
    ["del\u007f", "del\\x7f"],
    ["c1\u0085\u009b", "c1\\x85\\x9b"],
    ["line\u2028sep\u2029para", "line\\u{2028}sep\\u{2029}para"],
    ["\u202eevil\u202c", "\\u{202e}evil\\u{202c}"],
    ["\u2066isolate\u2069", "\\u{2066}isolate\\u{2069}"],
    ["lrm\u200erlm\u200f", "lrm\\u{200e}rlm\\u{200f}"],
    ["é 😀 中文 no-break\u00a0space", "é 😀 中文 no-break\u00a0space"],
    ["a backslash \\x41 stays", "a backslash \\x41 stays"],
  ])("%j → %j", (text, want) => {
    expect(escapeText(text)).toBe(want);
  });

  it("leaves no control, line-separator or bidi character in anything", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (text) => {
        expect(escapeText(text)).not.toMatch(/[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u);
      }),
      { numRuns: 500 },
    );
  });

  it("changes nothing in text that needs no escaping", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."abcXYZ019 .,:/=@é😀\u00a0"), maxLength: 40 }), (text) => {
        expect(escapeText(text)).toBe(text);
      }),
    );
  });
});

describe("oneLine", () => {
  it.each([
    ["  padded  ", "padded"],
    ["line one\nline two\r\nline three", "line one line two line three"],
    ["tab\there", "tab here"],
    ["sep\u2028arated", "sep arated"],
    ["nul\u0000and\u001b[1mesc", "nul\\x00and\\x1b[1mesc"],
  ])("%j → %j", (text, want) => {
    expect(oneLine(text)).toBe(want);
  });

  it("cuts to 200 characters, or as told", () => {
    expect(oneLine("a".repeat(500))).toBe("a".repeat(200));
    expect(oneLine("abcdef", 3)).toBe("abc");
  });
});

describe("valueProblem: what can go on a line of git's protocol", () => {
  it.each<[string, string | undefined]>([
    ["ghs_16C7e42F292c6912E7710c838347Ae178B4a", undefined],
    ["a", undefined],
    ["with space", undefined],
    ["a".repeat(MAX_VALUE_BYTES), undefined],
    ["é".repeat(MAX_VALUE_BYTES / 2), undefined],
    ["", "it is empty"],
    ["a\nquit=1", "it holds a control character (a newline, CR, NUL or the like)"],
    ["a\r", "it holds a control character (a newline, CR, NUL or the like)"],
    ["a\u0000", "it holds a control character (a newline, CR, NUL or the like)"],
    ["a\u001b[2J", "it holds a control character (a newline, CR, NUL or the like)"],
    ["a\u0085", "it holds a control character (a newline, CR, NUL or the like)"],
    ["a".repeat(MAX_VALUE_BYTES + 1), "it is over 8 KiB"],
    ["é".repeat(MAX_VALUE_BYTES / 2 + 1), "it is over 8 KiB"],
  ])("%j → %j", (value, problem) => {
    expect(valueProblem(value)).toBe(problem);
  });
});

describe("isCleanToken", () => {
  it.each([
    ["ghs_16C7e42F292c6912E7710c838347Ae178B4a", true],
    ["a", true],
    ["a".repeat(8192), true],
    ["ghs_abc=+/_-.~", true],
    ["github_pat_11ABCDEFG0_xyz", true],
    ["", false],
    ["a".repeat(8193), false],
    ["é".repeat(4097), false],
    ["é".repeat(4096), true],
    [" ghs", false],
    ["ghs ", false],
    ["gh\ts", false],
    ["gh\ns", false],
    ["gh\rs", false],
    ["gh\u0000s", false],
    ["gh\u0007s", false],
    ["gh\u007fs", false],
    ["gh\u0085s", false],
    ["gh\u00a0s", false],
    ["gh\u2028s", false],
    ["gh\u3000s", false],
    ["gh\ufeffs", false],
  ])("%j → %s", (token, clean) => {
    expect(isCleanToken(token)).toBe(clean);
  });
});

describe("hideSecrets", () => {
  it("shows each secret as … and its last 4 characters, every time it occurs", () => {
    expect(hideSecrets("key vers_live_ABCDEFGH then vers_live_ABCDEFGH again", ["vers_live_ABCDEFGH"])).toBe("key …EFGH then …EFGH again");
  });

  it("hides every secret given", () => {
    expect(hideSecrets("a=ghp_1234567890 b=gho_abcdefghij", ["ghp_1234567890", "gho_abcdefghij"])).toBe("a=…7890 b=…ghij");
  });

  it("leaves secrets under 8 characters alone (they would mangle ordinary words)", () => {
    expect(hideSecrets("the broker said no", ["broker", "1234567"])).toBe("the broker said no");
  });

  it("hides a secret of exactly 8 characters", () => {
    expect(hideSecrets("x 12345678 y", ["12345678"])).toBe("x …5678 y");
  });

  it("changes nothing when no secret occurs", () => {
    expect(hideSecrets("nothing here", ["vers_live_ABCDEFGH"])).toBe("nothing here");
    expect(hideSecrets("nothing here", [])).toBe("nothing here");
  });

  it("never leaves a secret of 8 or more characters in the text", () => {
    const secretChar = fc.constantFrom(..."abcdefXYZ0123456789_-");
    const textChar = fc.constantFrom(..." .,:=/@()\n\t");
    fc.assert(
      fc.property(
        fc.string({ unit: secretChar, minLength: 8, maxLength: 40 }),
        fc.array(fc.string({ unit: textChar, maxLength: 10 }), { minLength: 1, maxLength: 4 }),
        (secret, between) => {
          const text = between.join(secret);
          expect(hideSecrets(text, [secret])).not.toContain(secret);
          expect(hideSecrets(text, [secret])).toBe(between.join(`…${secret.slice(-4)}`));
        },
      ),
      { numRuns: 300 },
    );
  });
});
