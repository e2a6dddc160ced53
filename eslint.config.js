import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Only the playground and the tests load the Slack stand-in; every folder rule below repeats this one,
// because a later rule for the same files replaces an earlier one.
const standinOnlyInPlayground = { group: ["**/slack-standin/**"], message: "Only the playground and the tests use the Slack stand-in." };

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
    rules: {
      "no-restricted-imports": ["error", { patterns: [standinOnlyInPlayground] }],
    },
  },
  {
    // The domain is pure: no Slack, Prisma, HTTP or SMTP.
    files: ["src/domain/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@slack/*", "@prisma/*", "*/db/*", "nodemailer", "node:http", "pg", "better-sqlite3"], message: "The domain is pure: no Slack, Prisma, HTTP or SMTP." },
            standinOnlyInPlayground,
          ],
        },
      ],
    },
  },
  {
    // Mail work (rendering, message building, analysis, transport) stands alone: no engine, Slack or database.
    files: ["src/mail/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/sender/**", "**/slack/**", "**/db/**", "@slack/*", "@prisma/*", "pg", "better-sqlite3"], message: "src/mail imports nothing from the engine, Slack or the database." }, standinOnlyInPlayground] },
      ],
    },
  },
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
    // Listeners are thin: they call use cases, never the database.
    files: ["src/slack/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@prisma/*", "*/db/generated/*"], message: "Listeners are thin: they call use cases, never the database." }, standinOnlyInPlayground] }],
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
