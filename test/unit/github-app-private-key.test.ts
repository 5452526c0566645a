/**
 * The GitHub App's private key: GITHUB_APP_PRIVATE_KEY (PEM as is, with literal \n, quoted, CRLF,
 * newlines turned to spaces), _B64 and _FILE; PKCS#1 and PKCS#8 both sign JWTs GitHub accepts;
 * missing and unusable keys fail with a fix in the hint, and never show the key.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isHelperError, type HelperError } from "../../src/errors";
import { loadPrivateKey } from "../../src/sources/github-app/private-key";
import { APP_ID, fakeGitHubs, KEYS, mint, mintError, REPO } from "./github-app-fixtures";

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "vers-key-"));
  await writeFile(join(home, "app.pem"), KEYS.pkcs1, { mode: 0o600 });
});
afterAll(() => rm(home, { recursive: true, force: true }));

const b64 = (text: string) => Buffer.from(text).toString("base64");
const literalNewlines = (pem: string) => pem.trim().replace(/\n/g, "\\n");
/** The key's base64 body on one line: no message may hold any part of it. */
const body = (pem: string) => pem.split("\n").slice(1, -2).join("");

function load(env: Record<string, string>) {
  return loadPrivateKey(env, home, APP_ID);
}

function loadError(env: Record<string, string>): HelperError {
  try {
    load(env);
  } catch (err) {
    if (isHelperError(err)) return err;
    throw err;
  }
  throw new Error("the key loaded");
}

function expectNoKeyIn(err: HelperError, pem: string): void {
  for (const chunk of body(pem).match(/.{16}/g) ?? []) expect(err.message).not.toContain(chunk);
}

describe("where the key comes from", () => {
  it.each<[string, Record<string, string>, string]>([
    ["PEM as is", { GITHUB_APP_PRIVATE_KEY: KEYS.pkcs1 }, "GITHUB_APP_PRIVATE_KEY"],
    ["PEM with literal \\n (a .env file)", { GITHUB_APP_PRIVATE_KEY: literalNewlines(KEYS.pkcs1) }, "GITHUB_APP_PRIVATE_KEY"],
    ["PEM with literal \\n in double quotes", { GITHUB_APP_PRIVATE_KEY: `"${literalNewlines(KEYS.pkcs1)}"` }, "GITHUB_APP_PRIVATE_KEY"],
    ["PEM in single quotes", { GITHUB_APP_PRIVATE_KEY: `'${KEYS.pkcs1}'` }, "GITHUB_APP_PRIVATE_KEY"],
    ["PEM with CRLF", { GITHUB_APP_PRIVATE_KEY: KEYS.pkcs1.replace(/\n/g, "\r\n") }, "GITHUB_APP_PRIVATE_KEY"],
    ["PEM whose newlines became spaces", { GITHUB_APP_PRIVATE_KEY: KEYS.pkcs1.trim().replace(/\n/g, " ") }, "GITHUB_APP_PRIVATE_KEY"],
    ["base64 put in GITHUB_APP_PRIVATE_KEY", { GITHUB_APP_PRIVATE_KEY: b64(KEYS.pkcs1) }, "GITHUB_APP_PRIVATE_KEY"],
    ["B64", { GITHUB_APP_PRIVATE_KEY_B64: b64(KEYS.pkcs1) }, "GITHUB_APP_PRIVATE_KEY_B64"],
    ["B64 wrapped at 76 columns", { GITHUB_APP_PRIVATE_KEY_B64: b64(KEYS.pkcs1).replace(/.{76}/g, "$&\n") }, "GITHUB_APP_PRIVATE_KEY_B64"],
    ["FILE with ~/", { GITHUB_APP_PRIVATE_KEY_FILE: "~/app.pem" }, "GITHUB_APP_PRIVATE_KEY_FILE"],
  ])("%s", (_name, env, origin) => {
    const key = load(env);
    expect(key.origin.startsWith(origin)).toBe(true);
    expect(key.pem).toBe(KEYS.pkcs1);
  });

  it("FILE with an absolute path; its origin names the path", () => {
    const path = join(home, "app.pem");
    expect(load({ GITHUB_APP_PRIVATE_KEY_FILE: path })).toEqual({ pem: KEYS.pkcs1, origin: `GITHUB_APP_PRIVATE_KEY_FILE ${path}` });
  });

  it("GITHUB_APP_PRIVATE_KEY wins over _B64, which wins over _FILE", () => {
    expect(load({ GITHUB_APP_PRIVATE_KEY: KEYS.pkcs8, GITHUB_APP_PRIVATE_KEY_B64: "x", GITHUB_APP_PRIVATE_KEY_FILE: "/x" }).origin).toBe("GITHUB_APP_PRIVATE_KEY");
    expect(load({ GITHUB_APP_PRIVATE_KEY_B64: b64(KEYS.pkcs8), GITHUB_APP_PRIVATE_KEY_FILE: "/x" }).origin).toBe("GITHUB_APP_PRIVATE_KEY_B64");
  });

  it("PKCS#8 is kept as PKCS#8", () => {
    expect(load({ GITHUB_APP_PRIVATE_KEY: KEYS.pkcs8 }).pem).toBe(KEYS.pkcs8);
  });
});

