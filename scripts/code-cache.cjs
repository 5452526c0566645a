// Writes <chunk>.cache: the V8 code cache of a bundle chunk after running its top level
// (node scripts/code-cache.cjs dist/sources.cjs). Used by src/chunk.ts at run time.
"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const { createRequire, wrap } = require("node:module");
const { dirname, resolve } = require("node:path");
const { Script } = require("node:vm");

const file = resolve(process.argv[2]);
const script = new Script(wrap(readFileSync(file, "utf8")), { filename: file });
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
writeFileSync(`${file}.cache`, script.createCachedData());
