// Builds dist/git-credential-vers: one executable for this platform (Linux x64 here) from the
// local `node` and `postject`, offline — Node's single executable application with its code cache —
// and puts the fast path's script beside it (dist/git-credential-vers-fast: it runs the helper in its
// own folder). Expects dist/sea.cjs (npm run build:binary builds it first).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";

const out = "dist/git-credential-vers";
const blob = "dist/sea-prep.blob";
const config = "dist/sea-config.json";

if (!existsSync("dist/sea.cjs")) throw new Error("dist/sea.cjs is missing: run `npm run build:binary`");
writeFileSync(config, JSON.stringify({ main: "dist/sea.cjs", output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }, null, 2));
execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: "inherit" });
rmSync(out, { force: true });
copyFileSync(process.execPath, out);
// postject (LIEF) warns "Can't find string offset for section name" for each of node's unnamed ELF
// sections: expected, and noise to a newcomer. Every other line it prints is shown; a failure stops the build.
const injected = spawnSync(
  process.execPath,
  ["node_modules/postject/dist/cli.js", out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"],
  { encoding: "utf8" },
);
const said = `${injected.stdout}${injected.stderr}`
  .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "")
  .split("\n")
  .filter((line) => line.trim() && !/Can't find string offset for section name|^Start injection|Injection done/.test(line));
if (said.length) console.error(said.join("\n"));
if (injected.status !== 0) throw new Error(`postject failed (exit ${injected.status})`);
chmodSync(out, 0o755);
rmSync(blob, { force: true });
const fast = "dist/git-credential-vers-fast";
copyFileSync("bin/git-credential-vers-fast", fast);
chmodSync(fast, 0o755);
console.log(`built ${out} (and ${fast} beside it)`);
