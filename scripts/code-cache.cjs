// Writes <chunk>.cache: the V8 code cache of a bundle chunk after running its top level
// (node scripts/code-cache.cjs dist/sources.cjs), used by src/chunk.ts at run time.
// With --check, compiles the chunk with that cache in this fresh process and fails if V8 rejects it.
"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const { createRequire, wrap } = require("node:module");
const { dirname, resolve } = require("node:path");
const { Script } = require("node:vm");

const check = process.argv[2] === "--check";
const file = resolve(process.argv[check ? 3 : 2]);
const source = wrap(readFileSync(file, "utf8"));
if (check) {
  const script = new Script(source, { filename: file, cachedData: readFileSync(`${file}.cache`) });
  if (script.cachedDataRejected) {
    console.error(`code-cache: V8 rejected ${file}.cache`);
    process.exit(1);
  }
} else {
  const script = new Script(source, { filename: file });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  writeFileSync(`${file}.cache`, script.createCachedData());
}
