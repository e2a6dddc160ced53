-- AlterTable
ALTER TABLE "Recipient" ADD COLUMN     "claimedBy" TEXT;

-- CreateTable
CREATE TABLE "DeliveryShare" (
    "sendingId" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "admittedAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DeliveryShare_pkey" PRIMARY KEY ("sendingId","owner")
);

-- AddForeignKey
ALTER TABLE "DeliveryShare" ADD CONSTRAINT "DeliveryShare_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending"("id") ON DELETE CASCADE ON UPDATE CASCADE;

