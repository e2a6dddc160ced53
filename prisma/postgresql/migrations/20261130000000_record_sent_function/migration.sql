-- The delivery engine writes the outcomes of delivered messages through this function, several hundred
-- times a second. Its statement is planned once per connection (a generic plan): sent as a statement,
-- PostgreSQL planned it again at every execution, since the array sizes make each custom plan look
-- cheaper than the generic one, and the planning cost more than the update (about 110 µs a statement).
-- A function carries the setting with it, so no session setting is needed (connection poolers such as
-- PgBouncer refuse plan_cache_mode as a startup parameter).
-- The body is an escaped string with its semicolons written \x3b: the migration runner splits scripts
-- at every semicolon, dollar-quoted bodies included.
CREATE OR REPLACE FUNCTION "sendgate_record_sent"(ids INTEGER[], sent_at TIMESTAMP(3)[], responses TEXT[])
RETURNS VOID
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS E'
BEGIN
  UPDATE "Recipient" AS r
  SET "status" = ''SENT'', "attempts" = r."attempts" + 1, "sentAt" = v.at, "smtpResponse" = v.response,
      "lastError" = NULL, "nextAttemptAt" = NULL
  FROM unnest(ids, sent_at, responses) AS v(id, at, response)
  WHERE r."id" = v.id AND r."status" IN (''PREPARED'', ''CANCELLED'')\x3b
END
';
