/** `grant add`'s stdin: the service's JSON, snake_case, or a bare grant with flags; refusals never echo the secret. */
import { describe, expect, it } from "vitest";
import { grantFromInput, type GrantAddOptions } from "../../src/grants/input";
import { errorOf } from "./expect-error";

const SECRET = "Abcdefgh12345678Zyxwvuts";
const TOKEN = `ghr_G1d.${SECRET}`;
const ENDPOINT = "https://mcp.example/repo-grant/token";
const SERVICE = { token: "ghs_x", refreshToken: TOKEN, tokenEndpoint: ENDPOINT, clientId: "Iv23li", expiresIn: 3600, repository: { id: 700000001, full_name: "acme/widgets" } };

function read(input: unknown, options: GrantAddOptions = {}) {
  return grantFromInput(typeof input === "string" ? input : JSON.stringify(input), options, "grants file");
}

function refusal(input: unknown, options: GrantAddOptions = {}): string {
  const { message } = errorOf(() => read(input, options), "not refused");
  expect(message).not.toContain(SECRET);
  return message;
}

describe("grantFromInput: accepted", () => {
  it.each([
    ["the service's camelCase JSON", SERVICE, {}],
    ["repository as owner/repo", { ...SERVICE, repository: "acme/widgets" }, {}],
    ["repository as owner/repo.git", { ...SERVICE, repository: "acme/widgets.git" }, {}],
    ["only repository.id, with --repo", { ...SERVICE, repository: { id: 700000001 } }, { repo: "acme/widgets" }],
    ["the snake_case form", { repository: "acme/widgets", refresh_token: TOKEN, token_endpoint: ENDPOINT, client_id: "Iv23li" }, {}],
    ["a bare grant with flags", `  ${TOKEN}\n`, { repo: "acme/widgets", tokenEndpoint: ENDPOINT, clientId: "Iv23li" }],
    ["flags that agree with the JSON", SERVICE, { repo: "ACME/widgets", tokenEndpoint: `${ENDPOINT}/`, clientId: "Iv23li" }],
  ])("%s", (_name, input, options) => {
    expect(read(input, options)).toEqual({ repository: "acme/widgets", refreshToken: { value: TOKEN, origin: "grants file" }, tokenEndpoint: ENDPOINT, clientId: "Iv23li" });
  });

  it("a loopback endpoint may be plain http", () => {
    expect(read({ ...SERVICE, tokenEndpoint: "http://127.0.0.1:8080/t" }).tokenEndpoint).toBe("http://127.0.0.1:8080/t");
  });
});

describe("grantFromInput: refused with one line", () => {
  it.each([
    ["empty stdin", "", /nothing was read on stdin/],
    ["a bare grant without its flags", TOKEN, /it has no token endpoint/],
    ["a bare grant without --repo", TOKEN, /it names no repository/, { tokenEndpoint: ENDPOINT }],
    ["two words", `${TOKEN} extra`, /more than one word/],
    ["no secret", "ghr_G1d", /not ghr_<grantId>\.<secret>/, { repo: "a/b", tokenEndpoint: ENDPOINT }],
    ["a secret with a bad character", `ghr_G1d.${SECRET}$`, /not ghr_<grantId>\.<secret>/, { repo: "a/b", tokenEndpoint: ENDPOINT }],
    ["a short secret", "ghr_G1d.short", /not ghr_<grantId>\.<secret>/, { repo: "a/b", tokenEndpoint: ENDPOINT }],
    ["GitHub's own refresh token", "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498", /not ghr_<grantId>\.<secret>/, { repo: "a/b", tokenEndpoint: ENDPOINT }],
    ["only repository.id and no --repo", { ...SERVICE, repository: { id: 700000001 } }, /names repository id 700000001 but not its owner\/repo \(give it with --repo owner\/repo\)/],
    ["a repository with three parts", { ...SERVICE, repository: "acme/widgets/x" }, /is not owner\/repo/],
    ["an http endpoint off loopback", { ...SERVICE, tokenEndpoint: "http://mcp.example/t" }, /token endpoint must use https/],
    ["an endpoint with a query", { ...SERVICE, tokenEndpoint: `${ENDPOINT}?x=1` }, /must not have a query/],
    ["an endpoint with credentials", { ...SERVICE, tokenEndpoint: "https://u:p@mcp.example/t" }, /must not hold credentials/],
    ["a client id with a space", { ...SERVICE, clientId: "a b" }, /client id is not printable ASCII/],
    ["--repo contradicting the JSON", SERVICE, /repository is acme\/widgets, but the flag says acme\/other/, { repo: "acme/other" }],
    ["--token-endpoint contradicting the JSON", SERVICE, /token endpoint is/, { tokenEndpoint: "https://other.example/t" }],
    ["broken JSON", `{"refreshToken":"${TOKEN}"`, /starts with \{ but is not JSON/],
    ["something that is neither JSON nor a grant", "[1]", /its refresh token is not ghr_/],
    ["a JSON string", JSON.stringify("x"), /its refresh token is not ghr_/],
    ["a JSON object without a grant", { tokenEndpoint: ENDPOINT }, /it has no refresh token/],
  ])("%s", (_name, input, message, options: GrantAddOptions = {}) => {
    const text = refusal(input, options);
    expect(text).toMatch(/^not adding the grant: /);
    expect(text).toMatch(message);
  });
});
