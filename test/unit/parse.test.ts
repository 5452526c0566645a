import { describe, expect, it } from "vitest";
import type { HelperError } from "../../src/errors";
import { inputComplete, MAX_INPUT_BYTES, parseRequest, parseUrl, type CredentialRequest } from "../../src/protocol/parse";
import { errorOf } from "./expect-error";
import { heredoc } from "./heredoc";

/** What parseRequest returns, with `lists` defaulting to empty. */
function want(fields: Partial<CredentialRequest>): CredentialRequest {
  return { lists: {}, ...fields };
}

/** Runs parseRequest and returns the HelperError it threw (fails the test if it did not throw one). */
function badInputOf(input: string): HelperError {
  return errorOf(() => parseRequest(input), "parseRequest did not throw");
}

describe("parseRequest", () => {
  const cases: { name: string; stdin: string; want: CredentialRequest }[] = [
    {
      name: "git's usual request",
      stdin: heredoc(`
        protocol=https
        host=github.com

      `),
      want: want({ protocol: "https", host: "github.com" }),
    },
    {
      name: "every single-valued key",
      stdin: heredoc(`
        protocol=https
        host=ghe.example.com:8443
        path=acme/widgets.git
        username=x-access-token
        password=ghs_secret

      `),
      want: want({ protocol: "https", host: "ghe.example.com:8443", path: "acme/widgets.git", username: "x-access-token", password: "ghs_secret" }),
    },
    {
      name: "splits at the first = so base64 values keep their padding",
      stdin: heredoc(`
        protocol=https
        password=YWJjZA==
        username=a=b=c

      `),
      want: want({ protocol: "https", password: "YWJjZA==", username: "a=b=c" }),
    },
    {
      name: "an empty value is kept as an empty string",
      stdin: heredoc(`
        protocol=https
        host=

      `),
      want: want({ protocol: "https", host: "" }),
    },
    {
      name: "a key given twice keeps its last value",
      stdin: heredoc(`
        host=evil.example
        protocol=http
        host=github.com
        protocol=https

      `),
      want: want({ protocol: "https", host: "github.com" }),
    },
    {
      name: "unknown keys are ignored",
      stdin: heredoc(`
        protocol=https
        host=github.com
        password_expiry_utc=1700000000
        ephemeral=1
        state[]=helper:foo
        lists=not-a-list
        __proto__=x
        constructor=y

      `),
      want: want({ protocol: "https", host: "github.com", lists: { state: ["helper:foo"] } }),
    },
    {
      name: "oauth_refresh_token is kept: it may be a refresh grant (issue 11)",
      stdin: heredoc(`
        protocol=https
        host=github.com
        oauth_refresh_token=ghr_abc.defghijklmnop

      `),
      want: want({ protocol: "https", host: "github.com", oauth_refresh_token: "ghr_abc.defghijklmnop" }),
    },
    {
      name: "key[] lines build lists in order",
      stdin: heredoc(`
        capability[]=authtype
        capability[]=state
        wwwauth[]=Basic realm="GitHub"
        protocol=https

      `),
      want: want({ protocol: "https", lists: { capability: ["authtype", "state"], wwwauth: ['Basic realm="GitHub"'] } }),
    },
    {
      name: "key[]= (empty) clears the list, later values start it again",
      stdin: heredoc(`
        wwwauth[]=Basic realm="one"
        wwwauth[]=Bearer
        wwwauth[]=
        capability[]=a
        capability[]=
        wwwauth[]=Negotiate

      `),
      want: want({ lists: { wwwauth: ["Negotiate"], capability: [] } }),
    },
    {
      name: "stops at the blank line; later lines, even bad ones, are ignored",
      stdin: heredoc(`
        protocol=https
        host=github.com

        host=evil.example
        not a key value line
      `),
      want: want({ protocol: "https", host: "github.com" }),
    },
    {
      name: "input may end without a blank line",
      stdin: "protocol=https\nhost=github.com",
      want: want({ protocol: "https", host: "github.com" }),
    },
    {
      name: "empty input is an empty request",
      stdin: "",
      want: want({}),
    },
    {
      name: "a lone blank line is an empty request",
      stdin: "\n",
      want: want({}),
    },
    {
      name: "url= is expanded into its parts",
      stdin: heredoc(`
        url=https://octo:p%40ss@GitHub.com:8443/acme/widgets.git/

      `),
      want: want({ protocol: "https", host: "GitHub.com:8443", username: "octo", password: "p@ss", path: "acme/widgets.git" }),
    },
    {
      name: "keys after url= override its parts",
      stdin: heredoc(`
        url=https://evil.example/acme/widgets.git
        host=github.com
        path=acme/other.git

      `),
      want: want({ protocol: "https", host: "github.com", path: "acme/other.git" }),
    },
    {
      name: "url= overrides the keys before it",
      stdin: heredoc(`
        protocol=http
        host=github.com
        path=acme/widgets.git
        url=https://ghe.example.com/acme/other.git

      `),
      want: want({ protocol: "https", host: "ghe.example.com", path: "acme/other.git" }),
    },
  ];

  it.each(cases)("$name", ({ stdin, want: expected }) => {
    expect(parseRequest(stdin)).toEqual(expected);
  });

  it("accepts CRLF line endings, including the blank line", () => {
    const stdin = "protocol=https\r\nhost=github.com\r\npath=acme/widgets.git\r\n\r\nhost=evil.example\r\n";
    expect(parseRequest(stdin)).toEqual(want({ protocol: "https", host: "github.com", path: "acme/widgets.git" }));
  });

  it("strips only the line's own CR, not the value's other characters", () => {
    expect(parseRequest("password=a b\tc\r\n\r\n")).toEqual(want({ password: "a b\tc" }));
  });

  it("does not let unknown keys touch the prototype", () => {
    const req = parseRequest("__proto__=polluted\ntoString=x\nprotocol=https\n\n");
    expect(Object.keys(req).sort()).toEqual(["lists", "protocol"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  describe("bad input throws bad-input without echoing the line", () => {
    const secret = "ghs_SECRETSECRETSECRET";
    const bad: { name: string; stdin: string; what: string }[] = [
      { name: "a line with no =", stdin: `protocol=https\n${secret}\n\n`, what: "could not read git's request: line 2 is not key=value" },
      { name: "a line starting with =", stdin: `=${secret}\nprotocol=https\n\n`, what: "could not read git's request: line 1 is not key=value" },
      { name: "a NUL byte", stdin: `protocol=https\npassword=${secret}\0\n\n`, what: "could not read git's request: the input holds a NUL byte" },
      { name: "a NUL byte after the blank line", stdin: `protocol=https\n\npassword=${secret}\0`, what: "could not read git's request: the input holds a NUL byte" },
      { name: "a url= with no protocol", stdin: `url=github.com/${secret}\n\n`, what: "could not read git's request: its url has no protocol://" },
      { name: "input over 1 MiB", stdin: `password=${secret}${"x".repeat(MAX_INPUT_BYTES)}\n\n`, what: "could not read git's request: the input is larger than 1 MiB" },
    ];

    it.each(bad)("$name", ({ stdin, what }) => {
      const err = badInputOf(stdin);
      expect(err.code).toBe("bad-input");
      expect(err.what).toBe(what);
      expect(err.hint).toBe("git sends key=value lines; see git-credential(1)");
      expect(err.message).toBe(`${what} (git sends key=value lines; see git-credential(1))`);
      expect(err.message).not.toContain(secret);
      expect(err.message).not.toContain("SECRET");
    });
  });

  describe("the 1 MiB limit counts UTF-8 bytes", () => {
    it("accepts exactly 1 MiB", () => {
      const stdin = "password=" + "x".repeat(MAX_INPUT_BYTES - "password=".length);
      expect(Buffer.byteLength(stdin)).toBe(1024 * 1024);
      expect(parseRequest(stdin).password).toHaveLength(MAX_INPUT_BYTES - 9);
    });

    it("refuses 1 MiB + 1 byte", () => {
      const stdin = "password=" + "x".repeat(MAX_INPUT_BYTES - "password=".length + 1);
      expect(badInputOf(stdin).code).toBe("bad-input");
    });

    it("refuses fewer than 1 Mi characters that take more than 1 MiB as UTF-8", () => {
      const stdin = "password=" + "é".repeat(MAX_INPUT_BYTES / 2);
      expect(stdin.length).toBeLessThan(MAX_INPUT_BYTES);
      expect(badInputOf(stdin).what).toBe("could not read git's request: the input is larger than 1 MiB");
    });
  });
});

describe("parseUrl", () => {
  const cases: { url: string; want: ReturnType<typeof parseUrl> }[] = [
    { url: "https://github.com", want: { protocol: "https", host: "github.com" } },
    { url: "https://github.com/", want: { protocol: "https", host: "github.com" } },
    { url: "https://github.com/acme/widgets.git", want: { protocol: "https", host: "github.com", path: "acme/widgets.git" } },
    { url: "https://github.com/acme/widgets.git///", want: { protocol: "https", host: "github.com", path: "acme/widgets.git" } },
    { url: "https://github.com:8443/acme", want: { protocol: "https", host: "github.com:8443", path: "acme" } },
    { url: "https://octo@github.com/", want: { protocol: "https", host: "github.com", username: "octo" } },
    { url: "https://octo:@github.com", want: { protocol: "https", host: "github.com", username: "octo", password: "" } },
    { url: "https://octo:s3cr%3At@github.com", want: { protocol: "https", host: "github.com", username: "octo", password: "s3cr:t" } },
    { url: "https://my%20user:p%2Fw@github.com", want: { protocol: "https", host: "github.com", username: "my user", password: "p/w" } },
    { url: "https://github.com/acme/my%20repo.git", want: { protocol: "https", host: "github.com", path: "acme/my repo.git" } },
    { url: "https://git%68ub.com/a", want: { protocol: "https", host: "github.com", path: "a" } },
    { url: "HTTPS://GitHub.COM/A/B", want: { protocol: "HTTPS", host: "GitHub.COM", path: "A/B" } },
    { url: "http://github.com/a", want: { protocol: "http", host: "github.com", path: "a" } },
    { url: "cert:///etc/ssl/cert.pem", want: { protocol: "cert", host: "", path: "etc/ssl/cert.pem" } },
    { url: "https://github.com/100%", want: { protocol: "https", host: "github.com", path: "100%" } },
  ];

  it.each(cases)("$url", ({ url, want: expected }) => {
    expect(parseUrl(url)).toEqual(expected);
  });

  it("throws bad-input for a url without protocol://", () => {
    expect(() => parseUrl("github.com/acme")).toThrowError(expect.objectContaining({ code: "bad-input" }) as Error);
  });
});

/**
 * git's own URL splitter (credential.c, credential_from_url_1) clears the description first, ends the
 * host at the first "/", "?" or "#" (git 2.26.1, after CVE-2020-5260), and trims every leading slash
 * of the path. parse.ts says it splits "the way git's credential_from_url does"; these cases differ.
 */
describe("parseUrl agrees with git's credential_from_url", () => {
  it.each([
    { url: "https://evil.example?@github.com/acme/widgets.git", host: "evil.example" },
    { url: "https://evil.example#@github.com/acme/widgets.git", host: "evil.example" },
    { url: "https://evil.example?x=@github.com", host: "evil.example" },
  ])("a ? or # ends the host: $url → host $host", ({ url, host }) => {
    expect(parseUrl(url).host).toBe(host);
  });

  it("a url= line forgets the attributes before it, as git does", () => {
    const req = parseRequest("path=acme/secret.git\nusername=octo\npassword=old\nurl=https://github.com\n\n");
    expect(req).toEqual(want({ protocol: "https", host: "github.com" }));
  });

  it("every leading slash of the path is trimmed", () => {
    expect(parseUrl("https://github.com//acme/widgets.git").path).toBe("acme/widgets.git");
  });
});

describe("inputComplete", () => {
  it.each([
    { sofar: "", complete: false },
    { sofar: "protocol=https", complete: false },
    { sofar: "protocol=https\n", complete: false },
    { sofar: "protocol=https\nhost=github.com\n", complete: false },
    { sofar: "protocol=https\r\n", complete: false },
    { sofar: "protocol=https\n\n", complete: true },
    { sofar: "protocol=https\r\n\r\n", complete: true },
    { sofar: "protocol=https\n\nhost=x", complete: true },
    { sofar: "\n", complete: true },
    { sofar: "\r\n", complete: true },
  ])("$sofar → $complete", ({ sofar, complete }) => {
    expect(inputComplete(sofar)).toBe(complete);
  });
});
