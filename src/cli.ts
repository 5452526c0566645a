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
import { CLI_COMMANDS } from "./argv";
import { runVersion } from "./commands/version";
import { errorLine, HelperError } from "./errors";
import { escapeText } from "./text";
import type { GrantAddOptions } from "./grants/input";
import type { Io } from "./io";
import { OPTIONS, type OptionSpec } from "./options";
import { secretsIn } from "./secrets";
import type { Flags } from "./settings";
import { VERSION } from "./version";

const EXAMPLES = `
The Vers key comes from VERS_API_KEY, else ~/.vers/keys.json {"keys":{"VERS_API_KEY":"…"}}, else
~/.versrc {"apiKey":"…"} (each file mode 600); your Vers console or team admin issues it.

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
  /** Shown after the options in its --help: at least one example. */
  examples: string[];
}

const WHERE: CommandSpec["options"] = [
  ["--global", "write to ~/.gitconfig (the default)"],
  ["--system", "write to the system gitconfig (golden images)"],
  ["--local", "write to this repository's .git/config"],
  ["--per-repo", "also set useHttpPath = true: one token per repository"],
  ["--no-fast-path", "the plain helper line only: no git credential-cache in front (every git operation starts the helper)"],
];

const FROM: CommandSpec["options"] = [
  ["--global", "remove from ~/.gitconfig (the default)"],
  ["--system", "remove from the system gitconfig"],
  ["--local", "remove from this repository's .git/config"],
];

/** Every setting flag: install writes each one given onto the line it installs. */
const SETTINGS = OPTIONS.map((o) => o.key);

const gitAction = (action: string, description: string, example: string): CommandSpec => ({
  name: action,
  description,
  run: (io, flags) => runGitAction(action, flags, io),
  examples: [example],
});

const COMMANDS: CommandSpec[] = [
  gitAction("get", "git: print a credential for the request on stdin", "printf 'protocol=https\\nhost=github.com\\n\\n' | git-credential-vers get"),
  gitAction("store", "git: does nothing (tokens are short-lived, and get has already cached this one)", "git-credential-vers store < /dev/null"),
  gitAction("erase", "git: forget the cached token if it is the one git rejected", "printf 'protocol=https\\nhost=github.com\\npassword=ghs_…\\n\\n' | git-credential-vers erase"),
  {
    name: "token",
    description: "print a token for gh, curl or an SDK, through the same cache",
    options: [
      ["--repo <repo>", "limit it to one repository: owner/repo, HOST/owner/repo or https://HOST/owner/repo"],
      ["--json", "print token, expires_at, permissions and repositories as JSON"],
    ],
    globals: ["host", "profile", "source", "timeout"],
    run: (io, flags, options: TokenOptions) => runToken(io, flags, options),
    examples: [
      "GH_TOKEN=$(git-credential-vers token --repo acme/widgets --profile read) gh pr list",
      "git-credential-vers token --repo ghe.example.com/acme/widgets --json",
    ],
  },
  {
    name: "profiles",
    description: "list the permission profiles",
    options: [["--json", "as JSON"]],
    run: (io, _flags, options: { json?: boolean }) => runProfiles(io, options),
    examples: ["git-credential-vers profiles --json"],
  },
  {
    name: "install",
    description: "wire git to this helper, per host: an empty reset, then the fast path (git credential-cache) and this helper with the setting flags given",
    options: WHERE,
    globals: SETTINGS,
    run: (io, flags, options: InstallOptions) => runInstall(io, flags, options),
    examples: ["git-credential-vers install --global", "sudo git-credential-vers install --system --host ghe.example.com --profile develop", "git-credential-vers install --per-repo --profile read"],
  },
  {
    name: "uninstall",
    description: "remove what install wrote, and nothing of yours: every host wired in that config file, or those given with --host",
    options: [...FROM, ["--per-repo", "(not needed: install's own useHttpPath goes with its line)"], ["--no-fast-path", "(not needed: either form is removed)"]],
    globals: ["host"],
    run: (io, flags, options: InstallOptions) => runUninstall(io, flags, options),
    examples: ["git-credential-vers uninstall --global", "sudo git-credential-vers uninstall --system --host ghe.example.com"],
  },
  {
    name: "status",
    description: "show the source, settings, cache and git wiring; exit 1 when something is wrong",
    options: [
      ["--json", "as JSON (stable, documented in the README)"],
      ["--check", "also mint once to prove the source works"],
    ],
    globals: ["host", "profile", "source"],
    run: (io, flags, options: { json?: boolean; check?: boolean }) => runStatus(io, flags, options),
    examples: ["git-credential-vers status", "git-credential-vers status --check --json"],
  },
  {
    name: "version",
    description: "print the version, the commit it was built from, the Node it runs on and the platform",
    run: (io) => runVersion(io),
    examples: ["git-credential-vers version"],
  },
  {
    name: "grant",
    description: "manage refresh grants (ghr_…), each for one repository, for the grant source",
    examples: ["git-credential-vers grant add < grant.json", "git-credential-vers grant list"],
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
        examples: ["git-credential-vers grant add < grant.json", "printf '%s' \"$GRANT\" | git-credential-vers grant add --repo acme/widgets"],
      },
      {
        name: "list",
        description: "list the grants held (secrets redacted)",
        options: [["--json", "as JSON"]],
        run: (io, _flags, options: { json?: boolean }) => runGrantList(io, options),
        examples: ["git-credential-vers grant list --json"],
      },
      {
        name: "revoke",
        description: "revoke a grant at its service, then remove it and its cached tokens",
        options: [["--repo <repo>", "which grant, owner/repo (needed when several are held)"]],
        globals: ["timeout"],
        run: (io, flags, options: { repo?: string }) => runGrantRevoke(io, flags, options),
        examples: ["git-credential-vers grant revoke --repo acme/widgets"],
      },
    ],
  },
  {
    name: "cache",
    description: "manage the token cache",
    examples: ["git-credential-vers cache clear"],
    subcommands: [
      {
        name: "clear",
        description: "remove every cached token (and stop the fast path's daemons)",
        options: [["--fleet", "also remove this source's entries from the fleet's Redis"]],
        globals: ["redisUrl"],
        run: (io, flags, options: { fleet?: boolean }) => runCacheClear(io, flags, options),
        examples: ["git-credential-vers cache clear", "git-credential-vers cache clear --fleet"],
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
    cmd.addHelpText("after", `\nExample${spec.examples.length > 1 ? "s" : ""}:\n${spec.examples.map((e) => `  ${e}`).join("\n")}`);
    const run = spec.run;
    // A command with subcommands and none given shows its own help (exit 0).
    cmd.action(async (options: Record<string, unknown>, self: Command) => {
      if (!run) io.stdout(self.helpInformation());
      else outcome.code = (await run(io, flagsOf(self), options as never)) ?? 0;
    });
  };
  for (const spec of COMMANDS) define(program, spec);

  // An action git may invent later: answer nothing, exit 0 (at a terminal: exit 2 and the nearest command). No action at all: help.
  program.argument("[action]").action(async (action: string | undefined) => {
    if (action === undefined) io.stdout(program.helpInformation());
    else outcome.code = await runGitAction(action, flagsOf(program), io);
  });
  return program;
}

/** The command words the CLI knows: people's commands and git's actions. */
const KNOWN = [...CLI_COMMANDS, ...COMMANDS.map((c) => c.name)];

/** The first word that is not an option (nor an option's value): the command, if any. */
function commandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") return argv[i + 1];
    if (!word.startsWith("-")) return word;
    const spec = OPTIONS.find((o) => `--${o.flag}` === word);
    if (spec?.value) i++;
  }
  return undefined;
}

/**
 * An unknown command typed at a terminal: exit 2 and the nearest command, if one is near. (From git,
 * stdin is not a terminal: runGitAction answers nothing, exit 0, as git's protocol asks.)
 */
export function unknownCommand(action: string, io: Io): number {
  const names = COMMANDS.map((c) => c.name);
  const near = names
    .map((name) => ({ name, d: editDistance(action.toLowerCase(), name) }))
    .filter(({ name, d }) => d <= Math.max(1, Math.floor(name.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  const hint = near ? `did you mean ${near.name}? See git-credential-vers --help` : "see git-credential-vers --help";
  io.stderr(errorLine(new HelperError("bad-input", `unknown command "${action.slice(0, 100)}"`, hint)));
  return 2;
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The global flags, whichever side of the command they were given on. */
export function flagsOf(cmd: Command): Flags {
  return cmd.optsWithGlobals<Flags>();
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const outcome: Outcome = { code: 0 };
  // `instal --global`: the command is what is unknown, whatever options follow it.
  const command = commandWord(argv);
  if (command !== undefined && !KNOWN.includes(command)) return io.stdinIsTTY ? unknownCommand(command, io) : 0;
  try {
    await buildProgram(io, outcome).parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      // commander's message may go on with a suggestion on its own line: keep its line breaks real.
      const [first = "", ...more] = err.message.replace(/^error: /, "").split("\n");
      io.stderr(errorLine(new HelperError("bad-setting", first, "see git-credential-vers --help")) + more.map((l) => `${escapeText(l)}\n`).join(""));
      return 2;
    }
    io.stderr(errorLine(err, secretsIn(io.env)));
    return 1;
  }
  return outcome.code;
}
