import { HelperError } from "./errors";
import { runCommand } from "./run";

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
  const run = async (args: string[], okCodes = [0]) => {
    const r = await runCommand("git", ["config", ...base, ...args], { env, cwd });
    if (r.code !== null && okCodes.includes(r.code)) return r.stdout;
    const why = (r.stderr.trim() || (r.code === null ? "git could not be run" : `exit ${r.code}`)).split("\n")[0];
    throw new HelperError("config", `git config failed: ${why}`, scope === "local" ? "run it inside the repository for --local" : "check that git is installed and the config file is writable");
  };
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
