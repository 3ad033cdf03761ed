-- Share links: a secret URL to one file, made by someone who may share in its
-- room, living until an end that is never later than the room's or the
-- creator's grant and an admin maximum; optionally behind a password
-- (argon2id PHC string), limited in downloads (counted by a conditional UPDATE,
-- so the limit holds under concurrency), view-only, and bound to recipients'
-- addresses (each proves its address with a one-time code mailed to it). Only
-- the SHA-256 of the link's secret and of each code is stored. Do not edit once
-- released: add a new migration.

CREATE TABLE links (
    id               TEXT    NOT NULL PRIMARY KEY,
    token_sha256     BLOB    NOT NULL UNIQUE,
    room_id          TEXT    NOT NULL REFERENCES rooms (id),
    file_id          TEXT    NOT NULL REFERENCES files (id),
    created_by       TEXT    NOT NULL REFERENCES users (id),
    -- whether the creator's session had presented a second factor
    created_mfa      BIGINT  NOT NULL,
    created_ms       BIGINT  NOT NULL,
    expires_ms       BIGINT  NOT NULL,
    password_hash    TEXT,
    -- 'download' or 'view'
    mode             TEXT    NOT NULL,
    max_downloads    BIGINT,
    downloads        BIGINT  NOT NULL,
    -- JSON array of the bound recipients' addresses ([] when anyone may open it)
    recipients       TEXT    NOT NULL,
    revoked_ms       BIGINT,
    revoked_by       TEXT    REFERENCES users (id)
);

CREATE INDEX links_room ON links (room_id, created_ms);

-- One-time codes mailed to a bound recipient, and the browser sessions they
-- verified: `verified_ms` set once the code was typed; the session's secret
-- (its SHA-256 here) is then what the browser presents.
CREATE TABLE link_codes (
    id              TEXT    NOT NULL PRIMARY KEY,
    link_id         TEXT    NOT NULL REFERENCES links (id),
    recipient       TEXT    NOT NULL,
    -- the browser session the code was asked from (SHA-256 of its secret)
    session_sha256  BLOB    NOT NULL UNIQUE,
    code_sha256     BLOB    NOT NULL,
    created_ms      BIGINT  NOT NULL,
    expires_ms      BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL,
    verified_ms     BIGINT
);

CREATE INDEX link_codes_link ON link_codes (link_id);