describe("PKCS#1 and PKCS#8 both sign JWTs GitHub accepts (universal-github-app-jwt through node:crypto)", () => {
  const github = fakeGitHubs();
  it.each([
    ["PKCS#1 (BEGIN RSA PRIVATE KEY, what GitHub hands out)", KEYS.pkcs1],
    ["PKCS#8 (BEGIN PRIVATE KEY)", KEYS.pkcs8],
    ["PKCS#1 with literal \\n", literalNewlines(KEYS.pkcs1)],
  ])("%s", async (_name, pem) => {
    const gh = await github();
    const { token } = await mint(gh.url, REPO, { env: { GITHUB_APP_PRIVATE_KEY: pem } });
    expect(gh.registry.lookup(token.token)).toBeDefined();
    expect(gh.requests.map((r) => r.status)).toEqual([200, 201]);
  });
});

describe("missing or unusable keys", () => {
  it("none set: no-key, naming the three variables", () => {
    const err = loadError({});
    expect(err.code).toBe("no-key");
    expect(err.what).toBe(`no private key is set for GitHub App ${APP_ID}`);
    expect(err.hint).toMatch(/GITHUB_APP_PRIVATE_KEY_FILE.*GITHUB_APP_PRIVATE_KEY \/ GITHUB_APP_PRIVATE_KEY_B64/);
  });

  it("only the first line of the PEM (an env file cut it): bad-setting, telling to use _B64 or _FILE", () => {
    const err = loadError({ GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----" });
    expect(err.code).toBe("bad-setting");
    expect(err.what).toBe("GITHUB_APP_PRIVATE_KEY holds only part of a PEM private key (no END line)");
    expect(err.hint).toBe("the PEM lost its newlines; use GITHUB_APP_PRIVATE_KEY_B64 or GITHUB_APP_PRIVATE_KEY_FILE");
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ["garbage", { GITHUB_APP_PRIVATE_KEY: "not a key at all!" }, /^GITHUB_APP_PRIVATE_KEY is not a PEM private key$/],
    ["a PEM with a mangled body", { GITHUB_APP_PRIVATE_KEY: KEYS.pkcs1.replace(/\n[A-Za-z]/, "\n!") }, /^GITHUB_APP_PRIVATE_KEY is not a readable PEM private key$/],
    ["a PEM whose body is not a key", { GITHUB_APP_PRIVATE_KEY: KEYS.pkcs1.replace(/\n[A-Za-z]{4}/, "\nAAAA") }, /^GITHUB_APP_PRIVATE_KEY is not a usable private key$/],
    ["B64 of something else", { GITHUB_APP_PRIVATE_KEY_B64: b64("hello") }, /^GITHUB_APP_PRIVATE_KEY_B64 is not the base64 of a PEM private key$/],
    ["a missing FILE", { GITHUB_APP_PRIVATE_KEY_FILE: "~/nope.pem" }, /^GITHUB_APP_PRIVATE_KEY_FILE \/.*\/nope\.pem cannot be read \(ENOENT\)$/],
  ])("%s: bad-setting", (_name, env, what) => {
    const err = loadError(env);
    expect(err.code).toBe("bad-setting");
    expect(err.what).toMatch(what);
    expectNoKeyIn(err, KEYS.pkcs1);
  });

  it.each([
    ["a relative FILE", "app.pem", "/home/someone", "GITHUB_APP_PRIVATE_KEY_FILE app.pem is not an absolute path"],
    ["a ./ FILE", "./app.pem", "/home/someone", "GITHUB_APP_PRIVATE_KEY_FILE ./app.pem is not an absolute path"],
    ["~/ with HOME empty", "~/app.pem", "", "GITHUB_APP_PRIVATE_KEY_FILE ~/app.pem is under HOME, which is not an absolute path"],
    ["~/ with HOME relative", "~/app.pem", ".", "GITHUB_APP_PRIVATE_KEY_FILE ~/app.pem is under HOME, which is not an absolute path"],
  ])("%s: refused, never read from the folder git runs in", (_name, file, homedir, what) => {
    let err: unknown;
    try {
      loadPrivateKey({ GITHUB_APP_PRIVATE_KEY_FILE: file }, homedir, APP_ID);
    } catch (e) {
      err = e;
    }
    expect(isHelperError(err)).toBe(true);
    expect((err as HelperError).what).toBe(what);
  });

  it("a FIFO as FILE: cannot be read (not a regular file), at once: nothing waits for a writer", () => {
    const path = join(home, "fifo.pem");
    execFileSync("mkfifo", ["-m", "600", path]);
    expect(loadError({ GITHUB_APP_PRIVATE_KEY_FILE: path }).what).toBe(`GITHUB_APP_PRIVATE_KEY_FILE ${path} cannot be read (not a regular file)`);
  });

  it("a FILE over 64 KiB: not a private key", async () => {
    const path = join(home, "big.pem");
    await writeFile(path, "x".repeat(65 * 1024));
    expect(loadError({ GITHUB_APP_PRIVATE_KEY_FILE: path }).what).toBe(`GITHUB_APP_PRIVATE_KEY_FILE ${path} is not a private key (over 64 KiB)`);
  });

  it("an EC key: not RSA", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const err = loadError({ GITHUB_APP_PRIVATE_KEY: ec });
    expect(err.what).toBe("GITHUB_APP_PRIVATE_KEY is an ec key, not RSA");
    expectNoKeyIn(err, ec);
  });

  it("an encrypted PEM: say to decrypt it", () => {
    const encrypted = KEYS.pkcs1.replace("-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n");
    expect(loadError({ GITHUB_APP_PRIVATE_KEY: encrypted }).what).toBe("GITHUB_APP_PRIVATE_KEY is an encrypted private key");
  });

  it("a mint with no key fails before any request", async () => {
    const err = await mintError("http://127.0.0.1:9", REPO, { env: {} });
    expect(err.code).toBe("no-key");
  });
});
