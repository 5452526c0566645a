import { setFlagsFromString } from "node:v8";

/**
 * undici parses HTTP with llhttp compiled to WebAssembly when it opens its first connection. V8 then
 * re-optimises that module in the background, and Node waits for the job before it exits: ~50 ms
 * added to every mint, for one small answer. Liftoff's baseline code parses it just as well. Called
 * before the first request, so it changes only how that one module compiles (and not the flags the
 * chunks' code caches were made under: those are compiled before this runs).
 */
export function compileWasmBaselineOnly(): void {
  setFlagsFromString("--liftoff-only");
}
