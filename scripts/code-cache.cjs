// Writes <chunk>.cache: the V8 code cache of a bundle chunk after running its top level
// (node scripts/code-cache.cjs dist/sources.cjs), used by src/chunk.ts at run time. With --warm, the
// chunk (dist/main.cjs) also runs git's actions first (scripts/warm-up.cjs), so the cache holds the
// functions a hit, an erase or a miss executes, not just the top level.
// With --check, compiles the chunk with that cache in this fresh process and fails if V8 rejects it.
"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const { createRequire, wrap } = require("node:module");
const { dirname, resolve } = require("node:path");
const { Script } = require("node:vm");

const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const file = resolve(process.argv.slice(2).find((a) => !a.startsWith("--")));
const source = wrap(readFileSync(file, "utf8"));

async function write() {
  const script = new Script(source, { filename: file });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  if (flags.includes("--warm")) await require("./warm-up.cjs")(mod.exports);
  writeFileSync(`${file}.cache`, script.createCachedData());
}

function check() {
  const script = new Script(source, { filename: file, cachedData: readFileSync(`${file}.cache`) });
  if (script.cachedDataRejected) {
    console.error(`code-cache: V8 rejected ${file}.cache`);
    process.exit(1);
  }
}

if (flags.includes("--check")) check();
else
  write().catch((err) => {
    console.error(`code-cache: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
