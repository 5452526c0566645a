import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", Buffer: "readonly", Response: "readonly", Headers: "readonly", module: "readonly", console: "readonly", require: "readonly", __dirname: "readonly", setTimeout: "readonly", clearTimeout: "readonly", URL: "readonly", AbortSignal: "readonly", fetch: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  { files: ["scripts/**", "test/**", "bin/**"], rules: { "no-console": "off" } },
  { files: ["bin/**", "**/*.cjs"], rules: { "@typescript-eslint/no-require-imports": "off" } },
);
