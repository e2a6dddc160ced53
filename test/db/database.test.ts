import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDatabase, createTestDatabase, type TestDatabase } from "../support/databases.js";

describeEachDatabase("database", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(provider);
  });
  afterAll(() => db?.destroy());

  it("stores a sending with its recipients and reads them back", async () => {
    await db.prisma.sending.create({
      data: {
        id: "snd_test1", name: "n", subject: "s", fromEmail: "a@b.test", html: "<p>x</p>",
        launchAt: new Date("2030-01-01T00:00:00Z"), requestedBy: "U1", contentHash: "h", recipientsDigest: "d",
        recipients: { create: [{ email: "ann@example.com", vars: '{"firstName":"Ann"}' }] },
      },
    });
    const found = await db.prisma.sending.findUniqueOrThrow({ where: { id: "snd_test1" }, include: { recipients: true } });
    expect(found.status).toBe("PENDING_APPROVAL");
    expect(found.launchAt.toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(found.recipients.map((r) => r.email)).toEqual(["ann@example.com"]);
  });
});
