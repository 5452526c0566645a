import { readFileSync } from "node:fs";
import Module, { createRequire, wrap } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";

/**
 * Loads a lazily required chunk of the bundle (dist/<name>.cjs) as `require` would — once, as a
 * module in require.cache — but with the V8 code cache the build wrote beside it
 * (dist/<name>.cjs.cache), so the process that mints does not spend ~20 ms compiling undici.
 * A missing or rejected cache (another Node version) just compiles as usual.
 */
export function loadChunk(name: string, dir: string): unknown {
  const file = join(dir, `${name}.cjs`);
  const loaded = require.cache[file];
  if (loaded) return loaded.exports;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
  const mod = new Module(file);
  mod.filename = file;
  require.cache[file] = mod;
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  return mod.exports;
}
