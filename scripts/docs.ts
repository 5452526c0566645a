/**
 * The man page (git-credential-vers.1) and the bash completion, generated from the same definitions
 * commander builds the CLI from (src/cli.ts's commands, src/options.ts's global options) and the
 * permission profiles (src/profiles.ts), so neither can drift from the program. The environment
 * variables without a flag are listed in ENVIRONMENT below; test/unit/docs.test.ts checks that every
 * variable the source reads is documented here.
 *
 * `node dist/tools/docs.cjs <folder>` (scripts/docs-cli.ts, built by scripts/release.mjs) writes <folder>/man/git-credential-vers.1
 * and <folder>/completion/git-credential-vers.bash.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command, Option } from "commander";
import { buildProgram } from "../src/cli";
import type { Io } from "../src/io";
import { OPTIONS } from "../src/options";
import { profileNames } from "../src/profiles";
import { VERSION } from "../src/version";

/** Variables read without a flag of their own (the flagged ones come from OPTIONS). */
export const ENVIRONMENT: ReadonlyArray<readonly [name: string, meaning: string]> = [
  ["VERS_API_KEY", "the broker key; else ~/.vers/keys.json {keys:{VERS_API_KEY}}, else ~/.versrc {apiKey} (files writable by group or others are not used). Never printed."],
  ["VERS_CREDENTIAL_TRACE", "1: trace every decision to stderr; a path: append the trace there. Tokens and keys appear only as … and their last 4 characters."],
  ["VERS_GRANTS_FILE", "the refresh grants this machine holds (default ~/.vers/grants.json)."],
  ["VERS_REFRESH_TOKEN", "one refresh grant (ghr_…) from the environment, with VERS_TOKEN_ENDPOINT, VERS_CLIENT_ID and VERS_GRANT_REPOSITORY."],
  ["VERS_TOKEN_ENDPOINT", "where the grant of VERS_REFRESH_TOKEN is redeemed."],
  ["VERS_CLIENT_ID", "the client id sent with the grant of VERS_REFRESH_TOKEN."],
  ["VERS_GRANT_REPOSITORY", "the repository (owner/repo) of the grant of VERS_REFRESH_TOKEN."],
  ["VERS_FAST_PATH_SOCKET", "set by the fast path's helper line (see install): the git credential-cache socket this helper hands the token it serves to. Not for people."],
  ["VERS_FAST_PATH_USER", "set by the fast path's helper line with VERS_FAST_PATH_SOCKET: the fingerprint of the configuration the token is handed over under. Not for people."],
  ["GITHUB_APP_ID", "github-app source: the GitHub App's id."],
  ["GITHUB_APP_PRIVATE_KEY", "github-app source: the App's private key (PEM); or GITHUB_APP_PRIVATE_KEY_B64 (base64) or GITHUB_APP_PRIVATE_KEY_FILE (a path)."],
  ["GITHUB_APP_PRIVATE_KEY_B64", "github-app source: the App's private key, base64."],
  ["GITHUB_APP_PRIVATE_KEY_FILE", "github-app source: a file holding the App's private key."],
  ["GITHUB_INSTALLATION_ID", "github-app source: the installation (default: found from the repository owner, or the App's only installation)."],
  ["GITHUB_API_URL", "github-app source: the API (default https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3)."],
  ["GITHUB_TOKEN", "static source and --fallback static: the token served (then GH_TOKEN)."],
  ["GH_TOKEN", "static source and --fallback static: the token served when GITHUB_TOKEN is unset."],
  ["XDG_CACHE_HOME", "cache root (default ~/.cache): the cache is XDG_CACHE_HOME/git-credential-vers. A root that is not an absolute path is not used."],
  ["XDG_CONFIG_HOME", "where git's own global config may live (git's rule), read by status and install."],
  ["HTTPS_PROXY", "proxy for https requests to the broker, the grant endpoint and GitHub (also HTTP_PROXY, NO_PROXY)."],
  ["HTTP_PROXY", "proxy for http requests (loopback brokers)."],
  ["NO_PROXY", "hosts reached without the proxy."],
  ["NODE_EXTRA_CA_CERTS", "extra certificate authorities for the broker and rediss:// fleet tiers."],
];

