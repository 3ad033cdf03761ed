-- The mail outbox: every e-mail the platform sends is written here in the
-- transaction of the change that causes it, then handed to the SMTP server by
-- the mail worker. A worker claims a message by giving it a fresh attempt id and
-- a lease (a conditional UPDATE, so one worker in all the nodes holds it); the
-- attempt id is the Message-ID of what it sends and is never reused, so a
-- message is sent at most once per attempt. A crash leaves the lease to run out
-- and the next attempt takes a new id. Bodies are blanked once sent (a one-time
-- code does not stay in the database). Do not edit once released: add a new
-- migration.

CREATE TABLE outbox (
    id               TEXT    NOT NULL PRIMARY KEY,
    created_ms       BIGINT  NOT NULL,
    -- the recipient as `addr` or `"Name" <addr>` (checked by model::MailAddress)
    recipient        TEXT    NOT NULL,
    -- the template's stable name (link.code, notification, test)
    kind             TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body_text        TEXT    NOT NULL,
    body_html        TEXT    NOT NULL,
    -- attempts made so far
    attempts         BIGINT  NOT NULL,
    -- not before this time
    next_ms          BIGINT  NOT NULL,
    -- the current (or last) attempt, and until when it holds the message
    attempt_id       TEXT,
    leased_until_ms  BIGINT,
    sent_ms          BIGINT,
    -- given up on (a permanent refusal, or too many attempts)
    failed_ms        BIGINT,
    last_error       TEXT
);

CREATE INDEX outbox_due ON outbox (next_ms) WHERE sent_ms IS NULL AND failed_ms IS NULL;

-- Every attempt, with its outcome: what the SMTP server was asked and answered.
CREATE TABLE outbox_attempts (
    id           TEXT    NOT NULL PRIMARY KEY,
    mail_id      TEXT    NOT NULL REFERENCES outbox (id),
    started_ms   BIGINT  NOT NULL,
    finished_ms  BIGINT,
    -- sent, retry, failed; NULL while in flight (or after a crash)
    outcome      TEXT,
    error        TEXT
);

CREATE INDEX outbox_attempts_mail ON outbox_attempts (mail_id);
