// Writes prisma/<provider>/schema.prisma from prisma/models.prisma under each provider's header.
import { writeFileSync } from "node:fs";
import { providers, renderSchema } from "../prisma/schemas.js";

for (const provider of providers) {
  writeFileSync(new URL(`../prisma/${provider}/schema.prisma`, import.meta.url), renderSchema(provider));
  console.log(`wrote prisma/${provider}/schema.prisma`);
}
