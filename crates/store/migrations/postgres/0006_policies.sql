-- The versions of the custom policy set: each the whole custom Cedar text and
-- the default policies it switches off; the newest is the one in force. Do
-- not edit once released: add a new migration.

CREATE TABLE policy_versions (
    -- 1, 2, 3 …: the primary key makes a concurrent change with the same
    -- number fail, so a stale editor cannot overwrite a newer version
    number      BIGINT  NOT NULL PRIMARY KEY,
    -- the custom policies, Cedar text
    custom      TEXT    NOT NULL,
    -- JSON array of the ids of default policies switched off
    disabled    TEXT    NOT NULL,
    author      TEXT    NOT NULL REFERENCES users (id),
    created_ms  BIGINT  NOT NULL,
    comment     TEXT    NOT NULL
);
