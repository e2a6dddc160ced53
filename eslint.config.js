import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Only the playground and the tests load the Slack stand-in; every folder rule below repeats this one,
// because a later rule for the same files replaces an earlier one.
const standinOnlyInPlayground = { group: ["**/slack-standin/**"], message: "Only the playground and the tests use the Slack stand-in." };

const SLACK = ["@slack/*"];
const DATABASE = ["@prisma/*", "pg", "better-sqlite3", "**/generated/**"];

/** A layer's dependency rule: the modules its files may not import (the stand-in rule included). */
const layer = (files, message, forbidden) => ({
  files: [files],
  rules: { "no-restricted-imports": ["error", { patterns: [{ group: forbidden, message }, standinOnlyInPlayground] }] },
});

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "data/", "src/db/generated/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: "Read configuration through src/config.ts (loadConfig); nothing else reads process.env.",
        },
      ],
    },
  },
  {
    // Tooling and the composition root's edges may read the environment; the product reads it through config.
    files: ["src/config.ts", "test/**", "bench/**", "prisma/**", "scripts/**", "src/db/migrate.ts", "src/cli/**", "src/main.ts", "vitest.config.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
  {
    // The stand-in is Slack's far side: only the playground (and the tests) may load it, never the product's code paths.
    files: ["src/**/*.ts"],
    ignores: ["src/slack-standin/**", "src/playground/**", "src/sendgate.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [standinOnlyInPlayground] }] },
  },
  layer("src/domain/**", "The domain is pure: no other layer, no Slack, Prisma, HTTP or SMTP.", [
    "**/sendings/**", "**/slack/**", "**/http/**", "**/mail/**", "**/sender/**", "**/db/**", "**/config.js",
    ...SLACK, ...DATABASE, "nodemailer", "node:http",
  ]),
  layer("src/sendings/**", "Use cases import no Slack, HTTP or engine code.", ["**/slack/**", "**/http/**", "**/sender/**", ...SLACK, "node:http"]),
  layer("src/mail/**", "src/mail imports nothing from the engine, Slack or the database.", ["**/sender/**", "**/slack/**", "**/db/**", ...SLACK, ...DATABASE]),
  layer("src/sender/**", "The engine sees its store, mailer, notifier and clock ports only: no database, no Slack.", [
    "**/db/**", "**/slack/**", "**/http/**", ...SLACK, ...DATABASE,
  ]),
  layer("src/slack/**", "Slack code calls use cases and reads views through them: no database module.", ["**/db/**", "**/http/**", ...DATABASE]),
  layer("src/webhooks/**", "Webhook delivery sees its store port only: no database module, no Slack, no HTTP server code.", ["**/db/**", "**/slack/**", "**/http/**", "**/sender/**", ...SLACK, ...DATABASE]),
  layer("src/http/**", "HTTP code calls use cases: no database module, no Slack.", ["**/db/**", "**/slack/**", ...SLACK, ...DATABASE]),
  {
    // The Slack stand-in is written from Slack's documentation, apart from the code it checks: a mistake
    // in sendgate's block builders or limits must not be shared by the code that refuses it.
    files: ["src/slack-standin/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/slack/**", "@slack/*"], message: "The stand-in imports nothing from sendgate's Slack code or Slack's SDKs." }] },
      ],
    },
  },
  {
    // The playground page is plain browser JavaScript, served as is: the few browser globals it uses.
    files: ["src/playground/page/**/*.js"],
    languageOptions: {
      globals: {
        window: "readonly",
        document: "readonly",
        fetch: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        AbortController: "readonly",
        URLSearchParams: "readonly",
      },
    },
  },
);
