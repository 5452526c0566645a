import { execFile } from "node:child_process";
import { HelperError } from "./errors";

export type ConfigScope = "global" | "system" | "local";

export interface GitConfig {
  /** All values of a key in order ([] when unset). */
  getAll(key: string): Promise<string[]>;
  /** Every `key value` pair whose key matches the regex, in git's config order. */
  getRegexp(regex: string): Promise<Array<{ key: string; value: string }>>;
  add(key: string, value: string): Promise<void>;
  unsetAll(key: string): Promise<void>;
  removeSection(section: string): Promise<void>;
}

/** `git config` in one scope (or, with no scope, as git reads it), through the git on PATH. */
export function gitConfig(env: Readonly<Record<string, string | undefined>>, cwd: string, scope?: ConfigScope): GitConfig {
  const base = scope ? [`--${scope}`] : [];
  const run = (args: string[], okCodes = [0]) =>
    new Promise<string>((resolve, reject) => {
      execFile("git", ["config", ...base, ...args], { env: env as NodeJS.ProcessEnv, cwd }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        if (okCodes.includes(code)) resolve(stdout);
        else reject(new HelperError("config", `git config failed: ${String(stderr || err?.message).trim().split("\n")[0]}`, scope === "local" ? "run it inside the repository for --local" : "check that git is installed and the config file is writable"));
      });
    });
  return {
    getAll: async (key) => splitNul(await run(["-z", "--get-all", key], [0, 1])),
    getRegexp: async (regex) =>
      splitNul(await run(["-z", "--get-regexp", regex], [0, 1])).map((item) => {
        const nl = item.indexOf("\n");
        return nl < 0 ? { key: item, value: "" } : { key: item.slice(0, nl), value: item.slice(nl + 1) };
      }),
    add: async (key, value) => void (await run(["--add", key, value])),
    unsetAll: async (key) => void (await run(["--unset-all", key], [0, 5])),
    removeSection: async (section) => void (await run(["--remove-section", section], [0, 128])),
  };
}

function splitNul(text: string): string[] {
  return text.split("\0").slice(0, -1);
}
