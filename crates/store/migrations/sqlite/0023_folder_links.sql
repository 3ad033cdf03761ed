-- no-transaction
-- Share links to a folder: a link names a file or a folder (a path prefix
-- ending in `/`), never both. SQLite cannot drop a NOT NULL, so the table is
-- rebuilt (foreign keys off around its own transaction, as SQLite's manual
-- says; the rows and their ids are kept, so link_codes and link_signatures
-- still point at them). Do not edit once released: add a new migration.

PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE links_new (
    id               TEXT    NOT NULL PRIMARY KEY,
    token_sha256     BLOB    NOT NULL UNIQUE,
    room_id          TEXT    NOT NULL REFERENCES rooms (id),
    -- the file of a file link; NULL for a folder link
    file_id          TEXT    REFERENCES files (id),
    -- the folder of a folder link (`drawings/`, ending in `/`); NULL for a file link
    folder           TEXT,
    created_by       TEXT    NOT NULL REFERENCES users (id),
    created_mfa      BIGINT  NOT NULL,
    created_ms       BIGINT  NOT NULL,
    expires_ms       BIGINT  NOT NULL,
    password_hash    TEXT,
    mode             TEXT    NOT NULL,
    max_downloads    BIGINT,
    downloads        BIGINT  NOT NULL,
    recipients       TEXT    NOT NULL,
    revoked_ms       BIGINT,
    revoked_by       TEXT    REFERENCES users (id),
    CHECK ((file_id IS NULL) <> (folder IS NULL))
);
INSERT INTO links_new (id, token_sha256, room_id, file_id, folder, created_by, created_mfa,
    created_ms, expires_ms, password_hash, mode, max_downloads, downloads, recipients,
    revoked_ms, revoked_by)
SELECT id, token_sha256, room_id, file_id, NULL, created_by, created_mfa, created_ms,
    expires_ms, password_hash, mode, max_downloads, downloads, recipients, revoked_ms,
    revoked_by
FROM links;
DROP TABLE links;
ALTER TABLE links_new RENAME TO links;
CREATE INDEX links_room ON links (room_id, created_ms);
COMMIT;
PRAGMA foreign_keys = ON;
