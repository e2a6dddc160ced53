-- AlterTable
ALTER TABLE "Recipient" ADD COLUMN "claimedBy" TEXT;

-- CreateTable
CREATE TABLE "DeliveryShare" (
    "sendingId" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "admittedAt" DATETIME,
    "expiresAt" DATETIME NOT NULL,

    PRIMARY KEY ("sendingId", "owner"),
    CONSTRAINT "DeliveryShare_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

