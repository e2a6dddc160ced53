-- AlterTable
ALTER TABLE "Sending" ADD COLUMN     "analysis" TEXT,
ADD COLUMN     "analysisHash" TEXT;
