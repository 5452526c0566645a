import { createPrivateKey } from "node:crypto";
import { isAbsolute, join } from "node:path";
import { HelperError } from "../../errors";
import { readRegularFile } from "../../safe-files";

type Env = Readonly<Record<string, string | undefined>>;

/** A GitHub App private key as a clean PEM, and where it came from (a variable name or a path; never the key). */
export interface PrivateKey {
  pem: string;
  origin: string;
}

const MAX_KEY_BYTES = 64 * 1024;
const LOST_NEWLINES = "the PEM lost its newlines; use GITHUB_APP_PRIVATE_KEY_B64 or GITHUB_APP_PRIVATE_KEY_FILE";

/**
 * GITHUB_APP_PRIVATE_KEY (PEM, also with literal \n and surrounding quotes as .env files leave
 * it), else GITHUB_APP_PRIVATE_KEY_B64 (base64 of the PEM), else GITHUB_APP_PRIVATE_KEY_FILE
 * (a path, ~/ expanded). PKCS#1 and PKCS#8 RSA keys; checked with node:crypto before any request.
 */
export function loadPrivateKey(env: Env, homedir: string, appId: string): PrivateKey {
  const pem = env.GITHUB_APP_PRIVATE_KEY?.trim();
  if (pem) return checked(fromPemText(pem, "GITHUB_APP_PRIVATE_KEY"), "GITHUB_APP_PRIVATE_KEY");
  const b64 = env.GITHUB_APP_PRIVATE_KEY_B64?.trim();
  if (b64) return checked(fromBase64(unquote(b64), "GITHUB_APP_PRIVATE_KEY_B64"), "GITHUB_APP_PRIVATE_KEY_B64");
  const file = env.GITHUB_APP_PRIVATE_KEY_FILE?.trim();
  if (file) {
    const path = expandHome(unquote(file), homedir);
    return checked(fromPemText(readKeyFile(path), `GITHUB_APP_PRIVATE_KEY_FILE ${path}`), `GITHUB_APP_PRIVATE_KEY_FILE ${path}`);
  }
  throw new HelperError(
    "no-key",
    `no private key is set for GitHub App ${appId}`,
    "set GITHUB_APP_PRIVATE_KEY_FILE to the app's .pem file, or GITHUB_APP_PRIVATE_KEY / GITHUB_APP_PRIVATE_KEY_B64",
  );
}

/** A PEM as a variable or file holds it: quotes, literal "\n", CRLF, or base64 put in the wrong variable. */
function fromPemText(raw: string, origin: string): string {
  const text = unquote(raw.trim()).replace(/\\r\\n|\\n|\\r/g, "\n").replace(/\r\n?/g, "\n");
  if (!text.includes("-----BEGIN") && /^[A-Za-z0-9+/=\s]+$/.test(text)) {
    const decoded = Buffer.from(text, "base64").toString("utf8");
    if (decoded.includes("-----BEGIN")) return repairPem(decoded, origin);
  }
  return repairPem(text, origin);
}

function fromBase64(raw: string, origin: string): string {
  const compact = raw.replace(/\s+/g, "");
  const decoded = /^[A-Za-z0-9+/=_-]+$/.test(compact) ? Buffer.from(compact, "base64").toString("utf8") : "";
  if (!decoded.includes("-----BEGIN")) {
    throw bad(`${origin} is not the base64 of a PEM private key`, "encode the app's .pem file: base64 < app.private-key.pem | tr -d '\\n'");
  }
  return repairPem(decoded.replace(/\r\n?/g, "\n"), origin);
}

/** Rebuilds "-----BEGIN X-----", the base64 body in 64-column lines, "-----END X-----": whitespace lost or mangled is put back. */
function repairPem(text: string, origin: string): string {
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (!begin) throw bad(`${origin} is not a PEM private key`, "use the .pem file GitHub gave you, e.g. GITHUB_APP_PRIVATE_KEY_FILE=~/app.private-key.pem");
  const label = begin[1]!;
  const endAt = text.indexOf(`-----END ${label}-----`, begin.index);
  if (endAt < 0) throw bad(`${origin} holds only part of a PEM private key (no END line)`, LOST_NEWLINES);
  const body = text.slice(begin.index + begin[0].length, endAt);
  if (/Proc-Type:|DEK-Info:/.test(body)) {
    throw bad(`${origin} is an encrypted private key`, "decrypt it first: openssl pkey -in key.pem -out plain.pem");
  }
  const compact = body.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+=*$/.test(compact)) throw bad(`${origin} is not a readable PEM private key`, LOST_NEWLINES);
  const lines = compact.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Parses the key with node:crypto: an RSA private key (PKCS#1 or PKCS#8), as GitHub Apps sign RS256. */
function checked(pem: string, origin: string): PrivateKey {
  let type: string | undefined;
  try {
    type = createPrivateKey(pem).asymmetricKeyType;
  } catch {
    throw bad(`${origin} is not a usable private key`, `use the app's current .pem file; if it came through a variable, ${LOST_NEWLINES}`);
  }
  if (type !== "rsa") throw bad(`${origin} is an ${type ?? "unknown"} key, not RSA`, "GitHub Apps sign with RSA: generate a private key in the app's settings");
  return { pem, origin };
}

/** The .pem file, read only if it is a regular file (a FIFO would hold the mint past its deadline) of at most 64 KiB. */
function readKeyFile(path: string): string {
  try {
    return readRegularFile(path, MAX_KEY_BYTES).text;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    if (code === "over 64 KiB") throw bad(`GITHUB_APP_PRIVATE_KEY_FILE ${path} is not a private key (over 64 KiB)`, "point it at the app's .pem file");
    throw bad(`GITHUB_APP_PRIVATE_KEY_FILE ${path} cannot be read (${code})`, "point it at the app's .pem file, by absolute or ~/ path");
  }
}

function unquote(text: string): string {
  const m = /^(["'])([\s\S]*)\1$/.exec(text);
  return m ? m[2]!.trim() : text;
}

/**
 * The .pem file's path: absolute, or under an absolute HOME by ~/. git runs the helper in whatever
 * folder it works in (a cloned repository), so a relative path — or ~/ with HOME empty or relative —
 * would read a file that folder holds.
 */
function expandHome(path: string, homedir: string): string {
  const underHome = path === "~" || path.startsWith("~/");
  if (underHome && !isAbsolute(homedir)) {
    throw bad(`GITHUB_APP_PRIVATE_KEY_FILE ${path} is under HOME, which is not an absolute path`, "give the .pem file's absolute path, or set HOME");
  }
  const expanded = path === "~" ? homedir : underHome ? join(homedir, path.slice(2)) : path;
  if (!isAbsolute(expanded)) throw bad(`GITHUB_APP_PRIVATE_KEY_FILE ${path} is not an absolute path`, "give the .pem file's absolute path, or a ~/ path");
  return expanded;
}

function bad(what: string, hint: string): HelperError {
  return new HelperError("bad-setting", what, hint);
}
