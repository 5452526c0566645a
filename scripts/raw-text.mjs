// esbuild plugin shared by scripts/build.mjs and scripts/release.mjs.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** `import text from "…?raw"`: the file's text (bin/git-credential-vers-fast, for `install`), as Vite gives it to the tests. */
export const rawText = {
  name: "raw-text",
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.slice(0, -"?raw".length)), namespace: "raw-text" }));
    b.onLoad({ filter: /.*/, namespace: "raw-text" }, (args) => ({ contents: readFileSync(args.path, "utf8"), loader: "text" }));
  },
};
