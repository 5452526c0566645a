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
const socketOf = (args: string[], e = env()) => box.run([...args, "vers-socket"], e).stdout.trim();

describe("the script's text", () => {
  it("is what the bundle embeds, POSIX sh, executable", () => {
    expect(SCRIPT_TEXT).toBe(readFileSync(SCRIPT_FILE, "utf8"));
    expect(SCRIPT_TEXT.startsWith("#!/bin/sh\n")).toBe(true);
    expect(statSync(SCRIPT_FILE).mode & 0o111).toBe(0o111);
  });

  it("fingerprints the line's flags, HOME and exactly FINGERPRINT_VARIABLES, in this order", () => {
    const heredoc = /<<VERS_FINGERPRINT\n([\s\S]*?)\nVERS_FINGERPRINT\n/.exec(SCRIPT_TEXT)?.[1];
    expect(heredoc?.split("\n")).toEqual(["$a", "$HOME", ...FINGERPRINT_VARIABLES.map((n) => `$${n}`)]);
  });
});

describe("the socket: one per configuration, stable", () => {
  it("is pinned for a fixed configuration: POSIX cksum of \"--host github.com\\n/home/fixed\\n\" and 13 empty lines", () => {
    expect(socketOf(["--host", "github.com"])).toBe(join(cache, "git-credential-vers", "fast-2159331180-43.sock"));
  });

  it("is the same for get, erase and vers-socket, and the helper is told it", () => {
    const socket = socketOf(["--host", "github.com"]);
    const get = box.run(["--host", "github.com", "get"], env());
    const erase = box.run(["--host", "github.com", "erase"], env(), "protocol=https\nhost=github.com\nusername=x-access-token\npassword=ghs_x\n\n");
    expect(get.helperSocket).toBe(socket);
    expect(erase.helperSocket).toBe(socket);
    expect(get.helperArgs).toBe("--host github.com get");
    expect(get.helperInput).toBe("protocol=https|host=github.com||");
    expect(fastPathSocket({ env: { ...env(), VERS_FAST_PATH_SOCKET: socket }, cacheDir: join(cache, "git-credential-vers"), uid: process.getuid?.() })).toBe(socket);
  });

  it("differs with the flags, HOME and each fingerprint variable; not with others", () => {
    const base = socketOf(["--host", "github.com"]);
    const others = [
      socketOf(["--host", "ghe.example.com"]),
      socketOf(["--host", "github.com", "--profile", "clone"]),
      socketOf(["--host", "github.com"], env({ HOME: "/home/other" })),
      ...FINGERPRINT_VARIABLES.map((name) => socketOf(["--host", "github.com"], env({ [name]: "x" }))),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
    expect(socketOf(["--host", "github.com"], env({ VERS_CREDENTIAL_TRACE: "/tmp/t", LANG: "C" }))).toBe(base);
  });
});

describe("get, erase, store", () => {
  it("get: asks the daemon with an empty path= when the request has none; on a hit prints its answer and runs no helper", async () => {
    const socket = socketOf(["--host", "github.com"]);
    const miss = box.run(["--host", "github.com", "get"], env());
    expect(miss.gitCalls).toEqual([]); // no socket file: nothing to ask
    const { createServer } = await import("node:net");
    const server = createServer((s) => s.end());
    await new Promise<void>((done) => server.listen(socket, done));
    try {
      const asked = box.run(["--host", "github.com", "get"], env());
      expect(asked.gitCalls).toEqual([`credential-cache --socket ${socket} get\tprotocol=https|host=github.com|path=|`]);
      expect(asked.helperSocket).toBe(socket);
      const withPath = box.run(["--host", "github.com", "get"], env(), "protocol=https\nhost=github.com\npath=acme/a.git\n\n");
      expect(withPath.gitCalls).toEqual([`credential-cache --socket ${socket} get\tprotocol=https|host=github.com|path=acme/a.git||`]);
      const erase = box.run(["--host", "github.com", "erase"], env(), "protocol=https\nhost=github.com\npassword=ghs_x\n\n");
      expect(erase.gitCalls).toEqual([`credential-cache --socket ${socket} erase\tprotocol=https|host=github.com|password=ghs_x|path=|`]);
      expect(erase.helperArgs).toBe("--host github.com erase");
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it("store: nothing at all", () => {
    const r = box.run(["--host", "github.com", "store"], env());
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "", helperSocket: undefined, gitCalls: [] });
  });

  it("the helper missing or not executable: one line, exit 1 for get and 0 otherwise", () => {
    const helper = join(box.dir, "bin", "git-credential-vers");
    const said = `git-credential-vers: the helper ${helper} is missing or not executable (run git-credential-vers install again)\n`;
    chmodSync(helper, 0o644);
    for (const [op, code] of [["get", 1], ["store", 0], ["erase", 0]] as const) {
      expect(box.run(["--host", "github.com", op], env())).toMatchObject({ code, stdout: "", stderr: said, gitCalls: [] });
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
