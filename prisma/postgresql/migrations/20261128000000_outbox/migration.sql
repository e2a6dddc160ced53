-- AlterTable
ALTER TABLE "Sending" ADD COLUMN     "outboxOwner" TEXT,
ADD COLUMN     "outboxUntil" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "OutboxMessage" (
    "id" SERIAL NOT NULL,
    "sendingId" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3),
    "lastError" TEXT,
    "deliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OutboxMessage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OutboxMessage_deliveredAt_sendingId_id_idx" ON "OutboxMessage"("deliveredAt", "sendingId", "id");

-- AddForeignKey
ALTER TABLE "OutboxMessage" ADD CONSTRAINT "OutboxMessage_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending"("id") ON DELETE CASCADE ON UPDATE CASCADE;

