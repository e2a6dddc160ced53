import type { Database } from "../../src/db/database.js";
import { createPostgresPool } from "../../src/db/pools.js";
import { createRecipientBulk, type RecipientBulk } from "../../src/db/recipient-bulk.js";
import { createPrismaSenderStore } from "../../src/db/sender-store/prisma-sender-store.js";
import type { SenderStore } from "../../src/sender/store.js";

/** The engine's store as the composition root builds it, with its own pool on PostgreSQL; close() ends that pool too. */
export function createTestSenderStore(db: Database): SenderStore & { close(): Promise<void> } {
  const pool = db.provider === "postgresql" ? createPostgresPool(db.url, 6) : undefined;
  const store = createPrismaSenderStore(db, { pool });
  const closeStore = store.close;
  return Object.assign(store, {
    async close() {
      await closeStore();
      await pool?.end();
    },
  });
}

/** The bulk recipient path as the composition root builds it; close() ends its pool too. */
export function createTestRecipientBulk(db: Database): RecipientBulk {
  const pool = db.provider === "postgresql" ? createPostgresPool(db.url, 4) : undefined;
  const bulk = createRecipientBulk(db, { pool });
  return {
    append: (work, now) => bulk.append(work, now),
    async close() {
      await bulk.close();
      await pool?.end();
    },
  };
}
