/**
 * bin/git-credential-vers-fast, the fast path's script, run as git runs it beside a stand-in helper
 * and a stand-in git (fast-script-run.ts); and src/fast-path/script.ts, which puts it beside the helper.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FINGERPRINT_VARIABLES } from "../../src/fast-path/lines";
import { placeFastScript, SCRIPT_TEXT } from "../../src/fast-path/script";
import { fastPathSocket } from "../../src/fast-path/hand-off";
import { stampFolder } from "../../src/fast-path/stamp";
import { scriptBox, SCRIPT_FILE, type ScriptBox } from "./fast-script-run";

const isRoot = process.getuid?.() === 0;
let box: ScriptBox;
let cache: string;
let folder: string;
const listening: Server[] = [];
beforeEach(() => {
  box = scriptBox();
  cache = join(box.dir, "cache");
  folder = join(cache, "git-credential-vers");
  mkdirSync(folder, { recursive: true, mode: 0o700 });
});
afterEach(async () => {
  await Promise.all(listening.splice(0).map((server) => new Promise((done) => server.close(done))));
  box.cleanup();
});

/** A socket at `path` (the stand-in git never connects: the script only sees that it is one). */
async function socketAt(path: string): Promise<void> {
  const server = createServer((s) => s.end());
  await new Promise<void>((done) => server.listen(path, done));
  listening.push(server);
}

