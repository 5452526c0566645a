import { errorLine } from "../errors";
import type { Io } from "../io";
import { QUIT } from "../protocol/format";
import { secretsIn } from "../secrets";
import { resolveSettings, type Flags } from "../settings";
import { runErase } from "./erase";
import { runGet } from "./get";

/**
 * git's actions. `get` exits 1 when configured but unable (and prints quit=1 with --strict);
 * `store` is a deliberate no-op (tokens are short-lived and `get` already cached this one);
 * `erase` and unknown actions exit 0 (an unknown one typed at a terminal: exit 2 and the nearest command).
 */
export async function runGitAction(action: string, flags: Flags, io: Io): Promise<number> {
  if (action === "get") {
    try {
      await runGet(io, flags);
      return 0;
    } catch (err) {
      io.stderr(errorLine(err, secretsIn(io.env)));
      if (isStrict(io, flags)) io.stdout(QUIT);
      return 1;
    }
  }
  if (action === "erase") {
    try {
      await runErase(io, flags);
    } catch (err) {
      io.stderr(errorLine(err, secretsIn(io.env)));
    }
  } else if (action !== "store" && io.stdinIsTTY) {
    // Typed by a person: exit 2 and the nearest command (the CLI chunk knows the commands).
    const { unknownCommand } = await import("../cli");
    return unknownCommand(action, io);
  }
  return 0;
}

function isStrict(io: Io, flags: Flags): boolean {
  try {
    return resolveSettings(flags, io.env).strict;
  } catch {
    return flags.strict === true;
  }
}
