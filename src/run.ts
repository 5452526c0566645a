export interface RunOutcome {
  /** The exit code; null when the command could not start, or was killed at its time limit. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end with `input` on stdin, never inheriting this process's streams (git reads
 * our stdout until it closes, so nothing that outlives us may hold it), killed after `timeoutMs`.
 * node:child_process is loaded here, on first use: it costs ~3 ms, and a cache hit never runs a command.
 */
export async function runCommand(
  command: string,
  args: string[],
  opts: { env: Readonly<Record<string, string | undefined>>; cwd?: string; input?: string; timeoutMs?: number },
): Promise<RunOutcome> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: opts.env as NodeJS.ProcessEnv, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 10_000);
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", () => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}
