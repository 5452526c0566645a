/**
 * The fast path's two credential.helper lines (SPEC, "The fast path"). git asks them in order:
 *
 *   1. git's own `git credential-cache` daemon, for `get` and `erase` (nothing on `store`): a hit
 *      never starts Node. The daemon compares `path` only when a request has one, so a request
 *      without a path is sent with an empty `path=` (and tokens are handed over with their path, empty
 *      for org-wide ones): a repository's token never answers a request for the whole organisation;
 *   2. this helper, for `get` and `erase` (nothing on `store`), told the daemon's socket in
 *      VERS_FAST_PATH_SOCKET, so that it hands the token it serves to that daemon (hand-off.ts).
 *
 * Both compute the socket the same way, from the same environment: one daemon per configuration that
 * changes what a token is — the helper line's own flags and every variable below — so a profile set in
 * the environment can never be served another profile's token from the daemon. The socket lies in the
 * helper's own 0700 cache folder, named by the POSIX `cksum` of those values.
 */
export const FINGERPRINT_VARIABLES = [
  "VERS_GITHUB_PROFILE",
  "VERS_TOKEN_SOURCE",
  "VERS_BASE_URL",
  "VERS_API_KEY",
  "VERS_GITHUB_HOST",
  "VERS_REFRESH_MARGIN",
  "GITHUB_APP_ID",
  "GITHUB_INSTALLATION_ID",
  "GITHUB_API_URL",
  "VERS_REFRESH_TOKEN",
  "VERS_GRANT_REPOSITORY",
  "VERS_TOKEN_ENDPOINT",
  "VERS_GRANTS_FILE",
] as const;

/** A fast-path socket's file name in the cache folder: fast-<cksum CRC>-<length>.sock. */
export const SOCKET_NAME = /^fast-\d{1,10}-\d{1,10}\.sock$/;

const DAEMON_FUNCTION = "vers_fast_path";
const HELPER_FUNCTION = "vers_helper";

/**
 * sh code that sets $s to the socket: <cache folder>/fast-<crc>-<length>.sock, where the cache folder
 * is env-paths' ($XDG_CACHE_HOME, else $HOME/.cache) and must be absolute (else $s is empty: no fast
 * path), and crc and length are POSIX cksum's of the line's flags and each variable, one per line. The
 * values reach cksum through a here-document, not a pipe: one process fewer on every git operation.
 */
function socketCode(args: string): string {
  const lines = ["$a", ...FINGERPRINT_VARIABLES.map((name) => `$${name}`)].join("\n");
  return (
    `a=${shellQuote(args)}; d=\${XDG_CACHE_HOME:-$HOME/.cache}/git-credential-vers; s=; ` +
    `case $d in /*) c=$(cksum <<VERS_FINGERPRINT\n${lines}\nVERS_FINGERPRINT\n); s=$d/fast-\${c%% *}-\${c##* }.sock;; esac`
  );
}

/** The two lines `install` writes for one host: the daemon, then this helper (its path and `args`, quoted for sh). */
export function fastPathLines(helperPath: string, args: string[]): [daemon: string, helper: string] {
  const argsText = args.join(" ");
  const socket = socketCode(argsText);
  const request = `r=; p=; while IFS= read -r l && [ -n "$l" ]; do r="$r$l\n"; case $l in path=*) p=1;; esac; done; [ -n "$p" ] || r="\${r}path=\n"`;
  const daemon =
    `!${DAEMON_FUNCTION}() { case $1 in get|erase) ;; *) return 0;; esac; ${socket}; [ -n "$s" ] || return 0; ${request}; ` +
    `exec git credential-cache --socket "$s" "$1" <<VERS_REQUEST\n$r\nVERS_REQUEST\n}; ${DAEMON_FUNCTION}`;
  const command = [helperPath, ...args].map(shellQuote).join(" ");
  const helper = `!${HELPER_FUNCTION}() { [ "$1" = store ] && return 0; ${socket}; VERS_FAST_PATH_SOCKET=$s exec ${command} "$@"; }; ${HELPER_FUNCTION}`;
  return [daemon, helper];
}

/** True for the daemon line of the fast path (install's, whatever its flags). */
export function isFastPathDaemonLine(value: string): boolean {
  return value.startsWith(`!${DAEMON_FUNCTION}() {`);
}

/** The helper command inside a fast-path helper line: its path and flags, as words; undefined for any other line. */
export function fastPathHelperWords(value: string): string[] | undefined {
  if (!value.startsWith(`!${HELPER_FUNCTION}() {`)) return undefined;
  const m = / exec (.*) "\$@"; \}; vers_helper$/.exec(value);
  return m ? shellWords(m[1]!) : undefined;
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Splits a command as sh would: whitespace between words, '…' quoting, \ escaping the next character. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? "") + text.slice(i + 1, end < 0 ? text.length : end);
      i = end < 0 ? text.length : end;
    } else if (c === "\\") {
      word = (word ?? "") + (text[++i] ?? "");
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
