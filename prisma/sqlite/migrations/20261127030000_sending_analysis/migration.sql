-- AlterTable
ALTER TABLE "Sending" ADD COLUMN "analysis" TEXT;
ALTER TABLE "Sending" ADD COLUMN "analysisHash" TEXT;
