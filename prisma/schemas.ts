import { readFileSync } from "node:fs";

export const providers = ["sqlite", "postgresql"] as const;
export type Provider = (typeof providers)[number];

const header = (provider: Provider) => `// Generated from prisma/models.prisma by \`npm run db:schemas\`; edit that file instead.

generator client {
  provider            = "prisma-client"
  output              = "../../src/db/generated/${provider}"
  engineType          = "client"
  moduleFormat        = "esm"
  importFileExtension = "js"
}

datasource db {
  provider = "${provider}"
  url      = env("DATABASE_URL")
}

`;

export function renderSchema(provider: Provider): string {
  return header(provider) + readFileSync(new URL("./models.prisma", import.meta.url), "utf8");
}
