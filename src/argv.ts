import { parseArgs } from "node:util";
import { OPTIONS } from "./options";
import type { Flags } from "./settings";

/** The commands for people; anything else in action position is git's (known or future) action. */
export const CLI_COMMANDS = ["token", "profiles", "install", "uninstall", "status", "cache", "grant", "version", "help"];

/**
 * On a helper line only, where `install --per-repo` writes it when it set `useHttpPath` itself: it
 * records, in git's config, that the setting is install's to remove. The helper ignores it.
 */
export const PER_REPO_MARK = "--per-repo";

export interface GitInvocation {
  action: string;
  flags: Flags;
}

/**
 * Recognises git's invocation of a helper, `[OPTIONS] <action>`, with the shared option table.
 * Returns undefined for anything else (people's commands, --help, --version, a malformed option),
 * which commander handles.
 */
export function gitInvocation(argv: string[]): GitInvocation | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: o.value ? ("string" as const) : ("boolean" as const), multiple: o.multiple === true }])),
        [PER_REPO_MARK.slice(2)]: { type: "boolean" as const },
      },
    });
  } catch {
    return undefined;
  }
  const [action, ...rest] = parsed.positionals;
  if (action === undefined || rest.length > 0 || CLI_COMMANDS.includes(action)) return undefined;
  const flags: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const value = parsed.values[o.flag];
    if (value !== undefined) flags[o.key] = value;
  }
  return { action, flags: flags as Flags };
}

/**
 * True when git runs `[OPTIONS] store`: only `store` in the action's place counts, so `install
 * --host store` is not it. The entry scripts answer this before loading anything else.
 */
export function isGitStore(argv: string[]): boolean {
  return gitInvocation(argv)?.action === "store";
}
