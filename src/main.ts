import { gitInvocation } from "./argv";
import { runGitAction } from "./commands/git";
import type { Io } from "./io";

export { processIo } from "./io";

/**
 * Runs the helper and returns its exit code; never throws, never prints a stack trace.
 * git's actions take the short road (no commander); people's commands load the CLI chunk.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const git = gitInvocation(argv);
  if (git) return runGitAction(git.action, git.flags, io);
  const { runCli } = await import("./cli");
  return runCli(argv, io);
}
