-- Accounts that protect themselves: where and when each session or API token
-- was last used, the single-use recovery codes of a second factor, and the
-- second factor required of the owner's admins and security officers. Do not
-- edit once released: add a new migration.

ALTER TABLE sessions ADD COLUMN address TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_ms BIGINT;

-- Ten per enrolled user; only a hash of each code is kept (SHA-256 of the
-- user's id and the code: 80 random bits each). A used code keeps its row,
-- with when it was used; making new codes deletes every earlier one.
CREATE TABLE recovery_codes (
    id          TEXT    NOT NULL PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    code_hash   BLOB   NOT NULL UNIQUE,
    created_ms  BIGINT  NOT NULL,
    used_ms     BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- The owner's admins and security officers must use a second factor.
UPDATE users SET mfa_required = 1
WHERE system_role IN ('admin', 'security_officer')
  AND party_id IN (SELECT id FROM parties WHERE kind = 'owner');
