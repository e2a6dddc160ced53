import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { providers, renderSchema } from "../../prisma/schemas.js";

const models = (schema: string) => schema.slice(schema.indexOf("enum SendingStatus"));

describe("prisma schemas", () => {
  it.each(providers)("prisma/%s/schema.prisma is prisma/models.prisma under its header", (provider) => {
    const onDisk = readFileSync(new URL(`../../prisma/${provider}/schema.prisma`, import.meta.url), "utf8");
    expect(onDisk, "run `npm run db:schemas` after editing prisma/models.prisma").toBe(renderSchema(provider));
  });

  it("the SQLite and PostgreSQL schemas declare the same models", () => {
    const [sqlite, postgres] = providers.map((p) =>
      models(readFileSync(new URL(`../../prisma/${p}/schema.prisma`, import.meta.url), "utf8")),
    );
    expect(sqlite).toBe(postgres);
    expect(sqlite).toMatch(/model Sending \{/);
  });

  it.each(providers)("the %s migrations create every model's table", (provider) => {
    const sql = readFileSync(
      new URL(`../../prisma/${provider}/migrations/20261127000000_init/migration.sql`, import.meta.url),
      "utf8",
    );
    for (const model of ["Sending", "Recipient", "Decision", "AuditEvent"]) {
      expect(sql).toContain(`CREATE TABLE "${model}"`);
    }
  });
});
