/**
 * The man page and the bash completion (scripts/docs.ts) against the program's own definitions: every
 * command and flag commander knows, every global option of src/options.ts with its variable, and
 * every environment variable the source reads, so that neither the man page nor the code can drift.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { bashCompletion, ENVIRONMENT, manPage, program } from "../../scripts/docs";
import { OPTIONS } from "../../src/options";
import { profileNames } from "../../src/profiles";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** The man page with roff's escapes undone, as text to search. */
const page = manPage(program(), "9.9.9").replace(/\\-/g, "-").replace(/\\f[BIR]/g, "");
const section = (name: string): string => page.split(`.SH ${name}\n`)[1]!.split("\n.SH ")[0]!;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const path = join(dir, n);
    return statSync(path).isDirectory() ? sourceFiles(path) : n.endsWith(".ts") ? [path] : [];
  });
}

/** Every variable of ours (and the standard ones we honour) that the source reads or names. */
function variablesInSource(): string[] {
  const names = new Set<string>();
  const ours = /^(VERS_|GITHUB_|GH_|XDG_|HTTPS?_PROXY$|NO_PROXY$|NODE_EXTRA_CA_CERTS$)/;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\benv(?:\.|\[")([A-Z][A-Z0-9_]+)|"([A-Z][A-Z0-9_]{3,})"/g)) {
      const name = m[1] ?? m[2]!;
      if (ours.test(name)) names.add(name);
    }
  }
  return [...names].sort();
}

function commands(cmd: Command, prefix = ""): Array<{ path: string; cmd: Command }> {
  return cmd.commands.flatMap((c) => {
    const path = `${prefix}${c.name()}`;
    return [{ path, cmd: c }, ...commands(c, `${path} `)];
  });
}

describe("man page", () => {
  it("documents every global option with its variable, in OPTIONS and in ENVIRONMENT", () => {
    for (const o of OPTIONS) {
      expect(section("OPTIONS")).toContain(`--${o.flag}`);
      expect(section("OPTIONS")).toContain(`[${o.env}]`);
      expect(section("ENVIRONMENT")).toMatch(new RegExp(`^\\.B ${o.env}\\nas --${o.flag}:`, "m"));
    }
  });

  it("documents every environment variable the source reads", () => {
    const documented = [...section("ENVIRONMENT").matchAll(/^\.B (\S+)$/gm)].map((m) => m[1]);
    const read = variablesInSource();
    expect(read.length).toBeGreaterThan(15);
    expect(read.filter((name) => !documented.includes(name))).toEqual([]);
  });

  it("documents nothing the program does not have: every listed variable is read by the source or is a flag's", () => {
    // Read by env-paths (the cache root) and by Node itself, not by our source.
    const readElsewhere = ["XDG_CACHE_HOME", "NODE_EXTRA_CA_CERTS"];
    const read = new Set([...variablesInSource(), ...OPTIONS.map((o) => o.env), ...readElsewhere]);
    expect(ENVIRONMENT.map(([name]) => name).filter((name) => !read.has(name))).toEqual([]);
  });

  it("documents every command and every one of its flags, as commander defines them", () => {
    const all = commands(program());
    expect(all.map((c) => c.path)).toEqual(expect.arrayContaining(["get", "token", "install", "uninstall", "status", "grant add", "cache clear"]));
    const text = section("COMMANDS");
    for (const { path, cmd } of all) {
      expect(text).toMatch(new RegExp(`^\\.B ${path}( SUBCOMMAND)?$`, "m"));
      for (const o of cmd.options) expect(text, `${path} ${o.long}`).toContain(o.long!);
    }
  });

  it("names the profiles", () => {
    for (const name of profileNames()) expect(section("PROFILES")).toContain(name);
  });

  it("renders with man, without a warning", () => {
    if (spawnSync("man", ["--version"]).status !== 0) return;
    const dir = mkdtempSync(join(tmpdir(), "vers-man-"));
    try {
      writeFileSync(join(dir, "git-credential-vers.1"), manPage(program(), "9.9.9"));
      const r = spawnSync("man", ["--warnings", "-l", join(dir, "git-credential-vers.1")], { encoding: "utf8", env: { ...process.env, MANPAGER: "cat", PAGER: "cat", MANWIDTH: "80" } });
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("VERS_CREDENTIAL_TRACE");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bash completion", () => {
  /** What bash completes for the words typed so far (the last one being completed). */
  function complete(...words: string[]): string[] {
    const script = `${bashCompletion()}
COMP_WORDS=(git-credential-vers ${words.map((w) => `'${w}'`).join(" ")})
COMP_CWORD=${words.length}
_git_credential_vers
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).sort();
  }

  it("completes commands, their flags, subcommands and profile names", () => {
    expect(complete("")).toEqual(expect.arrayContaining(["install", "status", "token", "grant", "cache", "--profile", "--help"]));
    expect(complete("")).not.toContain("get");
    expect(complete("ins")).toEqual(["install"]);
    expect(complete("install", "--")).toEqual(expect.arrayContaining(["--system", "--global", "--per-repo", "--no-fast-path", "--host", "--profile"]));
    expect(complete("grant", "")).toEqual(["--help", "add", "list", "revoke"]);
    expect(complete("--profile", "")).toEqual([...profileNames()].sort());
    expect(complete("token", "--profile", "d")).toEqual(["develop"]);
    expect(complete("--host", "github.com", "st")).toEqual(["status"]);
  });
});
