import { Command, CommanderError, Option } from "commander";
import { runCacheClear } from "./commands/cache";
import { runGitAction } from "./commands/git";
import { runGrantAdd } from "./commands/grant/add";
import { runGrantList } from "./commands/grant/list";
import { runGrantRevoke } from "./commands/grant/revoke";
import { runInstall, runUninstall, type InstallOptions } from "./commands/install";
import { runProfiles } from "./commands/profiles";
import { runStatus } from "./commands/status";
import { runToken, type TokenOptions } from "./commands/token";
import { errorLine, HelperError } from "./errors";
import type { GrantAddOptions } from "./grants/input";
import type { Io } from "./io";
import { OPTIONS, type OptionSpec } from "./options";
import { secretsIn } from "./secrets";
import type { Flags } from "./settings";
import { VERSION } from "./version";

const EXAMPLES = `
Examples:
  git-credential-vers install --global          wire git to this helper for github.com
  GH_TOKEN=$(git-credential-vers token --repo acme/widgets --profile read) gh pr list
  curl -H "Authorization: Bearer $(git-credential-vers token)" https://api.github.com/installation/repositories
  git-credential-vers status                    why git can or cannot authenticate
  git-credential-vers grant add < grant.json    hold a refresh grant for one repository
  VERS_CREDENTIAL_TRACE=1 git fetch             trace every decision (tokens redacted)`;

/** The exit code the chosen action settles on. */
interface Outcome {
  code: number;
}

/** A command for people (or git), as a row: its options, and what runs it (returning the exit code, or nothing for 0). */
interface CommandSpec {
  name: string;
  description: string;
  options?: ReadonlyArray<readonly [flags: string, description: string]>;
  /** Global options its own --help shows too (they are read wherever they are given). */
  globals?: ReadonlyArray<OptionSpec["key"]>;
  run?: (io: Io, flags: Flags, options: never) => Promise<number | void> | number | void;
  subcommands?: CommandSpec[];
}

const WHERE: CommandSpec["options"] = [
  ["--global", "in ~/.gitconfig (the default)"],
  ["--system", "in the system gitconfig (golden images)"],
  ["--local", "in this repository's .git/config"],
  ["--per-repo", "also set useHttpPath = true: one token per repository"],
  ["--no-fast-path", "the plain helper line only: no git credential-cache in front (every git operation starts the helper)"],
];

const gitAction = (action: string, description: string): CommandSpec => ({ name: action, description, run: (io, flags) => runGitAction(action, flags, io) });

