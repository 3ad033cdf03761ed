-- Notifications by e-mail (notify/src/digest.rs): when each was handed to the
-- outbox (or passed over), and each user's choice of immediate mail or a daily
-- digest for what is not security-critical. Do not edit once released: add a
-- new migration.

ALTER TABLE notifications ADD COLUMN mailed_ms BIGINT;
-- Those made before notifications were mailed are not mailed now.
UPDATE notifications SET mailed_ms = created_ms;
CREATE INDEX notifications_unmailed ON notifications (mailed_ms, created_ms);

CREATE TABLE mail_preferences (
    user_id         TEXT    NOT NULL PRIMARY KEY REFERENCES users (id),
    -- immediate | daily
    digest          TEXT    NOT NULL,
    -- when the last daily digest was queued
    last_digest_ms  BIGINT
);