/** What a hand-off leaves: the daemon's socket in the folder, and the folder stamped by the helper. */
async function handedOff(): Promise<void> {
  await socketAt(join(folder, "fast.sock"));
  expect(stampFolder(folder, process.getuid?.())).toBeUndefined();
}

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

  it("runs no program but git credential-cache: no ls, no cksum, one $(…), the daemon's", () => {
    const code = SCRIPT_TEXT.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
    expect(code).not.toMatch(/\bls\b|cksum|\bstat\b|\bfind\b|\bsed\b|\bawk\b|\btr\b|\bcat\b|\bhead\b|`/);
    expect(code.match(/\$\(/g)).toHaveLength(1);
    expect(code.match(/\bexec git credential-cache\b/g)).toHaveLength(1);
  });
});

/** The fingerprint the script computes (the helper is told it): "vers1:" then <length>:<value> for the flags, HOME and each variable, joined by ",". */
const fingerprint = (flags: string, e: Record<string, string | undefined>) =>
  `vers1:${[flags, e.HOME ?? "", ...FINGERPRINT_VARIABLES.map((n) => e[n] ?? "")].map((v) => `${v.length}:${v}`).join(",")}`;

for (const how of ["exec", "source"] as const) {
  describe(`${how === "exec" ? "run directly" : "sourced by the line, as git runs it"}: the socket and the fingerprint`, () => {
    const socketOf = (args: string[], e = env()) => box.run([...args, "vers-socket"], e, undefined, how).stdout.trim();
    const userOf = (args: string[], e = env()) => box.run([...args, "get"], e, undefined, how).helperUser;
    beforeEach(handedOff);

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
    expect(miss.gitCalls).toEqual([]); // no socket, no stamp: nothing to ask
    await handedOff();
    try {
      // Asked inside the folder (cd -P): a relative socket.
      const asked = box.run(["--host", "github.com", "get"], env());
      expect(asked.gitCalls).toEqual([`credential-cache --socket fast.sock get\tprotocol=https|host=github.com|username=${fp}|path=|`]);
      expect(asked.helperSocket).toBe(socket);
      // git's own username= never reaches the daemon: the fingerprint replaces it.
      const withPath = box.run(["--host", "github.com", "get"], env(), "protocol=https\nhost=github.com\nusername=someone\npath=acme/a.git\n\n");
      expect(withPath.gitCalls).toEqual([`credential-cache --socket fast.sock get\tprotocol=https|host=github.com|path=acme/a.git|username=${fp}||`]);
      expect(withPath.helperInput).toBe("protocol=https|host=github.com|username=someone|path=acme/a.git||");
      const erase = box.run(["--host", "github.com", "erase"], env(), "protocol=https\nhost=github.com\nusername=x-access-token\npassword=ghs_x\n\n");
      // erase asks no daemon: the helper erases there itself, having checked the folder (the stamp may not hold then).
      expect(erase.gitCalls).toEqual([]);
      expect(erase.helperArgs).toBe("--host github.com erase");
      expect(erase.helperSocket).toBe(socket);
      expect(erase.helperUser).toBe(fp);

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

describe("the helper's stamp: the daemon is asked only in a folder unchanged since the helper checked it", () => {
  const asks = (how: "exec" | "source" = "source") => box.run(["--host", "github.com", "get"], env(), undefined, how).gitCalls.length > 0;
  const socketNamed = () => box.run(["--host", "github.com", "vers-socket"], env()).stdout;

  it("stamped: asked (get, vers-socket); a file created, removed or renamed in the folder since: not asked, until the helper stamps again", async () => {
    await handedOff();
    expect(asks("exec") && asks("source")).toBe(true);
    expect(socketNamed()).toBe(`${join(folder, "fast.sock")}\n`);
    for (const change of [
      () => writeFileSync(join(folder, "c0ffee.json"), "{}"),
      () => rmSync(join(folder, "c0ffee.json")),
      () => (renameSync(join(folder, "fast.sock"), join(folder, "aside")), renameSync(join(folder, "aside"), join(folder, "fast.sock"))),
    ]) {
      change();
      expect(asks("exec") || asks("source")).toBe(false);
      expect(socketNamed()).toBe("");
      expect(stampFolder(folder, process.getuid?.())).toBeUndefined();
      expect(asks()).toBe(true);
    }
  });

  it("a folder made writable by others after its stamp: a socket put in place of the daemon's is never asked", async () => {
    await handedOff();
    chmodSync(folder, 0o777);
    expect(asks()).toBe(true); // nothing changed in it yet: still the daemon the helper handed off to
    rmSync(join(folder, "fast.sock"));
    await socketAt(join(folder, "fast.sock"));
    expect(asks("exec") || asks("source")).toBe(false);
    // And the helper does not stamp such a folder again.
    expect(stampFolder(folder, process.getuid?.())).toMatch(/others/);
    expect(asks()).toBe(false);
  });

  it("only the exact stamp counts: fast.ok a second later or earlier, missing, a link or not a file, or no socket: not asked", async () => {
    await handedOff();
    const stamp = join(folder, "fast.ok");
    const t = statSync(folder).mtimeMs / 1000;
    for (const other of [t + 1, t - 1, t + 0.5]) {
      utimesSync(stamp, other, other);
      expect(asks(), String(other - t)).toBe(false);
    }
    utimesSync(stamp, t, t);
    expect(asks()).toBe(true);
    // Each of these changes the folder too; stamped again by hand after, the script must still refuse.
    const restamp = () => {
      const now = statSync(folder).mtimeMs / 1000;
      utimesSync(folder, now, now);
      if (existsSync(stamp)) utimesSync(stamp, now, now);
    };
    rmSync(stamp);
    restamp();
    expect(asks()).toBe(false);
    symlinkSync(join(box.dir, "elsewhere"), stamp);
    writeFileSync(join(box.dir, "elsewhere"), "");
    restamp();
    expect(asks()).toBe(false);
    rmSync(stamp);
    mkdirSync(stamp);
    restamp();
    expect(asks()).toBe(false);
    rmSync(stamp, { recursive: true });
    expect(stampFolder(folder, process.getuid?.())).toBeUndefined();
    expect(asks()).toBe(true);
    rmSync(join(folder, "fast.sock"));
    writeFileSync(join(folder, "fast.sock"), "");
    restamp();
    expect(asks()).toBe(false);
  });

  it.skipIf(!isRoot)("as root: a socket or a fast.ok of another user's, or a folder of another user's, stamped as well as can be: not asked", async () => {
    await handedOff();
    const t = statSync(folder).mtimeMs / 1000;
    for (const path of [join(folder, "fast.sock"), join(folder, "fast.ok"), folder]) {
      chownSync(path, 65534, 65534);
      utimesSync(folder, t, t);
      expect(asks(), path).toBe(false);
      chownSync(path, 0, 0);
      utimesSync(folder, t, t);
      expect(asks(), path).toBe(true);
    }
  });
});

describe("stampFolder", () => {
  const uid = process.getuid?.();

  it("gives the folder and fast.ok one mtime, a whole second before the folder's last change; fast.ok an empty 0600 file", async () => {
    await socketAt(join(folder, "fast.sock"));
    const before = statSync(folder).mtimeMs;
    expect(stampFolder(folder, uid)).toBeUndefined();
    const [f, o] = [statSync(folder, { bigint: true }), statSync(join(folder, "fast.ok"), { bigint: true })];
    expect(f.mtimeNs).toBe(o.mtimeNs);
    expect(f.mtimeNs % 1_000_000_000n).toBe(0n);
    expect(Number(f.mtimeNs / 1_000_000n)).toBeLessThan(before);
    expect(Number(f.mtimeNs / 1_000_000n)).toBeGreaterThan(before - 3000);
    expect(Number(o.mode) & 0o777).toBe(0o600);
    expect(o.size).toBe(0n);
  });

  it("refuses, and stamps nothing: no socket, a socket that is a file, a folder open to others, a fast.ok that is a link or a FIFO", async () => {
    expect(stampFolder(folder, uid)).toMatch(/fast.sock does not exist/);
    writeFileSync(join(folder, "fast.sock"), "");
    expect(stampFolder(folder, uid)).toMatch(/not a socket of yours/);
    rmSync(join(folder, "fast.sock"));
    await socketAt(join(folder, "fast.sock"));
    chmodSync(folder, 0o750);
    expect(stampFolder(folder, uid)).toMatch(/open to group or others/);
    chmodSync(folder, 0o700);
    writeFileSync(join(box.dir, "target"), "");
    symlinkSync(join(box.dir, "target"), join(folder, "fast.ok"));
    expect(stampFolder(folder, uid)).toMatch(/ELOOP/);
    rmSync(join(folder, "fast.ok"));
    spawnSync("mkfifo", [join(folder, "fast.ok")]);
    expect(stampFolder(folder, uid)).toMatch(/not a file of yours|ENXIO/);
    expect(existsSync(join(box.dir, "target")) && statSync(join(box.dir, "target")).size).toBe(0);
  });

  it.skipIf(!isRoot)("as root: a socket of another user's is not stamped", async () => {
    await socketAt(join(folder, "fast.sock"));
    chownSync(join(folder, "fast.sock"), 65534, 65534);
    expect(stampFolder(folder, 0)).toMatch(/not a socket of yours/);
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
