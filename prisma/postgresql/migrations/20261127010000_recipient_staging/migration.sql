-- CreateTable
CREATE TABLE "RecipientUpload" (
    "id" TEXT NOT NULL,
    "sendingId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RecipientUpload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StagedRecipient" (
    "id" SERIAL NOT NULL,
    "uploadId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "vars" TEXT NOT NULL,

    CONSTRAINT "StagedRecipient_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "StagedRecipient_uploadId_email_key" ON "StagedRecipient"("uploadId", "email");

-- AddForeignKey
ALTER TABLE "StagedRecipient" ADD CONSTRAINT "StagedRecipient_uploadId_fkey" FOREIGN KEY ("uploadId") REFERENCES "RecipientUpload"("id") ON DELETE CASCADE ON UPDATE CASCADE;

