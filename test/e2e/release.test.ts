/**
 * The artifacts of `npm run release` (release/), each checked as its user would use it: the Node 24
 * single executables (arm64 under qemu-aarch64-static) through real git against the fake broker and
 * the TLS git host, the .debs (fields, files, lintian, installed into a temporary root with dpkg and
 * removed again), the npm package (installed globally into an empty prefix), SHA256SUMS and
 * scripts/install-golden.sh. Skips when release/ is not built (`npm run release`).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { manPage, program } from "../../scripts/docs";
import { credentialFill, git, run, stopFastPathDaemons, type RunResult, type TestEnv } from "./harness";
import { entryFiles, lines, ok, tempEnvs, useServers } from "./fixtures";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RELEASE = join(ROOT, "release");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const NODE = (JSON.parse(readFileSync(join(ROOT, "packaging", "node24.json"), "utf8")) as { version: string }).version;
const QEMU = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"];
const binaryOf = (arch: "x64" | "arm64") => join(RELEASE, `git-credential-vers-${VERSION}-linux-${arch}`);
const debOf = (arch: "amd64" | "arm64") => join(RELEASE, `git-credential-vers_${VERSION}_${arch}.deb`);
const TGZ = join(RELEASE, `git-credential-vers-${VERSION}.tgz`);
const ARTIFACTS = [binaryOf("x64"), binaryOf("arm64"), debOf("amd64"), debOf("arm64"), TGZ];
const built = existsSync(join(RELEASE, "SHA256SUMS"));
const SKIP_REASON = built ? "" : " [skipped: release/ is not built; run `npm run release`]";
const isRoot = process.getuid?.() === 0;
/** Minutes: qemu runs Node's start-up ~20× slower; lintian reads 250 MB. */
const SLOW = 10 * 60_000;

/** The command that runs a release binary here: arm64 through qemu-aarch64-static with the arm64 libraries. */
function command(arch: "x64" | "arm64"): string[] {
  return arch === "x64" ? [binaryOf("x64")] : [...QEMU, binaryOf("arm64")];
}

