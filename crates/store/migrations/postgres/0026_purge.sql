-- Purging single files (content/src/purge.rs): deleted files purged after the
-- admin's grace period, and files past their own retention period, destroyed
-- by re-keying their room (a new generation of its key wraps what stays, the
-- old generation is destroyed). Do not edit once released: add a new migration.

-- The generation of the room's key that wraps its data keys now: 0 is the key
-- file `<room>.key`, n > 0 is `<room>-g<n>.key`.
ALTER TABLE rooms ADD COLUMN key_generation BIGINT NOT NULL DEFAULT 0;
-- Days after its creation when a file is destroyed (retention); none: kept.
ALTER TABLE files ADD COLUMN retention_days BIGINT;
-- Who set it: the requester of the purge it opens when it ends.
ALTER TABLE files ADD COLUMN retention_set_by TEXT REFERENCES users (id);
-- When the file's versions were purged (their key destroyed).
ALTER TABLE files ADD COLUMN purged_ms BIGINT;
-- `room` (the whole room) or `files` (a purge of some of its files).
ALTER TABLE destructions ADD COLUMN kind TEXT NOT NULL DEFAULT 'room';

-- The grace period after which deleted files are purged (one row; none: never).
CREATE TABLE purge_settings (
    id          BIGINT  NOT NULL PRIMARY KEY,
    grace_days  BIGINT,
    set_by      TEXT    REFERENCES users (id),
    set_ms      BIGINT  NOT NULL
);
