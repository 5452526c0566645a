// Builds dist/ with esbuild:
//   dist/load.cjs     the chunk loader alone (src/chunk.ts): bin/ loads main.cjs through it, with its code cache
//   dist/main.cjs     git's actions, the cache-hit path and the miss path's logic: protocol, settings, cache
//   dist/cli.cjs      the commands for people (commander), required only for them
//   dist/lockfile.cjs proper-lockfile — required only by a process that takes a lock
//   dist/sources.cjs  the token sources: undici, @octokit/auth-app — required only by the process that mints
//   dist/fleet.cjs    the fleet tier: ioredis — required only on a local miss with VERS_REDIS_URL set
//   dist/sea.cjs      (--sea) one file with both, for Node's single executable application
//   dist/tools/...    (--tools) the demos and benches, with the fake servers, for `npm run demo`, `demo:fleet`, `bench`, `bench:fleet`
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rawText } from "./raw-text.mjs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/** The commit `version` names: the short hash of HEAD, or "unknown" outside a git checkout. */
function commit() {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: fileURLToPath(new URL("..", import.meta.url)), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || "unknown";
  } catch {
    return "unknown";
  }
}
const args = new Set(process.argv.slice(2));

const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  logLevel: "warning",
  legalComments: "none",
  minify: true,
  define: { __VERSION__: JSON.stringify(pkg.version), __COMMIT__: JSON.stringify(commit()) },
  // import() of the miss path becomes a plain require(): Node's ESM loader costs ~5 ms at start.
  supported: { "dynamic-import": false },
};

/**
 * `import("./sources")`, `import("./lockfile")`, `import("./fleet")` and `import("./cli")` load their own chunks at run
 * time, through src/chunk.ts, which uses the V8 code cache written beside each chunk.
 */
const lazyChunks = {
  name: "lazy-chunks",
  setup(b) {
    b.onResolve({ filter: /^(\.\.?\/)+(sources|lockfile|cli|fleet)$/ }, (args) => ({ path: args.path.split("/").pop(), namespace: "lazy-chunk" }));
    b.onLoad({ filter: /.*/, namespace: "lazy-chunk" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(chunkLoader)}).loadChunk(${JSON.stringify(args.path)}, __dirname);`,
      loader: "js",
      resolveDir: process.cwd(),
    }));
  },
};
const chunkLoader = fileURLToPath(new URL("../src/chunk.ts", import.meta.url));

/**
 * commander requires node:child_process at load (~3 ms) for executable subcommands, which we do not
 * use. Hand it a stand-in that loads the real module only if something touches it.
 */
const deferChildProcess = {
  name: "defer-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes("node_modules/commander") ? { path: "deferred-child-process", namespace: "deferred" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "deferred" }, () => ({
      contents: 'module.exports = new Proxy({}, { get: (_, name) => require("node:child_process")[name] });',
      loader: "js",
    }));
  },
};

const builds = [
  build({ ...common, entryPoints: ["src/chunk.ts"], outfile: "dist/load.cjs" }),
  build({ ...common, entryPoints: ["src/main.ts"], outfile: "dist/main.cjs", plugins: [rawText, lazyChunks] }),
  build({ ...common, entryPoints: ["src/cli.ts"], outfile: "dist/cli.cjs", plugins: [rawText, lazyChunks, deferChildProcess] }),
  build({ ...common, entryPoints: ["src/cache/lockfile.ts"], outfile: "dist/lockfile.cjs", plugins: [rawText, lazyChunks] }),
  build({ ...common, entryPoints: ["src/sources/index.ts"], outfile: "dist/sources.cjs", plugins: [rawText, lazyChunks] }),
  build({ ...common, entryPoints: ["src/fleet/index.ts"], outfile: "dist/fleet.cjs", plugins: [rawText, lazyChunks] }),
];
if (args.has("--sea")) {
  builds.push(build({ ...common, entryPoints: ["src/sea.ts"], outfile: "dist/sea.cjs", plugins: [rawText, deferChildProcess] }));
}
if (args.has("--tools")) {
  builds.push(
    build({
      ...common,
      entryPoints: { demo: "scripts/demo.ts", "demo-fleet": "scripts/demo-fleet.ts", bench: "scripts/bench.ts", "bench-fleet": "scripts/bench-fleet.ts" },
      outdir: "dist/tools",
      outExtension: { ".js": ".cjs" },
      plugins: [rawText],
      // The test harness finds the repository from import.meta.url; give the CJS bundle one.
      define: { ...common.define, "import.meta.url": "__importMetaUrl" },
      banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    }),
  );
}
await Promise.all(builds);

// V8 code caches for every chunk, each made in a fresh process by compiling and running the chunk's
// top level, as the helper will — main.cjs after running git's actions too, so the cache holds what a
// hit executes (~1.5 ms of each git operation, measured) — then checked in another fresh process: a
// cache V8 rejects (other flags, another Node) would silently pay nothing, so the build fails instead.
const codeCache = fileURLToPath(new URL("./code-cache.cjs", import.meta.url));
for (const name of ["main", "lockfile", "sources", "cli", "fleet"]) {
  execFileSync(process.execPath, [codeCache, ...(name === "main" ? ["--warm"] : []), `dist/${name}.cjs`], { stdio: "inherit" });
  execFileSync(process.execPath, [codeCache, "--check", `dist/${name}.cjs`], { stdio: "inherit" });
}