const COMMANDS: CommandSpec[] = [
  gitAction("get", "git: print a credential for the request on stdin"),
  gitAction("store", "git: nothing to do; tokens are short-lived and get already cached this one"),
  gitAction("erase", "git: forget the cached token if it is the one git rejected"),
  {
    name: "token",
    description: "print a token for gh, curl or an SDK, through the same cache",
    options: [
      ["--repo <repo>", "limit it to one repository: owner/repo, HOST/owner/repo or https://HOST/owner/repo"],
      ["--json", "print token, expires_at, permissions and repositories as JSON"],
    ],
    globals: ["host", "profile", "source", "timeout"],
    run: (io, flags, options: TokenOptions) => runToken(io, flags, options),
  },
  { name: "profiles", description: "list the permission profiles", options: [["--json", "as JSON"]], run: (io, _flags, options: { json?: boolean }) => runProfiles(io, options) },
  {
    name: "install",
    description: "wire git to this helper: an empty reset, then the fast path (git credential-cache) and this helper, per host",
    options: WHERE,
    globals: ["host", "profile"],
    run: (io, flags, options: InstallOptions) => runInstall(io, flags, options),
  },
  { name: "uninstall", description: "remove exactly what install wrote (give the same flags)", options: WHERE, globals: ["host", "profile"], run: (io, flags, options: InstallOptions) => runUninstall(io, flags, options) },
  {
    name: "status",
    description: "show the source, settings, cache and git wiring; exit 1 when something is wrong",
    options: [
      ["--json", "as JSON (stable, documented in the README)"],
      ["--check", "also mint once to prove the source works"],
    ],
    globals: ["host", "profile", "source"],
    run: (io, flags, options: { json?: boolean; check?: boolean }) => runStatus(io, flags, options),
  },
  {
    name: "grant",
    description: "manage refresh grants (ghr_…), each for one repository, for the grant source",
    subcommands: [
      {
        name: "add",
        description: "add a grant read from stdin: a bare ghr_…, or the minting service's JSON (never give it as an argument)",
        options: [
          ["--repo <repo>", "the grant's repository, owner/repo, when the grant does not name it"],
          ["--token-endpoint <url>", "where to redeem it, when the grant does not say"],
          ["--client-id <id>", "the client id to send, when the grant does not say"],
        ],
        run: (io, _flags, options: GrantAddOptions) => runGrantAdd(io, options),
      },
      { name: "list", description: "list the grants held (secrets redacted)", options: [["--json", "as JSON"]], run: (io, _flags, options: { json?: boolean }) => runGrantList(io, options) },
      {
        name: "revoke",
        description: "revoke a grant at its service, then remove it and its cached tokens",
        options: [["--repo <repo>", "which grant, owner/repo (needed when several are held)"]],
        globals: ["timeout"],
        run: (io, flags, options: { repo?: string }) => runGrantRevoke(io, flags, options),
      },
    ],
  },
  {
    name: "cache",
    description: "manage the token cache",
    subcommands: [
      {
        name: "clear",
        description: "remove every cached token (and stop the fast path's daemons)",
        options: [["--fleet", "also remove this source's entries from the fleet's Redis"]],
        globals: ["redisUrl"],
        run: (io, flags, options: { fleet?: boolean }) => runCacheClear(io, flags, options),
      },
    ],
  },
];

function optionFor(o: OptionSpec): Option {
  const option = new Option(o.value ? `--${o.flag} ${o.value}` : `--${o.flag}`, `${o.help} [${o.env}]`);
  return o.multiple ? option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]) : option;
}

/** The command line for people and tools; git's own actions are here too, for --help and errors. */
export function buildProgram(io: Io, outcome: Outcome): Command {
  const program = new Command("git-credential-vers")
    .description("git credential helper: short-lived GitHub App installation tokens from the Vers broker, cached and shared")
    .version(VERSION, "-V, --version")
    .addHelpText("after", EXAMPLES)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: () => {} });
  for (const o of OPTIONS) program.addOption(optionFor(o));
  const define = (parent: Command, spec: CommandSpec): void => {
    const cmd = parent.command(spec.name).description(spec.description);
    for (const o of OPTIONS.filter((o) => spec.globals?.includes(o.key))) cmd.addOption(optionFor(o));
    for (const [flags, description] of spec.options ?? []) cmd.option(flags, description);
    for (const sub of spec.subcommands ?? []) define(cmd, sub);
    const run = spec.run;
    // A command with subcommands and none given shows its own help (exit 0).
    cmd.action(async (options: Record<string, unknown>, self: Command) => {
      if (!run) io.stdout(self.helpInformation());
      else outcome.code = (await run(io, flagsOf(self), options as never)) ?? 0;
    });
  };
  for (const spec of COMMANDS) define(program, spec);

  // An action git may invent later: answer nothing, exit 0 (runGitAction hints at a terminal). No action at all: help.
  program.argument("[action]").action(async (action: string | undefined) => {
    if (action === undefined) io.stdout(program.helpInformation());
    else outcome.code = await runGitAction(action, flagsOf(program), io);
  });
  return program;
}

/** The global flags, whichever side of the command they were given on. */
export function flagsOf(cmd: Command): Flags {
  return cmd.optsWithGlobals<Flags>();
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const outcome: Outcome = { code: 0 };
  try {
    await buildProgram(io, outcome).parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      const message = err.message.replace(/^error: /, "");
      io.stderr(errorLine(new HelperError("bad-setting", message, "see git-credential-vers --help")));
      return 2;
    }
    io.stderr(errorLine(err, secretsIn(io.env)));
    return 1;
  }
  return outcome.code;
}
