import { basename, dirname } from "node:path";
import { refreshLeadMs, type RefreshPolicy } from "../cache/freshness";
import { tryLock } from "../cache/lock";
import type { Io } from "../io";
import type { CredentialRequest } from "../protocol/parse";
import { runCommand } from "../run";
import type { Served } from "../token";
import { redact, type Trace } from "../trace";
import { FAST_SOCKET_NAME, MAX_FINGERPRINT_BYTES } from "./lines";
import { fastPathFolder, socketFolderProblem } from "./socket-folder";
import { socketProblem, stampFolder } from "./stamp";

/** The daemon checks expiry in whole seconds and may serve an entry ~2 s late: hand off this much earlier. */
export const SAFETY_S = 5;
/** What the daemon may inherit: where git and its config are, nothing else. */
const DAEMON_ENV = ["PATH", "HOME", "LANG", "XDG_CONFIG_HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL"];

/**
 * The fast-path socket the script named (VERS_FAST_PATH_SOCKET), if it is one of ours: fast.sock in
 * the folder the script computes from this environment, which is this helper's own cache folder, and
 * which is fit for a socket now (socket-folder.ts). Anything else gets nothing: the script and this
 * function agree on where a socket may be (test/unit/fast-path.property.test.ts).
 */
export function fastPathSocket(io: Pick<Io, "env" | "cacheDir" | "uid">): string | undefined {
  const socket = io.env.VERS_FAST_PATH_SOCKET;
  if (!socket || basename(socket) !== FAST_SOCKET_NAME) return undefined;
  const dir = fastPathFolder(io.env);
  if (dir === undefined || dir !== io.cacheDir || dirname(socket) !== dir) return undefined;
  return socketFolderProblem(dir, io.uid) ? undefined : socket;
}

/**
 * The configuration's fingerprint the script computed (VERS_FAST_PATH_USER, lines.ts): the username=
 * the token is handed over under, which the daemon matches exactly. None (no hand-off) when it is
 * missing, not the script's form, longer than 8 KiB, or holds a control character (the daemon's
 * protocol is lines).
 */
export function fastPathUser(env: Io["env"]): string | undefined {
  const user = env.VERS_FAST_PATH_USER;
  if (!user?.startsWith("vers1:") || Buffer.byteLength(user) > MAX_FINGERPRINT_BYTES) return undefined;
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(user) ? undefined : user;
}

/** Where the script that ran this helper (if any) wants its daemon asked: both its socket and its fingerprint, or nothing. */
export function fastPathTarget(io: Pick<Io, "env" | "cacheDir" | "uid">): { socket: string; user: string } | undefined {
  const user = fastPathUser(io.env);
  const socket = user === undefined ? undefined : fastPathSocket(io);
  return socket === undefined || user === undefined ? undefined : { socket, user };
}

/** Seconds the daemon may keep a token: until this machine's refresh point, less the safety. */
export function daemonTimeoutSeconds(expiresAt: number, now: number, policy: RefreshPolicy): number {
  return Math.floor((expiresAt - refreshLeadMs(policy) - now) / 1000) - SAFETY_S;
}

/**
 * Hands the token just served to git's credential-cache daemon behind `socket`, for the same
 * protocol/host/path git asked about and the configuration's fingerprint as username (`user`), with a timeout ending before this machine's refresh point — so
 * the daemon never serves a token this helper would refresh, and never an expired one. One process at
 * a time (the socket's lock, `<socket>.lock`, as for cache entries): concurrent stores against a fresh
 * socket would each start a daemon. Then it stamps the folder (stamp.ts), which the script asks the
 * daemon behind. Failing to hand off costs only speed: traced, otherwise ignored.
 */
export async function handOff(io: Io, socket: string, user: string, request: CredentialRequest, served: Served, policy: RefreshPolicy, trace: Trace): Promise<void> {
  if (served.expiresAt === undefined) return;
  const timeout = daemonTimeoutSeconds(served.expiresAt, io.now(), policy);
  if (timeout <= 0) {
    trace(`not handing ${redact(served.token)} to the fast path: its refresh point is near`);
    return;
  }
  const lock = await tryLock(socket, io.now()).catch(() => "busy" as const);
  if (lock === "busy") {
    trace("another process is handing a token to the fast path");
    return;
  }
  let handed = false;
  try {
    const r = await daemon(io, socket, ["--timeout", String(timeout), "store"], request, user, [`password=${served.token}`, `password_expiry_utc=${Math.floor(served.expiresAt / 1000)}`]);
    handed = r.code === 0;
    trace(handed ? `handed ${redact(served.token)} to the fast path for ${timeout} s` : `git credential-cache store failed (exit ${r.code ?? "killed"}); no fast path this time`);
  } finally {
    await lock.release();
  }
  // After the lock is gone (its removal changes the folder): the script asks the daemon from now on.
  if (handed) {
    const why = stampFolder(dirname(socket), io.uid);
    if (why) trace(`the fast path's folder is not stamped: ${why}`);
  }
}

/**
 * Erases the token git rejected from the daemon behind `socket` (the script sends erase here rather
 * than to the daemon: its stamp may not hold at that moment, and a rejected token must not stay there
 * until its timeout): the same protocol/host/path as the hand-off and this configuration's
 * fingerprint. Only a socket of this user's in a folder fit for one (fastPathSocket checked it).
 */
export async function eraseFromDaemon(io: Io, socket: string, user: string, request: CredentialRequest, trace: Trace): Promise<void> {
  if (!request.password || socketProblem(socket, io.uid)) return;
  const r = await daemon(io, socket, ["erase"], request, user, [`password=${request.password}`]);
  trace(r.code === 0 ? `erased ${redact(request.password)} in the fast path's daemon` : `git credential-cache erase failed (exit ${r.code ?? "killed"})`);
}

/**
 * `git credential-cache --socket <socket> <args>` for this request's protocol/host/path as `user`, plus
 * `fields`. The path always goes along, empty for an org-wide token: the script sends `path=` with
 * every request that has none, so each token answers only requests for exactly its scope. A daemon
 * this starts lives on: it gets no more of our environment than git needs (no key in its
 * /proc/<pid>/environ).
 */
function daemon(io: Io, socket: string, args: string[], request: CredentialRequest, user: string, fields: string[]): ReturnType<typeof runCommand> {
  const input = [`protocol=https`, `host=${request.host}`, `path=${request.path ?? ""}`, `username=${user}`, ...fields, "", ""].join("\n");
  const env = Object.fromEntries(DAEMON_ENV.map((name) => [name, io.env[name]]).filter(([, value]) => value !== undefined));
  return runCommand("git", ["credential-cache", "--socket", socket, ...args], { env, cwd: dirname(socket), input, timeoutMs: 3000 });
}
