/**
 * Issue 18, the command line: unknown commands (exit 2 and the nearest one at a terminal, silent exit 0
 * from git), commander's messages with real line breaks, help with examples, and `version`.
 */
import { describe, expect, it } from "vitest";
import { helper, HELPER_BIN, run, shellQuote, type RunResult, type TestEnv } from "./harness";
import { lines, ok, tempEnvs } from "./fixtures";

const made = tempEnvs(() => ({ hosts: ["github.com"], wireGit: false }));

/** The helper with a terminal on stdin (and stdout), as a person runs it: util-linux `script` gives it a pty. */
async function atTerminal(t: TestEnv, args: string[]): Promise<RunResult> {
  const command = [HELPER_BIN, ...args].map(shellQuote).join(" ");
  const r = await run("script", ["-qec", command, "/dev/null"], { env: t.env, cwd: t.home });
  return { ...r, stdout: r.stdout.replace(/\r\n/g, "\n") };
}

describe("unknown commands", () => {
  it("at a terminal: exit 2 and the nearest command", async () => {
    const t = await made();
    const r = await atTerminal(t, ["stauts"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/unknown command "stauts" \(did you mean status\?/);
    expect(lines(r.stdout.trim())).toHaveLength(1);
  });

  it("at a terminal, with an option after it: the command is what is unknown, not the option", async () => {
    const t = await made();
    const r = await atTerminal(t, ["instal", "--global"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/unknown command "instal" \(did you mean install\?/);
    expect(r.stdout).not.toMatch(/unknown option/);
  });

  it("from git (stdin not a terminal): nothing at all, exit 0", async () => {
    const t = await made();
    for (const args of [["stauts"], ["instal", "--global"], ["--host", "github.com", "capability"]]) {
      const r = await helper(t, args, "protocol=https\nhost=github.com\n\n");
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout + r.stderr, args.join(" ")).toBe("");
    }
  });
});

describe("commander's messages and help", () => {
  it("an unknown option prints its suggestion on a real line, exit 2", async () => {
    const t = await made();
    const r = await helper(t, ["status", "--jsn"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain("\\x0a");
    expect(lines(r.stderr)).toEqual(["git-credential-vers: unknown option '--jsn' (see git-credential-vers --help)", "(Did you mean --json?)"]);
  });

  it("every command's --help shows an example; the top-level help says where the key comes from", async () => {
    const t = await made();
    const top = ok(await helper(t, ["--help"]), "--help");
    expect(top.stdout).toContain("VERS_API_KEY");
    expect(top.stdout).toContain("~/.vers/keys.json");
    const commands = ["get", "store", "erase", "token", "profiles", "install", "uninstall", "status", "version", "grant", "grant add", "grant list", "grant revoke", "cache", "cache clear"];
    for (const command of commands) {
      const r = ok(await helper(t, [...command.split(" "), "--help"]), `${command} --help`);
      expect(r.stdout, command).toMatch(/\nExamples?:\n {2}\S/);
    }
  });

  it("help texts are proofread: store's sentence, uninstall's own wording, install's setting flags", async () => {
    const t = await made();
    expect(ok(await helper(t, ["--help"]), "--help").stdout).not.toContain("get already cached");
    const uninstall = ok(await helper(t, ["uninstall", "--help"]), "uninstall --help").stdout;
    expect(uninstall).toContain("remove from ~/.gitconfig");
    expect(uninstall).not.toContain("write to");
    expect(uninstall).not.toContain("also set useHttpPath");
    const install = ok(await helper(t, ["install", "--help"]), "install --help").stdout;
    for (const flag of ["--base-url", "--timeout", "--redis-url", "--per-repo"]) expect(install).toContain(flag);
  });
});

describe("version", () => {
  it("`version` prints version, commit, node and platform; --version the bare version", async () => {
    const t = await made();
    const r = ok(await helper(t, ["version"]), "version");
    const [name, commit, node, platform, ...rest] = lines(r.stdout);
    expect(rest).toEqual([]);
    const bare = ok(await helper(t, ["--version"]), "--version").stdout;
    expect(bare).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    expect(name).toBe(`git-credential-vers ${bare.trim()}`);
    expect(commit).toMatch(/^commit ([0-9a-f]{4,40}|unknown)$/);
    expect(node).toMatch(/^node v\d+\.\d+\.\d+$/);
    expect(platform).toBe(`platform linux-${process.arch}`);
  });
});
