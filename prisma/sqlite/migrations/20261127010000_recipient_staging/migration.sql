-- CreateTable
CREATE TABLE "RecipientUpload" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sendingId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "StagedRecipient" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "uploadId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "vars" TEXT NOT NULL,
    CONSTRAINT "StagedRecipient_uploadId_fkey" FOREIGN KEY ("uploadId") REFERENCES "RecipientUpload" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "StagedRecipient_uploadId_email_key" ON "StagedRecipient"("uploadId", "email");

