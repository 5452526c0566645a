/**
 * Runs bin/git-credential-vers-fast as git would, beside a stand-in helper that records the socket it
 * was told, with a stand-in `git` first on PATH that records every call (the script's only way to a
 * daemon). For the fast-path unit and property tests.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fastPathLines } from "../../src/fast-path/lines";

export const SCRIPT_FILE = fileURLToPath(new URL("../../bin/git-credential-vers-fast", import.meta.url));

export interface ScriptBox {
  dir: string;
  script: string;
  /**
   * Runs the script with these arguments and exactly this environment (PATH is the box's): executed
   * (as status runs it), or sourced by the line install writes, as git runs it (`sh -c '<line> op'`).
   */
  run(args: string[], env: Record<string, string | undefined>, input?: string, how?: "exec" | "source"): ScriptRun;
  /** What the stand-in `git credential-cache` answers from now on (nothing when undefined). */
  answer(text: string | undefined): void;
  cleanup(): void;
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** VERS_FAST_PATH_SOCKET as the helper got it ("" when set empty), undefined when the helper did not run. */
  helperSocket: string | undefined;
  /** VERS_FAST_PATH_USER as the helper got it (the fingerprint), undefined when the helper did not run or got none. */
  helperUser: string | undefined;
  /** The helper's arguments and the request it read, when it ran. */
  helperArgs: string | undefined;
  helperInput: string | undefined;
  /** Every `git` call the script made, one string each, with the request it sent. */
  gitCalls: string[];
}

export function scriptBox(): ScriptBox {
  const dir = mkdtempSync(join(tmpdir(), "vers-fast-script-"));
  const bin = join(dir, "bin");
  const stubs = join(dir, "stubs");
  for (const d of [bin, stubs]) spawnSync("mkdir", ["-p", d]);
  const script = join(bin, "git-credential-vers-fast");
  copyFileSync(SCRIPT_FILE, script);
  chmodSync(script, 0o755);
  const log = join(dir, "log");
  writeFileSync(
    join(bin, "git-credential-vers"),
    `#!/bin/sh\n{ printf 'helper\\t%s\\t%s\\t%s\\t' "\${VERS_FAST_PATH_SOCKET-unset}" "$*" "\${VERS_FAST_PATH_USER-unset}"; cat | tr '\\n' '|'; echo; } >> ${log}\n`,
    { mode: 0o755 },
  );
  const answer = join(dir, "answer");
  writeFileSync(join(stubs, "git"), `#!/bin/sh\n{ printf 'git\\t%s\\t' "$*"; cat | tr '\\n' '|'; echo; } >> ${log}\n[ ! -f ${answer} ] || cat ${answer}\n`, { mode: 0o755 });
  return {
    dir,
    script,
    answer(text) {
      if (text === undefined) rmSync(answer, { force: true });
      else writeFileSync(answer, text);
    },
    run(args, env, input = "protocol=https\nhost=github.com\n\n", how = "exec") {
      rmSync(log, { force: true });
      const clean = Object.fromEntries(Object.entries({ ...env, PATH: `${stubs}:/usr/bin:/bin` }).filter(([, v]) => v !== undefined)) as Record<string, string>;
      // As git runs a "!" helper: sh -c '<line> <op>' '<line> <op>'.
      const line = `${fastPathLines(join(bin, "git-credential-vers"), args.slice(0, -1))[0]!.slice(1)} ${args.at(-1) ?? ""}`;
      const r =
        how === "exec" ? spawnSync(script, args, { env: clean, input, encoding: "utf8", timeout: 10_000 })
        : spawnSync("sh", ["-c", line, line], { env: clean, input, encoding: "utf8", timeout: 10_000 });
      let lines: string[] = [];
      try {
        lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
      } catch {
        // Nothing ran.
      }
      const helper = lines.find((l) => l.startsWith("helper\t"))?.split("\t");
      return {
        code: r.status,
        stdout: r.stdout,
        stderr: r.stderr,
        helperSocket: helper?.[1] === "unset" ? undefined : helper?.[1],
        helperUser: helper?.[3] === "unset" ? undefined : helper?.[3],
        helperArgs: helper?.[2],
        helperInput: helper?.[4],
        gitCalls: lines.filter((l) => l.startsWith("git\t")).map((l) => l.slice(4)),
      };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
