import { HelperError } from "../errors";

/** A credential description as git sends it (see git-credential(1), "INPUT/OUTPUT FORMAT"). */
export interface CredentialRequest {
  protocol?: string;
  host?: string;
  path?: string;
  username?: string;
  password?: string;
  /** A refresh token another helper kept (git ≥ 2.41 passes it on); used as a refresh grant when it is one. */
  oauth_refresh_token?: string;
  /** Multi-valued attributes (`key[]=value`), e.g. capability[] and wwwauth[]. */
  lists: Record<string, string[]>;
}

export const MAX_INPUT_BYTES = 1024 * 1024;

const SINGLE_KEYS = ["protocol", "host", "path", "username", "password", "oauth_refresh_token"] as const;
type SingleKey = (typeof SINGLE_KEYS)[number];

/** True once the input holds the blank line that ends a description. */
export function inputComplete(sofar: string): boolean {
  return /(^|\n)\r?\n/.test(sofar);
}

/**
 * Parses git's key=value lines up to a blank line or the end of input.
 * Split at the first "="; a key given twice keeps its last value; `url=` is expanded in place;
 * `key[]=` appends to a list and an empty value clears it; unknown keys are ignored; CRLF is accepted.
 * Throws bad-input for input over 1 MiB, a NUL byte, or a line without "=".
 */
export function parseRequest(input: string): CredentialRequest {
  if (Buffer.byteLength(input, "utf8") > MAX_INPUT_BYTES) throw badInput("the input is larger than 1 MiB");
  if (input.includes("\0")) throw badInput("the input holds a NUL byte");
  const request: CredentialRequest = { lists: {} };
  const lines = input.split("\n");
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "") break;
    const eq = line.indexOf("=");
    if (eq <= 0) throw badInput(`line ${index + 1} is not key=value`);
    applyAttribute(request, line.slice(0, eq), line.slice(eq + 1));
  }
  return request;
}

function applyAttribute(request: CredentialRequest, key: string, value: string): void {
  if (key.endsWith("[]")) {
    const name = key.slice(0, -2);
    request.lists[name] = value === "" ? [] : [...(request.lists[name] ?? []), value];
  } else if (key === "url") {
    // As in git, a url= line replaces the whole description read so far (its lists aside).
    for (const k of SINGLE_KEYS) delete request[k];
    Object.assign(request, parseUrl(value));
  } else if ((SINGLE_KEYS as readonly string[]).includes(key)) {
    request[key as SingleKey] = value;
  }
}

/**
 * Splits a URL as git's credential_from_url does: protocol before "://"; the host ends at the
 * first "/", "?" or "#" (so `https://evil.example?@github.com/` is evil.example, as in git since
 * CVE-2020-5260); an "@" before that gives user[:password]; leading and trailing slashes of the
 * path are trimmed. Components missing from the URL are left unset (the host is "" when absent).
 */
export function parseUrl(url: string): Partial<Record<SingleKey, string>> {
  const sep = url.indexOf("://");
  if (sep < 0) throw badInput("its url has no protocol://");
  const out: Partial<Record<SingleKey, string>> = { protocol: url.slice(0, sep) };
  const rest = url.slice(sep + 3);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const at = authority.indexOf("@");
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(":");
    out.username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (colon >= 0) out.password = decode(userinfo.slice(colon + 1));
  }
  out.host = decode(authority.slice(at + 1));
  const path = end < 0 ? "" : decode(rest.slice(end).replace(/^\/+/, "")).replace(/\/+$/, "");
  if (path) out.path = path;
  return out;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function badInput(what: string): HelperError {
  return new HelperError("bad-input", `could not read git's request: ${what}`, "git sends key=value lines; see git-credential(1)");
}