const FILES: ReadonlyArray<readonly [path: string, meaning: string]> = [
  ["~/.cache/git-credential-vers/", "the token cache (0700), shared by every git process of the user; the fast path's sockets (fast-*.sock)."],
  ["~/.vers/keys.json, ~/.versrc", "where the broker key is found when VERS_API_KEY is unset."],
  ["~/.vers/grants.json", "refresh grants held (0600)."],
];

/** Escapes text for roff: backslashes, leading dots and quotes, and hyphens in flags. */
function roff(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .replace(/…/g, "...")
    .replace(/[‘’]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/-/g, "\\-")
    .replace(/^([.'])/gm, "\\&$1");
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

const GLOBAL_FLAGS = new Set(OPTIONS.map((o) => `--${o.flag}`));

/** The program's commander tree, as `git-credential-vers --help` shows it. */
export function program(): Command {
  const io = { stdout: () => undefined, stderr: () => undefined } as unknown as Io;
  return buildProgram(io, { code: 0 });
}

export function manPage(root: Command = program(), version: string = VERSION): string {
  const out: string[] = [];
  const p = (s = "") => out.push(s);
  p(`.TH GIT\\-CREDENTIAL\\-VERS 1 "" "git-credential-vers ${roff(version)}" "Git Manual"`);
  p(".nh");
  p(".ad l");
  p(".SH NAME");
  p(`git\\-credential\\-vers \\- ${roff(root.description())}`);
  p(".SH SYNOPSIS");
  p(".B git\\-credential\\-vers");
  p("[\\fIOPTIONS\\fR] \\fBget\\fR|\\fBstore\\fR|\\fBerase\\fR");
  p(".br");
  p(".B git\\-credential\\-vers");
  p("\\fICOMMAND\\fR [\\fIOPTIONS\\fR]");
  p(".SH DESCRIPTION");
  p("A git credential helper. On a machine holding a Vers API key, git clone, fetch and push against GitHub just work:");
  p("the helper asks the Vers broker for a short\\-lived GitHub App installation token, keeps it in a file\\-locked cache shared");
  p("by every git process of the user, refreshes it before it expires and tells git when it expires.");
  p("Wire git to it with \\fBgit\\-credential\\-vers install\\fR (\\fB\\-\\-system\\fR in a golden image).");
  p("The same program prints tokens for other tools (gh, curl, SDKs), scoped to one repository and a permission profile.");
  p(".SH OPTIONS");
  p("Global options, accepted before or after any command. A flag wins over its environment variable, which wins over the default.");
  for (const o of root.options) optionItem(p, o);
  p(".SH COMMANDS");
  for (const cmd of allCommands(root)) {
    p(".TP");
    p(`.B ${roff(commandPath(cmd))}${cmd.commands.length ? ` \\fISUBCOMMAND\\fR` : ""}`);
    p(roff(cmd.description()));
    for (const o of cmd.options.filter((o) => !GLOBAL_FLAGS.has(o.long ?? ""))) {
      p(".RS");
      optionItem(p, o);
      p(".RE");
    }
    const globals = cmd.options.filter((o) => GLOBAL_FLAGS.has(o.long ?? "")).map((o) => o.long!);
    if (globals.length) {
      p(".RS");
      p(".PP");
      p(`Also: ${globals.map((g) => `\\fB${roff(g)}\\fR`).join(", ")}.`);
      p(".RE");
    }
  }
  p(".SH PROFILES");
  p(`Permission profiles for \\fB\\-\\-profile\\fR: ${profileNames().map((n) => `\\fB${n}\\fR`).join(", ")} (\\fBgit\\-credential\\-vers profiles\\fR lists what each grants).`);
  p(".SH ENVIRONMENT");
  for (const o of OPTIONS) {
    p(".TP");
    p(`.B ${o.env}`);
    p(`as \\fB\\-\\-${roff(o.flag)}\\fR: ${roff(o.help)}${o.flag === "host" ? " (a comma list)" : ""}.`);
  }
  for (const [name, meaning] of ENVIRONMENT) {
    p(".TP");
    p(`.B ${name}`);
    p(roff(meaning));
  }
  p(".SH FILES");
  for (const [path, meaning] of FILES) {
    p(".TP");
    p(`.I ${roff(path)}`);
    p(roff(meaning));
  }
  p(".SH EXIT STATUS");
  p("0 on success (and for git actions this helper does not answer); 1 when a token could not be served or status found a problem;");
  p("2 for a bad setting or an unknown command given on a terminal. Errors are one line on stderr, never a token.");
  p(".SH EXAMPLES");
  p(".nf");
  p("git\\-credential\\-vers install \\-\\-system");
  p("GH_TOKEN=$(git\\-credential\\-vers token \\-\\-repo acme/widgets \\-\\-profile read) gh pr list");
  p("VERS_CREDENTIAL_TRACE=1 git fetch");
  p(".fi");
  p(".SH NOTES");
  p("The single executable embeds Node.js; it must not be stripped (strip removes the embedded program).");
  p(".SH SEE ALSO");
  p(".BR gitcredentials (7),");
  p(".BR git\\-credential\\-cache (1)");
  return `${out.join("\n")}\n`;
}

function optionItem(p: (s?: string) => void, o: Option): void {
  p(".TP");
  p(o.flags.split(" ").map((w) => (/^[<[]/.test(w) ? `\\fI${roff(w)}\\fR` : `\\fB${roff(w)}\\fR`)).join(" "));
  p(roff(o.description));
}

/** bash completion: commands and subcommands, their flags, and profile and source names as values. */
export function bashCompletion(root: Command = program()): string {
  const top = root.commands.map((c) => c.name()).filter((n) => !["get", "store", "erase"].includes(n));
  const globals = root.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  const cases: string[] = [];
  for (const cmd of allCommands(root)) {
    const words = [...cmd.commands.map((c) => c.name()), ...cmd.options.map((o) => o.long!).filter(Boolean), "--help"];
    cases.push(`    "${commandPath(cmd)}") words="${[...new Set(words)].join(" ")}" ;;`);
  }
  return `# bash completion for git-credential-vers (generated by scripts/docs.ts)
_git_credential_vers() {
  local cur prev path="" w words i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    --profile) COMPREPLY=($(compgen -W "${profileNames().join(" ")}" -- "$cur")); return ;;
    --source) COMPREPLY=($(compgen -W "auto broker grant github-app static" -- "$cur")); return ;;
    --fallback) COMPREPLY=($(compgen -W "static off" -- "$cur")); return ;;
    ${OPTIONS.filter((o) => o.value && !["profile", "source", "fallback"].includes(o.flag)).map((o) => `--${o.flag}`).join("|")}|--repo|--token-endpoint|--client-id) return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    case "\${COMP_WORDS[i-1]}" in ${OPTIONS.filter((o) => o.value).map((o) => `--${o.flag}`).join("|")}|--repo|--token-endpoint|--client-id) continue ;; esac
    path="\${path:+$path }$w"
  done
  case "$path" in
    "") words="${top.join(" ")} ${globals.join(" ")} --help" ;;
${cases.join("\n")}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _git_credential_vers git-credential-vers
`;
}

/** Writes <dir>/man/git-credential-vers.1 and <dir>/completion/git-credential-vers.bash. */
export function writeDocs(dir: string): void {
  mkdirSync(join(dir, "man"), { recursive: true });
  mkdirSync(join(dir, "completion"), { recursive: true });
  writeFileSync(join(dir, "man", "git-credential-vers.1"), manPage());
  writeFileSync(join(dir, "completion", "git-credential-vers.bash"), bashCompletion());
}
