import js from "@eslint/js";
import tseslint from "typescript-eslint";
import html from "eslint-plugin-html";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/**", "examples/**", "node_modules/**", ".node-red-dev/**", "coverage/**"] },
  {
    files: ["**/*.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Node-RED constructors conventionally keep `this` as `node` for callbacks.
      "@typescript-eslint/no-this-alias": ["error", { allowedNames: ["node"] }],
    },
  },
  {
    // Node-RED requires every node file at start: heavy packages load when a node needs them
    // (nodes/lib/lazy.ts), so the node code takes only their types by import.
    files: ["nodes/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: ["ocpp-rpc", "ws", "ajv", "pg", "pg-copy-streams", "@influxdata/influxdb-client", "fast-xml-parser", "axios", "mqtt"].map((name) => ({
            name,
            allowTypeImports: true,
            message: "Heavy dependency: use `import type` for its types and lazyRequire (nodes/lib/lazy.ts) for its values.",
          })),
        },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // The editor side: the <script type="text/javascript"> blocks of each node's HTML.
    files: ["nodes/**/*.html"],
    plugins: { html },
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: { ...globals.browser, RED: "readonly", $: "readonly", jQuery: "readonly" },
    },
    rules: { "no-unused-vars": ["error", { args: "none" }] },
  },
);
