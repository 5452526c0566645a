import { statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { HelperError } from "./errors";
import { redisPasswords } from "./fleet/url";
import { readRegularFile } from "./safe-files";
import type { Env } from "./io";

/** A secret and where it was found, e.g. { value: "…", origin: "~/.vers/keys.json" }. */
export interface Secret {
  value: string;
  origin: string;
}

/** Variables that hold secrets: their values never appear in an error line or the trace. */
const SECRET_VARIABLES = ["VERS_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "VERS_REFRESH_TOKEN", "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_B64"];

export function secretsIn(env: Env): string[] {
  const values = SECRET_VARIABLES.map((name) => env[name]?.trim() ?? "");
  // Every form of a Redis URL (a password may hold "/", "#" or "@"): src/fleet/url.ts reads it as the helper does.
  const redisPassword = redisPasswords(env.VERS_REDIS_URL);
  // A refresh grant ghr_<id>.<secret>: its secret part alone is hidden too.
  const grantSecret = /^ghr_[^.]*\.(.+)$/.exec(env.VERS_REFRESH_TOKEN?.trim() ?? "")?.[1];
  return [...values, ...redisPassword, grantSecret ?? ""].filter((v) => v.length >= 8);
}

/**
 * A file under the home folder, or undefined when $HOME is not an absolute path: with HOME empty or
 * relative, "~/.vers/keys.json" would be read from whatever folder git runs in (a cloned repository).
 */
export function homeFile(homedir: string, ...parts: string[]): string | undefined {
  return isAbsolute(homedir) ? join(homedir, ...parts) : undefined;
}

/**
 * The Vers key: VERS_API_KEY, else ~/.vers/keys.json {"keys":{"VERS_API_KEY":…}}, else ~/.versrc {"apiKey":…}.
 * git often runs outside the login shell that exports the variable, hence the files. A key file that
 * exists but cannot be read as JSON is an error naming it, not a silent fall-through.
 */
export function findVersKey(env: Env, homedir: string): Secret | undefined {
  const fromEnv = env.VERS_API_KEY?.trim();
  if (fromEnv) return { value: fromEnv, origin: "env VERS_API_KEY" };
  const keys = readJsonFile(homedir, ".vers", "keys.json") as { keys?: { VERS_API_KEY?: unknown } } | undefined;
  const fromKeys = keys?.keys?.VERS_API_KEY;
  if (typeof fromKeys === "string" && fromKeys.trim()) return { value: fromKeys.trim(), origin: "~/.vers/keys.json" };
  const rc = readJsonFile(homedir, ".versrc") as { apiKey?: unknown } | undefined;
  if (typeof rc?.apiKey === "string" && rc.apiKey.trim()) return { value: rc.apiKey.trim(), origin: "~/.versrc" };
  return undefined;
}

/** GITHUB_TOKEN, then GH_TOKEN. */
export function findStaticToken(env: Env): Secret | undefined {
  for (const name of ["GITHUB_TOKEN", "GH_TOKEN"]) {
    const value = env[name]?.trim();
    if (value) return { value, origin: `env ${name}` };
  }
  return undefined;
}

/** Which variable holds the GitHub App's private key (the key itself is read only on a miss). */
export function appKeyOrigin(env: Env): string | undefined {
  const name = ["GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_B64", "GITHUB_APP_PRIVATE_KEY_FILE"].find((n) => env[n]?.trim());
  return name && `env ${name}`;
}

const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The key files, as shown and where they are. */
const KEY_FILES = [
  [".vers", "keys.json"],
  [".versrc"],
] as const;

/**
 * Key files that exist and others can read (mode wider than 0600 for group or others): `status` warns.
 * (One that others can write is not used at all: findVersKey refuses it.)
 */
export function keyFilesReadableByOthers(homedir: string): Array<{ shown: string; path: string; mode: string }> {
  const out: Array<{ shown: string; path: string; mode: string }> = [];
  for (const parts of KEY_FILES) {
    const path = homeFile(homedir, ...parts);
    const mode = path === undefined ? undefined : modeOf(path);
    if (path !== undefined && mode !== undefined && mode & 0o044 && !(mode & 0o022)) out.push({ shown: `~/${parts.join("/")}`, path, mode: (mode & 0o777).toString(8) });
  }
  return out;
}

function modeOf(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.mode : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JSON file under $HOME; undefined when HOME is not absolute or the file does not exist. A key file
 * that group or others can write is not used: whoever can write it chooses which organisation's tokens
 * this user's git gets.
 */
function readJsonFile(homedir: string, ...parts: string[]): unknown {
  const path = homeFile(homedir, ...parts);
  if (path === undefined) return undefined;
  const shown = `~/${parts.join("/")}`;
  let read: { text: string; mode: number };
  try {
    read = readRegularFile(path, MAX_KEY_FILE_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new HelperError("bad-setting", `${shown} (${path}) cannot be read (${code})`, `fix or remove ${shown}`);
  }
  // The mode of the file just read (one open, no second look by path that a swap could answer).
  if (read.mode & 0o022) {
    throw new HelperError("bad-setting", `${shown} (${path}) is writable by group or others (mode ${(read.mode & 0o777).toString(8)}), so its key is not used`, `run chmod 600 ${path}`);
  }
  const text = read.text;
  try {
    return JSON.parse(text);
  } catch {
    throw new HelperError("bad-setting", `${shown} (${path}) is not JSON`, `fix or remove ${shown}; it should look like ${parts[0] === ".versrc" ? '{"apiKey":"…"}' : '{"keys":{"VERS_API_KEY":"…"}}'}`);
  }
}
