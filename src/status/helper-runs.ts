import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import type { Env } from "../io";

/**
 * Why git cannot run the helper a wired line names, or undefined when it can: an absolute path must be
 * an executable file; a bare name (`vers`, `git-credential-vers`) must be one on PATH.
 */
export function commandProblem(command: string, env: Env): string | undefined {
  if (isAbsolute(command)) return fileProblem(command);
  const name = command === "vers" ? "git-credential-vers" : command;
  for (const dir of (env.PATH ?? "").split(delimiter).filter(isAbsolute)) {
    if (fileProblem(join(dir, name)) === undefined) return undefined;
  }
  return `${name} is not on PATH`;
}

function fileProblem(path: string): string | undefined {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return `${path} is missing`;
  }
  if (!isFile) return `${path} is not a file`;
  try {
    accessSync(path, constants.X_OK);
    return undefined;
  } catch {
    return `${path} is not executable`;
  }
}
