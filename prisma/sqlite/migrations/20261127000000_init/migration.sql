-- CreateTable
CREATE TABLE "Sending" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "fromName" TEXT,
    "fromEmail" TEXT NOT NULL,
    "replyTo" TEXT,
    "html" TEXT NOT NULL,
    "text" TEXT,
    "launchAt" DATETIME NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING_APPROVAL',
    "contentHash" TEXT NOT NULL,
    "recipientsDigest" TEXT NOT NULL,
    "recipientCount" INTEGER NOT NULL DEFAULT 0,
    "slackChannel" TEXT,
    "slackTs" TEXT,
    "progressTs" TEXT,
    "statusNote" TEXT,
    "cancelPrepared" TEXT,
    "leaseOwner" TEXT,
    "leaseExpiresAt" DATETIME,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "remindedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Recipient" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "sendingId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "vars" TEXT NOT NULL DEFAULT '{}',
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME,
    "lastError" TEXT,
    "smtpResponse" TEXT,
    "sentAt" DATETIME,
    CONSTRAINT "Recipient_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Decision" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "sendingId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "reason" TEXT,
    "contentHash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Decision_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "sendingId" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "fromStatus" TEXT,
    "toStatus" TEXT,
    "reason" TEXT,
    "details" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AuditEvent_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "Sending_status_launchAt_idx" ON "Sending"("status", "launchAt");

-- CreateIndex
CREATE INDEX "Recipient_sendingId_status_id_idx" ON "Recipient"("sendingId", "status", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Recipient_sendingId_email_key" ON "Recipient"("sendingId", "email");

-- CreateIndex
CREATE UNIQUE INDEX "Decision_sendingId_kind_userId_contentHash_key" ON "Decision"("sendingId", "kind", "userId", "contentHash");

-- CreateIndex
CREATE INDEX "AuditEvent_sendingId_createdAt_idx" ON "AuditEvent"("sendingId", "createdAt");

