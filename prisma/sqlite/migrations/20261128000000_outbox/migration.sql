-- AlterTable
ALTER TABLE "Sending" ADD COLUMN "outboxOwner" TEXT;
ALTER TABLE "Sending" ADD COLUMN "outboxUntil" DATETIME;

-- CreateTable
CREATE TABLE "OutboxMessage" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "sendingId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME,
    "lastError" TEXT,
    "deliveredAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "OutboxMessage_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "OutboxMessage_deliveredAt_sendingId_id_idx" ON "OutboxMessage"("deliveredAt", "sendingId", "id");

