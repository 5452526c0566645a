import { Command, CommanderError, Option } from "commander";
import { runCacheClear } from "./commands/cache";
import { runGitAction } from "./commands/git";
import { runInstall, runUninstall, type InstallOptions } from "./commands/install";
import { runStatus } from "./commands/status";
import { runProfiles } from "./commands/profiles";
import { runToken, type TokenOptions } from "./commands/token";
import { errorLine, HelperError } from "./errors";
import type { Io } from "./io";
import { OPTIONS } from "./options";
import type { Flags } from "./settings";
import { VERSION } from "./version";

const EXAMPLES = `
Examples:
  git-credential-vers install --global          wire git to this helper for github.com
  GH_TOKEN=$(git-credential-vers token --repo acme/widgets --profile read) gh pr list
  curl -H "Authorization: Bearer $(git-credential-vers token)" https://api.github.com/installation/repositories
  git-credential-vers status                    why git can or cannot authenticate
  VERS_CREDENTIAL_TRACE=1 git fetch             trace every decision (tokens redacted)`;

/** The exit code the chosen action settles on. */
interface Outcome {
  code: number;
}

/** The command line for people and tools; git's own actions are here too, for --help and errors. */
export function buildProgram(io: Io, outcome: Outcome): Command {
  const program = new Command("git-credential-vers")
    .description("git credential helper: short-lived GitHub App installation tokens from the Vers broker, cached and shared")
    .version(VERSION, "-V, --version")
    .addHelpText("after", EXAMPLES)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: () => {} });
  for (const o of OPTIONS) {
    const option = new Option(o.value ? `--${o.flag} ${o.value}` : `--${o.flag}`, `${o.help} [${o.env}]`);
    program.addOption(o.multiple ? option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]) : option);
  }

  for (const [action, description] of [
    ["get", "git: print a credential for the request on stdin"],
    ["store", "git: nothing to do; tokens are short-lived and get already cached this one"],
    ["erase", "git: forget the cached token if it is the one git rejected"],
  ] as const) {
    program
      .command(action)
      .description(description)
      .action(async (_opts, cmd: Command) => {
        outcome.code = await runGitAction(action, flagsOf(cmd), io);
      });
  }

  program
    .command("token")
    .description("print a token for gh, curl or an SDK, through the same cache")
    .option("--repo <repo>", "limit it to one repository: owner/repo, HOST/owner/repo or https://HOST/owner/repo")
    .option("--json", "print token, expires_at, permissions and repositories as JSON")
    .action(async (options: TokenOptions, cmd: Command) => {
      await runToken(io, flagsOf(cmd), options);
    });

  program
    .command("profiles")
    .description("list the permission profiles")
    .option("--json", "as JSON")
    .action((options: { json?: boolean }) => runProfiles(io, options));

  for (const [name, description, run] of [
    ["install", "wire git to this helper: an empty reset, then this helper, per host", runInstall],
    ["uninstall", "remove exactly what install wrote (give the same flags)", runUninstall],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option("--global", "in ~/.gitconfig (the default)")
      .option("--system", "in the system gitconfig (golden images)")
      .option("--local", "in this repository's .git/config")
      .option("--per-repo", "also set useHttpPath = true: one token per repository")
      .action(async (options: InstallOptions, cmd: Command) => {
        await run(io, flagsOf(cmd), options);
      });
  }

  program
    .command("status")
    .description("show the source, settings, cache and git wiring; exit 1 when something is wrong")
    .option("--json", "as JSON (stable, documented in the README)")
    .option("--check", "also mint once to prove the source works")
    .action(async (options: { json?: boolean; check?: boolean }, cmd: Command) => {
      outcome.code = await runStatus(io, flagsOf(cmd), options);
    });

  program
    .command("cache")
    .description("manage the token cache")
    .command("clear")
    .description("remove every cached token")
    .action(() => runCacheClear(io));

  // An action git may invent later: answer nothing, exit 0. No action at all: help.
  program.argument("[action]").action((action: string | undefined) => {
    if (action === undefined) io.stdout(program.helpInformation());
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
      io.stderr(errorLine(new HelperError("bad-setting", message, "see git-credential-vers --help")) + "\n");
      return 2;
    }
    io.stderr(errorLine(err) + "\n");
    return 1;
  }
  return outcome.code;
}
