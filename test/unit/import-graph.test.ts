/**
 * The import graph of src/ is a tree (no module imports, even for types, a module that imports it
 * back): data flows one way, and types two modules share live in a module of their own.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(__dirname, "../../src");

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? modules(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Each module's static imports and re-exports of other modules of src/ (the lazy `import()` of a chunk aside). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gm)].flatMap((m) => {
    const target = resolve(dirname(file), m[1]!);
    return [`${target}.ts`, join(target, "index.ts")].filter((p) => existsSync(p)).slice(0, 1);
  });
}

/** Every cycle found by a depth-first walk, each as a → b → … → a, relative to src/. */
function cycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, "open" | "done">();
  const found: string[] = [];
  const visit = (node: string, stack: string[]): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next].map((p) => relative(SRC, p)).join(" → "));
      else if (!state.has(next)) visit(next, stack);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node, []);
  return found;
}

describe("the import graph of src/", () => {
  const graph = new Map(modules(SRC).map((f) => [f, importsOf(f)]));

  it("is read: serve-token imports mint-on-miss and the types they share", () => {
    const serve = graph.get(join(SRC, "serve-token.ts"))!.map((p) => relative(SRC, p));
    expect(serve).toContain("mint-on-miss.ts");
    expect(serve).toContain("serve-context.ts");
  });

  it("has no cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });
});