function runBinary(arch: "x64" | "arm64", args: string[], t: TestEnv, input?: string): Promise<RunResult> {
  const [cmd, ...rest] = command(arch);
  return run(cmd!, [...rest, ...args], { env: t.env, cwd: t.home, input, timeoutMs: SLOW });
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** A file's bytes from inside a .deb. */
function fromDeb(deb: string, path: string): Buffer {
  return execFileSync("sh", ["-c", `dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2"`, "sh", deb, `./${path}`], { maxBuffer: 1 << 30 });
}

describe.skipIf(!built)(`release artifacts${SKIP_REASON}`, () => {
  const servers = useServers({ repos: ["acme/a"] });
  const newEnv = tempEnvs(() => ({ brokerUrl: servers.broker.url, apiKey: servers.apiKey, hosts: [servers.gitHost.host], caFile: servers.gitHost.caFile, wireGit: false }));

  it("SHA256SUMS lists every artifact, and sha256sum -c accepts it", async () => {
    const listed = lines(await readFile(join(RELEASE, "SHA256SUMS"), "utf8")).map((l) => l.split("  ")[1]);
    expect(listed.sort()).toEqual(ARTIFACTS.map((f) => f.slice(RELEASE.length + 1)).sort());
    const t = await newEnv();
    ok(await run("sha256sum", ["-c", "--strict", "SHA256SUMS"], { env: t.env, cwd: RELEASE }), "sha256sum -c");
  });

  describe.each(["x64", "arm64"] as const)("the %s single executable", (arch) => {
    it("is an ELF for its machine, runs (arm64 under qemu), and V8 took its code cache", async () => {
      const header = readFileSync(binaryOf(arch)).subarray(0, 20);
      expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(header.readUInt16LE(18)).toBe(arch === "x64" ? 62 : 183); // EM_X86_64, EM_AARCH64
      const t = await newEnv();
      const r = ok(await runBinary(arch, ["--version"], t), "--version");
      expect(r.stdout).toBe(`${VERSION}\n`);
      // Node prints "Warning: Code cache data rejected." when V8 refuses the SEA's code cache.
      expect(r.stderr).toBe("");
    }, SLOW);

    it(`version names Node ${NODE} and linux-${arch}`, async (ctx) => {
      const t = await newEnv();
      const r = await runBinary(arch, ["version"], t);
      // TODO(release): the version command comes from the ops branch; until it is merged, skip.
      if (!r.stdout.startsWith("git-credential-vers ")) ctx.skip();
      expect(lines(r.stdout)).toEqual([`git-credential-vers ${VERSION}`, expect.stringMatching(/^commit [0-9a-f]{7,40}$/), `node v${NODE}`, `platform linux-${arch}`]);
    }, SLOW);

    it("answers git credential fill, and git clones through it with one mint", async () => {
      const t = await newEnv({ extraEnv: { VERS_TIMEOUT: "300" } });
      const key = `credential.https://${servers.gitHost.host}.helper`;
      const helper = arch === "x64" ? binaryOf("x64") : `!${command("arm64").join(" ")}`;
      ok(await git(t, ["config", "--global", "--add", key, ""]), "git config reset");
      ok(await git(t, ["config", "--global", "--add", key, helper]), "git config helper");
      const mints = servers.broker.mints;
      const fill = ok(await run("git", ["credential", "fill"], { env: t.env, cwd: t.home, input: `protocol=https\nhost=${servers.gitHost.host}\n\n`, timeoutMs: SLOW }), "git credential fill");
      const password = /^password=(\S+)$/m.exec(fill.stdout)?.[1];
      expect(servers.broker.registry.lookup(password!)).toBeDefined();
      ok(await run("git", ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")], { env: t.env, cwd: t.home, timeoutMs: SLOW }), "clone");
      expect(servers.broker.mints - mints).toBe(1);
    }, SLOW);
  });

  describe.each([["amd64", "x64"], ["arm64", "arm64"]] as const)("the %s .deb", (debArch, arch) => {
    it("has the package's fields and files, and ships the release binary unstripped", () => {
      const field = (name: string) => execFileSync("dpkg-deb", ["-f", debOf(debArch), name], { encoding: "utf8" }).trim();
      expect(field("Package")).toBe("git-credential-vers");
      expect(field("Version")).toBe(VERSION);
      expect(field("Architecture")).toBe(debArch);
      expect(field("Depends").split(/,\s*/).map((d) => d.split(" ")[0])).toEqual(expect.arrayContaining(["git", "libc6", "libstdc++6"]));
      const files = execFileSync("dpkg-deb", ["-c", debOf(debArch)], { encoding: "utf8" });
      for (const path of [
        "/usr/bin/git-credential-vers",
        "/usr/share/man/man1/git-credential-vers.1.gz",
        "/usr/share/bash-completion/completions/git-credential-vers",
        "/usr/share/doc/git-credential-vers/copyright",
        "/usr/share/doc/git-credential-vers/changelog.gz",
        "/usr/share/lintian/overrides/git-credential-vers",
        "/usr/bin/git-credential-vers-fast",
        "/usr/share/man/man1/git-credential-vers-fast.1.gz",
      ]) {
        expect(files).toContain(` .${path}\n`);
      }
      expect(files).toMatch(/^-rwxr-xr-x root\/root .* \.\/usr\/bin\/git-credential-vers\n/m);
      // md5sums names the binary's md5: the very file release/ holds (strip would change it, and break it).
      const md5sums = execFileSync("dpkg-deb", ["-I", debOf(debArch), "md5sums"], { encoding: "utf8" });
      const md5 = createHash("md5").update(readFileSync(binaryOf(arch))).digest("hex");
      expect(md5sums).toContain(`${md5}  usr/bin/git-credential-vers\n`);
      // Installing changes no git config: no postinst; only the prerm that undoes install --system.
      const control = execFileSync("sh", ["-c", `dpkg-deb --ctrl-tarfile "$1" | tar -tf -`, "sh", debOf(debArch)], { encoding: "utf8" });
      expect(lines(control).sort()).toEqual(["./", "./control", "./md5sums", "./prerm"]);
    });

    it("ships the man page the source makes now", () => {
      const shipped = execFileSync("gunzip", ["-c"], { input: fromDeb(debOf(debArch), "usr/share/man/man1/git-credential-vers.1.gz") }).toString("utf8");
      expect(shipped).toBe(manPage(program(), VERSION));
    });
  });

  it("lintian reports no error or warning that the package does not override with its reason", async () => {
    const t = await newEnv();
    const r = await run("lintian", ["--fail-on", "error,warning", debOf("amd64"), debOf("arm64")], { env: t.env, timeoutMs: SLOW });
    expect(r.stdout).toBe("");
    expect(r.code, r.stderr).toBe(0);
  }, SLOW);

  it.skipIf(!isRoot)("dpkg installs it (changing no git config); removing it removes install --system's lines and stops each user's fast-path daemons", async () => {
    const t = await newEnv();
    // A dpkg root of its own: dpkg --root with --force-script-chrootless runs the prerm here with DPKG_ROOT set.
    const root = join(t.home, "root");
    for (const d of ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc", "home/u"]) await mkdir(join(root, d), { recursive: true });
    await writeFile(join(root, "var/lib/dpkg/status"), "");
    await writeFile(join(root, "etc/passwd"), `u:x:${process.getuid!()}:${process.getgid!()}::/home/u:/bin/sh\n`);
    const system = join(t.home, "etc-gitconfig");
    await writeFile(system, "[credential \"https://other.example\"]\n\thelper = store\n[user]\n\tname = Image Builder\n");
    const systemList = async () => ok(await run("git", ["config", "--file", system, "--list"], { env: t.env }), "git config --list").stdout;
    const before = await systemList();
    const home = join(root, "home/u");
    const user = { ...t.env, HOME: home, XDG_CACHE_HOME: join(home, ".cache"), GIT_CONFIG_GLOBAL: join(home, ".gitconfig"), GIT_CONFIG_SYSTEM: system, GIT_CONFIG_NOSYSTEM: "0" };
    const dpkg = (args: string[]) => run("dpkg", [`--root=${root}`, "--force-script-chrootless", "--force-depends", "--log=/dev/null", ...args], { env: { PATH: t.env.PATH!, HOME: t.home, GIT_CONFIG_SYSTEM: system }, timeoutMs: SLOW });
    const bin = join(root, "usr/bin/git-credential-vers");
    try {
      ok(await dpkg(["-i", debOf("amd64")]), "dpkg -i");
      expect(await systemList()).toBe(before);

      ok(await run(bin, ["install", "--system", "--host", servers.gitHost.host], { env: user, cwd: home }), "install --system");
      expect(await systemList()).toContain(bin);
      const mints = servers.broker.mints;
      ok(await run("git", ["clone", "-q", servers.repo("acme/a"), join(home, "a")], { env: user, cwd: home }), "clone through the package");
      expect(servers.broker.mints - mints).toBe(1);
      const cache = join(home, ".cache", "git-credential-vers");
      const sockets = async () => (await readdir(cache)).filter((n) => /^fast(-.*)?\.sock$/.test(n));
      expect(await sockets()).not.toEqual([]); // the fast path's daemon holds the token

      ok(await dpkg(["-r", "git-credential-vers"]), "dpkg -r");
      expect(existsSync(bin)).toBe(false);
      expect(await systemList()).toBe(before);
      expect(await sockets()).toEqual([]);
    } finally {
      await stopFastPathDaemons(join(home, ".cache", "git-credential-vers"), user);
    }
  }, SLOW);

  it("the npm package ships dist/, bin/, README, LICENSE and the man page, no tests or sources", () => {
    const files = lines(execFileSync("tar", ["-tzf", TGZ], { encoding: "utf8" }));
    expect(files).toEqual(
      expect.arrayContaining(["package/package.json", "package/README.md", "package/LICENSE", "package/bin/git-credential-vers", "package/dist/load.cjs", "package/dist/main.cjs", "package/dist/cli.cjs", "package/dist/sources.cjs", "package/dist/man/git-credential-vers.1"]),
    );
    expect(files.filter((f) => /^package\/(src|test|scripts|packaging)\/|\.ts$|^package\/dist\/(tools|sea)/.test(f))).toEqual([]);
    const pkg = JSON.parse(execFileSync("tar", ["-xzOf", TGZ, "package/package.json"], { encoding: "utf8" })) as Record<string, unknown>;
    expect(pkg.dependencies).toBeUndefined();
  });

  it("npm install -g of it into an empty prefix installs no dependency, warns nothing, and the command answers git credential fill", async () => {
    const t = await newEnv();
    const prefix = join(t.home, "prefix");
    const env = { ...t.env, npm_config_cache: join(t.home, "npm-cache"), npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
    const node = ok(await run("node", ["--version"], { env }), "node --version");
    const r = ok(await run("npm", ["install", "-g", "--prefix", prefix, TGZ], { env, cwd: t.home, timeoutMs: SLOW }), "npm install -g");
    expect(r.stderr, `on node ${node.stdout}`).toBe("");
    const installed = join(prefix, "lib", "node_modules", "git-credential-vers");
    expect(existsSync(join(installed, "node_modules"))).toBe(false);
    expect(existsSync(join(prefix, "share", "man", "man1", "git-credential-vers.1"))).toBe(true);

    const key = `credential.https://${servers.gitHost.host}.helper`;
    ok(await git(t, ["config", "--global", "--add", key, ""]), "git config reset");
    ok(await git(t, ["config", "--global", "--add", key, join(prefix, "bin", "git-credential-vers")]), "git config helper");
    const fill = ok(await credentialFill(t, { protocol: "https", host: servers.gitHost.host }), "git credential fill");
    const password = /^password=(\S+)$/m.exec(fill.stdout)?.[1];
    expect(servers.broker.registry.lookup(password!)).toBeDefined();
  }, SLOW);

  describe("scripts/install-golden.sh", () => {
    const script = join(ROOT, "scripts", "install-golden.sh");

    it("--help prints its usage and does nothing else", async () => {
      const t = await newEnv();
      const prefix = join(t.home, "p");
      const r = ok(await run("sh", [script, "--help"], { env: { ...t.env, PREFIX: prefix, GIT_CONFIG_SYSTEM: join(t.home, "sys") }, cwd: t.home }), "--help");
      expect(r.stdout).toMatch(/^Usage: install-golden\.sh/);
      expect(existsSync(prefix)).toBe(false);
      expect(existsSync(join(t.home, "sys"))).toBe(false);
    });

    it("without root and without DESTDIR: one line saying root is needed", async () => {
      const t = await newEnv();
      // A copy of the script the unprivileged user can read: the checkout may lie in a 0700 folder (CI clones into mktemp -d).
      const readable = await mkdtemp(join(tmpdir(), "vers-golden-"));
      const copy = join(readable, "install-golden.sh");
      await copyFile(script, copy);
      await chmod(readable, 0o755);
      await chmod(copy, 0o644);
      const asUser = isRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh"] : ["sh"];
      const r = await run(asUser[0]!, [...asUser.slice(1), copy, "--host", "github.com"], { env: { ...t.env, PREFIX: join(t.home, "p") }, cwd: "/" });
      await rm(readable, { recursive: true, force: true });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^install-golden: root is needed/);
    });

    it("with DESTDIR and PREFIX stages the binary, creating the folders, and touches no git config", async () => {
      const t = await newEnv();
      const destdir = join(t.home, "stage");
      const env = { ...t.env, DESTDIR: destdir, PREFIX: "/opt/vers", GIT_CONFIG_SYSTEM: join(t.home, "sys") };
      const r = ok(await run("sh", [script, "--binary", binaryOf("x64"), "--host", servers.gitHost.host], { env, cwd: t.home }), "install-golden.sh");
      expect(r.stdout).toContain("/opt/vers/bin/git-credential-vers install --system --host");
      expect(sha256(join(destdir, "opt/vers/bin/git-credential-vers"))).toBe(sha256(binaryOf("x64")));
      expect(existsSync(join(t.home, "sys"))).toBe(false);
    });

    it("refuses a binary that does not match the SHA256SUMS beside it", async () => {
      const t = await newEnv();
      const dir = join(t.home, "download");
      await mkdir(dir);
      const name = `git-credential-vers-${VERSION}-linux-x64`;
      await symlink(binaryOf("x64"), join(dir, name));
      await writeFile(join(dir, "SHA256SUMS"), `${"0".repeat(64)}  ${name}\n`);
      const env = { ...t.env, DESTDIR: join(t.home, "stage") };
      const r = await run("sh", [script, "--binary", join(dir, name)], { env, cwd: t.home });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/does not match its SHA256SUMS line/);
      expect(existsSync(join(t.home, "stage"))).toBe(false);

      await writeFile(join(dir, "SHA256SUMS"), `${sha256(binaryOf("x64"))}  ${name}\n`);
      ok(await run("sh", [script, "--binary", join(dir, name)], { env, cwd: t.home }), "with the right sum");
    });

    it.skipIf(!isRoot)("as root: installs and wires the system config; leaves no token in the cache or a daemon when it ends; --uninstall undoes it", async () => {
      const t = await newEnv();
      const prefix = join(t.home, "usr-local");
      const system = join(t.home, "etc-gitconfig");
      const env = { ...t.env, PREFIX: prefix, GIT_CONFIG_SYSTEM: system };
      const image = { ...env, GIT_CONFIG_NOSYSTEM: "0" };
      const args = ["--binary", binaryOf("x64"), "--host", servers.gitHost.host];
      ok(await run("sh", [script, ...args], { env, cwd: t.home }), "install-golden.sh");
      const installed = join(prefix, "bin", "git-credential-vers");
      expect(readFileSync(system, "utf8")).toContain(installed);

      // A test clone while the image is built: a token in the cache and in a fast-path daemon...
      ok(await run("git", ["clone", "-q", servers.repo("acme/a"), join(t.home, "a")], { env: image, cwd: t.home }), "clone");
      expect(await entryFiles(t.cacheDir)).not.toEqual([]);
      // ...which the script, run again as the image's last step, leaves nowhere.
      ok(await run("sh", [script, ...args], { env, cwd: t.home }), "install-golden.sh again");
      expect(await entryFiles(t.cacheDir)).toEqual([]);
      expect((await readdir(t.cacheDir)).filter((n) => n.endsWith(".sock"))).toEqual([]);

      ok(await run("sh", [script, "--uninstall", "--host", servers.gitHost.host], { env, cwd: t.home }), "--uninstall");
      expect(existsSync(installed)).toBe(false);
      expect(readFileSync(system, "utf8")).not.toContain("git-credential-vers");
    }, SLOW);
  });
});
