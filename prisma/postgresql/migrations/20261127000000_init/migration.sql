-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "SendingStatus" AS ENUM ('PENDING_APPROVAL', 'SCHEDULED', 'SENDING', 'PAUSED', 'COMPLETED', 'REJECTED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "RecipientStatus" AS ENUM ('QUEUED', 'PREPARED', 'SENT', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "DecisionKind" AS ENUM ('APPROVAL', 'REJECTION');

-- CreateTable
CREATE TABLE "Sending" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "fromName" TEXT,
    "fromEmail" TEXT NOT NULL,
    "replyTo" TEXT,
    "html" TEXT NOT NULL,
    "text" TEXT,
    "launchAt" TIMESTAMP(3) NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "status" "SendingStatus" NOT NULL DEFAULT 'PENDING_APPROVAL',
    "contentHash" TEXT NOT NULL,
    "recipientsDigest" TEXT NOT NULL,
    "recipientCount" INTEGER NOT NULL DEFAULT 0,
    "slackChannel" TEXT,
    "slackTs" TEXT,
    "progressTs" TEXT,
    "statusNote" TEXT,
    "cancelPrepared" TEXT,
    "leaseOwner" TEXT,
    "leaseExpiresAt" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "remindedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Sending_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Recipient" (
    "id" SERIAL NOT NULL,
    "sendingId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "vars" TEXT NOT NULL DEFAULT '{}',
    "status" "RecipientStatus" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3),
    "lastError" TEXT,
    "smtpResponse" TEXT,
    "sentAt" TIMESTAMP(3),

    CONSTRAINT "Recipient_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Decision" (
    "id" SERIAL NOT NULL,
    "sendingId" TEXT NOT NULL,
    "kind" "DecisionKind" NOT NULL,
    "userId" TEXT NOT NULL,
    "reason" TEXT,
    "contentHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Decision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" SERIAL NOT NULL,
    "sendingId" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "fromStatus" TEXT,
    "toStatus" TEXT,
    "reason" TEXT,
    "details" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "Recipient" ADD CONSTRAINT "Recipient_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Decision" ADD CONSTRAINT "Decision_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_sendingId_fkey" FOREIGN KEY ("sendingId") REFERENCES "Sending"("id") ON DELETE CASCADE ON UPDATE CASCADE;

