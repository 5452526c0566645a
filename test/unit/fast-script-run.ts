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

export const SCRIPT_FILE = fileURLToPath(new URL("../../bin/git-credential-vers-fast", import.meta.url));

export interface ScriptBox {
  dir: string;
  script: string;
  /** Runs the script with these arguments and exactly this environment (PATH is the box's). */
  run(args: string[], env: Record<string, string | undefined>, input?: string): ScriptRun;
  cleanup(): void;
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** VERS_FAST_PATH_SOCKET as the helper got it ("" when set empty), undefined when the helper did not run. */
  helperSocket: string | undefined;
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
    `#!/bin/sh\n{ printf 'helper\\t%s\\t%s\\t' "\${VERS_FAST_PATH_SOCKET-unset}" "$*"; cat | tr '\\n' '|'; echo; } >> ${log}\n`,
    { mode: 0o755 },
  );
  writeFileSync(join(stubs, "git"), `#!/bin/sh\n{ printf 'git\\t%s\\t' "$*"; cat | tr '\\n' '|'; echo; } >> ${log}\n`, { mode: 0o755 });
  return {
    dir,
    script,
    run(args, env, input = "protocol=https\nhost=github.com\n\n") {
      rmSync(log, { force: true });
      const clean = Object.fromEntries(Object.entries({ ...env, PATH: `${stubs}:/usr/bin:/bin` }).filter(([, v]) => v !== undefined)) as Record<string, string>;
      const r = spawnSync(script, args, { env: clean, input, encoding: "utf8", timeout: 10_000 });
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
        helperArgs: helper?.[2],
        helperInput: helper?.[3],
        gitCalls: lines.filter((l) => l.startsWith("git\t")).map((l) => l.slice(4)),
      };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
