import { describe, expect, it } from "vitest";
import { oauthError, readGrantAnswer, rotatedGrant } from "../../src/sources/grant-answer";

const SENT = Date.parse("2030-01-01T12:00:00Z");
const REPO = "Acme/Widgets";
const answer = (fields: Record<string, unknown>) => JSON.stringify({ access_token: "ghs_granted01", token_type: "Bearer", expires_in: 3600, ...fields });

describe("readGrantAnswer", () => {
  it("reads a token whose expiry counts from when the request was sent", () => {
    expect(readGrantAnswer(answer({ scope: "github-app-installation:4242 repo:acme/widgets" }), SENT, REPO)).toStrictEqual({
      token: "ghs_granted01",
      expiresAt: SENT + 3600_000,
      repositories: ["Widgets"],
    });
  });

  it.each([
    ["no token_type", { token_type: undefined }],
    ["token_type in any case", { token_type: "bearer" }],
    ["no scope", { scope: undefined }],
    ["a scope naming no repository", { scope: "github-app-installation:4242" }],
    ["a fractional expires_in", { expires_in: 59.5 }],
    ["expires_in of exactly 24 hours", { expires_in: 86_400 }],
  ])("accepts %s", (_name, fields) => {
    expect(typeof readGrantAnswer(answer(fields), SENT, REPO)).toBe("object");
  });

  it.each([
    ["not JSON", "<html>oops</html>", "not JSON"],
    ["not an object", "[1]", "not a JSON object"],
    ["no access_token", answer({ access_token: undefined }), "no access_token"],
    ["a token with a newline", answer({ access_token: "ghs_bad token\nsecond-line" }), "the access_token holds whitespace or control characters, or is over 8 KiB"],
    ["token_type mac", answer({ token_type: "mac" }), 'token_type is "mac", not Bearer'],
    ["no expires_in", answer({ expires_in: undefined }), "expires_in is missing or not a number"],
    ["expires_in as a string", answer({ expires_in: "3600" }), "expires_in is missing or not a number"],
    ["expires_in 0", answer({ expires_in: 0 }), "expires_in is 0"],
    ["a negative expires_in", answer({ expires_in: -5 }), "expires_in is -5"],
    ["expires_in over 24 hours", answer({ expires_in: 86_401 }), "expires_in is more than 24 hours"],
    ["a scope for another repository", answer({ scope: "repo:acme/gadgets" }), "the token is for acme/gadgets, not Acme/Widgets"],
    ["a scope naming this and another repository", answer({ scope: "repo:acme/widgets repo:acme/gadgets" }), "the token is for acme/gadgets, not Acme/Widgets"],
  ])("refuses %s", (_name, text, why) => {
    expect(readGrantAnswer(text, SENT, REPO)).toBe(why);
  });
});

describe("rotatedGrant", () => {
  const current = "ghr_grant1.oldSecretOldSecret";
  it.each([
    ["a new grant", answer({ refresh_token: "ghr_grant1.newSecretNewSecret" }), "ghr_grant1.newSecretNewSecret"],
    ["the same grant", answer({ refresh_token: current }), undefined],
    ["no refresh_token", answer({}), undefined],
    ["GitHub's own ghr_ token (no grant id)", answer({ refresh_token: "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498" }), undefined],
    ["not JSON", "oops", undefined],
  ])("%s", (_name, text, expected) => {
    expect(rotatedGrant(text, current)).toBe(expected);
  });
});

describe("oauthError", () => {
  it("reads error and error_description on one escaped line each", () => {
    expect(oauthError(JSON.stringify({ error: "invalid_grant", error_description: "revoked\n\x1b[31mred" }))).toEqual({ error: "invalid_grant", description: "revoked \\x1b[31mred" });
  });
  it("is empty for anything else", () => {
    expect(oauthError("<html>")).toEqual({ error: "", description: "" });
    expect(oauthError(JSON.stringify({ error: 7 }))).toEqual({ error: "", description: "" });
  });
});
