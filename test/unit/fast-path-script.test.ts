/**
 * bin/git-credential-vers-fast, the fast path's script, run as git runs it beside a stand-in helper
 * and a stand-in git (fast-script-run.ts); and src/fast-path/script.ts, which puts it beside the helper.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FINGERPRINT_VARIABLES } from "../../src/fast-path/lines";
import { placeFastScript, SCRIPT_TEXT } from "../../src/fast-path/script";
import { fastPathSocket } from "../../src/fast-path/hand-off";
import { scriptBox, SCRIPT_FILE, type ScriptBox } from "./fast-script-run";

const isRoot = process.getuid?.() === 0;
let box: ScriptBox;
let cache: string;
beforeEach(() => {
  box = scriptBox();
  cache = join(box.dir, "cache");
  mkdirSync(join(cache, "git-credential-vers"), { recursive: true, mode: 0o700 });
});
afterEach(() => box.cleanup());

/** A fixed environment: HOME need not exist, XDG_CACHE_HOME holds the 0700 folder. */
const env = (more: Record<string, string | undefined> = {}) => ({ HOME: "/home/fixed", XDG_CACHE_HOME: cache, ...more });

describe("the script's text", () => {
  it("is what the bundle embeds, POSIX sh, executable", () => {
    expect(SCRIPT_TEXT).toBe(readFileSync(SCRIPT_FILE, "utf8"));
    expect(SCRIPT_TEXT.startsWith("#!/bin/sh\n")).toBe(true);
    expect(statSync(SCRIPT_FILE).mode & 0o111).toBe(0o111);
  });

  it("fingerprints the line's flags, HOME and exactly FINGERPRINT_VARIABLES, in this order", () => {
    const list = /\nfor v in (.*); do\n/.exec(SCRIPT_TEXT)?.[1];
    expect(list?.split(" ")).toEqual(['"$a"', '"$HOME"', ...FINGERPRINT_VARIABLES.map((n) => `"$${n}"`)]);
  });

  it("runs no program but ls (and git credential-cache): no cksum, no subshell but ls's and the daemon's", () => {
    const code = SCRIPT_TEXT.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
    expect(code).not.toMatch(/cksum|\bsed\b|\bawk\b|\btr\b|\bcat\b|\bhead\b|`/);
    expect(code.match(/\$\(/g)).toHaveLength(2);
  });
});

/** The fingerprint the script computes (the helper is told it): "vers1:" then <length>:<value> for the flags, HOME and each variable, joined by ",". */
const fingerprint = (flags: string, e: Record<string, string | undefined>) =>
  `vers1:${[flags, e.HOME ?? "", ...FINGERPRINT_VARIABLES.map((n) => e[n] ?? "")].map((v) => `${v.length}:${v}`).join(",")}`;

for (const how of ["exec", "source"] as const) {
  describe(`${how === "exec" ? "run directly" : "sourced by the line, as git runs it"}: the socket and the fingerprint`, () => {
    const socketOf = (args: string[], e = env()) => box.run([...args, "vers-socket"], e, undefined, how).stdout.trim();
    const userOf = (args: string[], e = env()) => box.run([...args, "get"], e, undefined, how).helperUser;

    it("one socket per cache folder, fast.sock; the fingerprint is pinned for a fixed configuration", () => {
      expect(socketOf(["--host", "github.com"])).toBe(join(cache, "git-credential-vers", "fast.sock"));
      expect(userOf(["--host", "github.com"])).toBe(`vers1:17:--host github.com,11:/home/fixed${",0:".repeat(13)}`);
      expect(userOf(["--host", "github.com"], env({ VERS_API_KEY: "k,1:x", VERS_GITHUB_PROFILE: "p" }))).toBe(fingerprint("--host github.com", env({ VERS_API_KEY: "k,1:x", VERS_GITHUB_PROFILE: "p" })));
    });

    it("the same for get, erase and vers-socket, and the helper is told socket and fingerprint", () => {
      const socket = socketOf(["--host", "github.com"]);
      const get = box.run(["--host", "github.com", "get"], env(), undefined, how);
      const erase = box.run(["--host", "github.com", "erase"], env(), "protocol=https\nhost=github.com\nusername=x-access-token\npassword=ghs_x\n\n", how);
      expect(get.helperSocket).toBe(socket);
      expect(erase.helperSocket).toBe(socket);
      expect(erase.helperUser).toBe(get.helperUser);
      expect(get.helperArgs).toBe("--host github.com get");
      expect(get.helperInput).toBe("protocol=https|host=github.com||");
      expect(erase.helperInput).toBe("protocol=https|host=github.com|username=x-access-token|password=ghs_x||");
      expect(fastPathSocket({ env: { ...env(), VERS_FAST_PATH_SOCKET: socket }, cacheDir: join(cache, "git-credential-vers"), uid: process.getuid?.() })).toBe(socket);
    });

    it("the fingerprint differs with the flags, HOME and each fingerprint variable (length-prefixed: no two configurations collide); not with others", () => {
      const base = userOf(["--host", "github.com"]);
      const others = [
        userOf(["--host", "ghe.example.com"]),
        userOf(["--host", "github.com", "--profile", "clone"]),
        userOf(["--host", "github.com"], env({ HOME: "/home/other" })),
        ...FINGERPRINT_VARIABLES.map((name) => userOf(["--host", "github.com"], env({ [name]: "x" }))),
        // Values that would join the same without the lengths.
        userOf(["--host", "github.com"], env({ VERS_GITHUB_PROFILE: "a,1:b" })),
        userOf(["--host", "github.com"], env({ VERS_GITHUB_PROFILE: "a", VERS_TOKEN_SOURCE: "b" })),
      ];
      expect(new Set([base, ...others]).size).toBe(others.length + 1);
      expect(userOf(["--host", "github.com"], env({ VERS_CREDENTIAL_TRACE: "/tmp/t", LANG: "C" }))).toBe(base);
    });

    it("a value with a control character: no fast path at all (no socket, no fingerprint, no daemon asked)", () => {
      box.answer(`username=${fingerprint("--host github.com", env())}\npassword=ghs_x\n`);
      try {
        for (const more of [{ HOME: "/home/a\nb" }, { VERS_API_KEY: "k\r" }, { VERS_GITHUB_PROFILE: "p\x1b" }]) {
          const r = box.run(["--host", "github.com", "get"], env(more), undefined, how);
          expect(r, JSON.stringify(more)).toMatchObject({ helperSocket: "", helperUser: "", gitCalls: [], stdout: "" });
          expect(box.run(["--host", "github.com", "vers-socket"], env(more), undefined, how).stdout).toBe("");
        }
      } finally {
        box.answer(undefined);
      }
    });
  });
}

describe("get, erase, store", () => {
  it("get: asks the daemon as this configuration, with an empty path= when the request has none; a hit prints username=x-access-token and runs no helper", async () => {
    const socket = join(cache, "git-credential-vers", "fast.sock");
    const fp = fingerprint("--host github.com", env());
    const miss = box.run(["--host", "github.com", "get"], env());
    expect(miss.gitCalls).toEqual([]); // no socket file: nothing to ask
    const { createServer } = await import("node:net");
    const server = createServer((s) => s.end());
    await new Promise<void>((done) => server.listen(socket, done));
    try {
      const asked = box.run(["--host", "github.com", "get"], env());
      expect(asked.gitCalls).toEqual([`credential-cache --socket ${socket} get\tprotocol=https|host=github.com|username=${fp}|path=|`]);
      expect(asked.helperSocket).toBe(socket);
      // git's own username= never reaches the daemon: the fingerprint replaces it.
      const withPath = box.run(["--host", "github.com", "get"], env(), "protocol=https\nhost=github.com\nusername=someone\npath=acme/a.git\n\n");
      expect(withPath.gitCalls).toEqual([`credential-cache --socket ${socket} get\tprotocol=https|host=github.com|path=acme/a.git|username=${fp}||`]);
      expect(withPath.helperInput).toBe("protocol=https|host=github.com|username=someone|path=acme/a.git||");
      const erase = box.run(["--host", "github.com", "erase"], env(), "protocol=https\nhost=github.com\nusername=x-access-token\npassword=ghs_x\n\n");
      expect(erase.gitCalls).toEqual([`credential-cache --socket ${socket} erase\tprotocol=https|host=github.com|password=ghs_x|username=${fp}|path=|`]);
      expect(erase.helperArgs).toBe("--host github.com erase");

      for (const how of ["exec", "source"] as const) {
        box.answer(`username=${fp}\npassword=ghs_fromTheDaemon\npassword_expiry_utc=1800000000\n`);
        const hit = box.run(["--host", "github.com", "get"], env(), undefined, how);
        expect(hit).toMatchObject({ code: 0, stdout: "username=x-access-token\npassword=ghs_fromTheDaemon\npassword_expiry_utc=1800000000\n", helperSocket: undefined });
        expect(hit.stdout).not.toContain("vers1:");
        // An answer for another username (not this configuration's) is no hit: the helper runs.
        box.answer(`username=x-access-token\npassword=ghs_other\n`);
        const other = box.run(["--host", "github.com", "get"], env(), undefined, how);
        expect(other.stdout).toBe("");
        expect(other.helperSocket).toBe(socket);
        // erase prints nothing of the daemon's and always runs the helper.
        box.answer(`username=${fp}\npassword=ghs_fromTheDaemon\n`);
        const erased = box.run(["--host", "github.com", "erase"], env(), "protocol=https\nhost=github.com\npassword=ghs_x\n\n", how);
        expect(erased.stdout).toBe("");
        expect(erased.helperSocket).toBe(socket);
        // vers-ask (status) asks and never runs the helper.
        const asked2 = box.run(["--host", "github.com", "vers-ask"], env(), undefined, how);
        expect(asked2).toMatchObject({ stdout: "username=x-access-token\npassword=ghs_fromTheDaemon\n", helperSocket: undefined });
        box.answer(undefined);
        expect(box.run(["--host", "github.com", "vers-ask"], env(), undefined, how)).toMatchObject({ code: 0, stdout: "", helperSocket: undefined });
      }
    } finally {
      box.answer(undefined);
      await new Promise((done) => server.close(done));
    }
  });

  it("store: nothing at all", () => {
    for (const how of ["exec", "source"] as const) {
      const r = box.run(["--host", "github.com", "store"], env(), undefined, how);
      expect(r).toMatchObject({ code: 0, stdout: "", stderr: "", helperSocket: undefined, gitCalls: [] });
    }
  });

  it("the helper missing or not executable: one line, exit 1 for get and 0 otherwise", () => {
    const helper = join(box.dir, "bin", "git-credential-vers");
    const said = `git-credential-vers: the helper ${helper} is missing or not executable (run git-credential-vers install again)\n`;
    chmodSync(helper, 0o644);
    for (const how of ["exec", "source"] as const) {
      for (const [op, code] of [["get", 1], ["store", 0], ["erase", 0]] as const) {
        expect(box.run(["--host", "github.com", op], env(), undefined, how)).toMatchObject({ code, stdout: "", stderr: said, gitCalls: [] });
      }
    }
    rmSync(helper);
    expect(box.run(["--host", "github.com", "get"], env())).toMatchObject({ code: 1, stderr: said });
  });

  it("HOME empty or unset and no XDG_CACHE_HOME: no socket (the helper has no cache folder from it either)", () => {
    for (const e of [{ HOME: "" }, {}, { HOME: "relative" }]) {
      expect(box.run(["--host", "github.com", "get"], e).helperSocket, JSON.stringify(e)).toBe("");
      expect(box.run(["--host", "github.com", "vers-socket"], e).stdout).toBe("");
    }
  });
});

describe("placeFastScript: the script beside the helper", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vers-place-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes it (0755) when missing or different, leaves it when in place", () => {
    const helper = join(dir, "git-credential-vers");
    const target = join(dir, "git-credential-vers-fast");
    expect(placeFastScript(helper, process.getuid?.())).toBeUndefined();
    expect(readFileSync(target, "utf8")).toBe(SCRIPT_TEXT);
    expect(statSync(target).mode & 0o777).toBe(0o755);
    const inode = statSync(target).ino;
    expect(placeFastScript(helper, process.getuid?.())).toBeUndefined();
    expect(statSync(target).ino).toBe(inode);
    writeFileSync(target, "#!/bin/sh\nexit 0\n");
    expect(placeFastScript(helper, process.getuid?.())).toBeUndefined();
    expect(readFileSync(target, "utf8")).toBe(SCRIPT_TEXT);
    chmodSync(target, 0o644);
    expect(placeFastScript(helper, process.getuid?.())).toBeUndefined();
    expect(statSync(target).mode & 0o777).toBe(0o755);
  });

  it("a link to the same text is in place (npm's bin links)", () => {
    symlinkSync(SCRIPT_FILE, join(dir, "git-credential-vers-fast"));
    expect(placeFastScript(join(dir, "git-credential-vers"), process.getuid?.())).toBeUndefined();
  });

  it("says why not: a helper of another name, a folder of someone else's", () => {
    expect(placeFastScript(join(dir, "vers"), process.getuid?.())).toMatch(/runs git-credential-vers beside it, and the helper is vers/);
    expect(placeFastScript(join(dir, "git-credential-vers"), 12345)).toMatch(/is not yours/);
    expect(existsSync(join(dir, "git-credential-vers-fast"))).toBe(false);
  });

  it.skipIf(!isRoot)("as root too: a folder owned by another uid is not written", () => {
    chownSync(dir, 65534, 65534);
    expect(placeFastScript(join(dir, "git-credential-vers"), 0)).toMatch(/is not yours/);
  });
});
