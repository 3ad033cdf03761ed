-- Upload requests (file drops): a secret URL through which named recipients,
-- each proving their address with a one-time code mailed to it, send files
-- into one folder of a room, until an end that is never later than the
-- creator's grant and an admin maximum, each file no larger than a limit, and
-- no more files than a count taken by a conditional UPDATE (so the limit holds
-- under concurrency). Only the SHA-256 of the request's secret and of each code
-- is stored. Do not edit once released: add a new migration.

CREATE TABLE upload_requests (
    id               TEXT    NOT NULL PRIMARY KEY,
    token_sha256     BLOB    NOT NULL UNIQUE,
    room_id          TEXT    NOT NULL REFERENCES rooms (id),
    -- '' (the room's top) or a path prefix ending in '/'
    folder           TEXT    NOT NULL,
    created_by       TEXT    NOT NULL REFERENCES users (id),
    -- whether the creator's session had presented a second factor
    created_mfa      BIGINT  NOT NULL,
    created_ms       BIGINT  NOT NULL,
    expires_ms       BIGINT  NOT NULL,
    max_file_bytes   BIGINT  NOT NULL,
    max_files        BIGINT  NOT NULL,
    files            BIGINT  NOT NULL,
    -- JSON array of the recipients' addresses
    recipients       TEXT    NOT NULL,
    message          TEXT,
    revoked_ms       BIGINT,
    revoked_by       TEXT    REFERENCES users (id)
);

CREATE INDEX upload_requests_room ON upload_requests (room_id, created_ms);

-- One-time codes mailed to a recipient, and the browser sessions they verified.
CREATE TABLE upload_request_codes (
    id              TEXT    NOT NULL PRIMARY KEY,
    request_id      TEXT    NOT NULL REFERENCES upload_requests (id),
    recipient       TEXT    NOT NULL,
    session_sha256  BLOB    NOT NULL UNIQUE,
    code_sha256     BLOB    NOT NULL,
    created_ms      BIGINT  NOT NULL,
    expires_ms      BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL,
    verified_ms     BIGINT
);

CREATE INDEX upload_request_codes_request ON upload_request_codes (request_id);

-- Every file a request received, by batch (one submission of the form): what
-- its digest lists.
CREATE TABLE upload_request_files (
    batch_id        TEXT    NOT NULL,
    seq             BIGINT  NOT NULL,
    request_id      TEXT    NOT NULL REFERENCES upload_requests (id),
    recipient       TEXT    NOT NULL,
    -- the name stored under (a fresh one when the name was taken), or as sent
    name            TEXT    NOT NULL,
    -- stored | held | refused
    outcome         TEXT    NOT NULL,
    size            BIGINT,
    created_ms      BIGINT  NOT NULL,
    PRIMARY KEY (batch_id, seq)
);

CREATE INDEX upload_request_files_request ON upload_request_files (request_id, created_ms);
