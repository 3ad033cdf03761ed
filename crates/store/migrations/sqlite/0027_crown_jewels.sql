-- Crown jewels (content/src/jewels.rs, docs/crown-jewels.md): documents the
-- owner's admins and security officers register, kept as their winnowing
-- fingerprints only, never as content. Every node reads them into its own
-- registry and reloads it when the generation below moves. Do not edit once
-- released: add a new migration.

CREATE TABLE crown_jewels (
    id             TEXT    NOT NULL PRIMARY KEY,
    -- the name findings give it: the file's path, or the name given an upload
    name           TEXT    NOT NULL,
    -- `file` (a version of a file in a room) or `upload` (uploaded for
    -- registration only, its content discarded)
    source         TEXT    NOT NULL,
    -- where a `file` came from (no foreign keys: a registration outlives a
    -- purge or a destruction of its file)
    room_id        TEXT,
    file_id        TEXT,
    version_id     TEXT,
    size           BIGINT  NOT NULL,
    -- SHA-256 of what was registered: the same content is registered once
    sha256         BLOB    NOT NULL,
    -- dlp::DocPrints::encode: magic, version, parameters, sorted u64s
    prints         BLOB    NOT NULL,
    print_count    BIGINT  NOT NULL,
    registered_by  TEXT    NOT NULL REFERENCES users (id),
    registered_ms  BIGINT  NOT NULL
);

CREATE UNIQUE INDEX crown_jewels_sha256 ON crown_jewels (sha256);

-- One row: its generation moves with every registration and removal, and is
-- part of the DLP ruleset's digest (stored verdicts are renewed after it moves).
CREATE TABLE crown_jewel_state (
    id          BIGINT  NOT NULL PRIMARY KEY,
    generation  BIGINT  NOT NULL
);

INSERT INTO crown_jewel_state (id, generation) VALUES (1, 0);

-- The crown jewels a scanned version overlaps: JSON [{id, name, share}]; NULL
-- when none (and for verdicts stored before).
ALTER TABLE dlp_verdicts ADD COLUMN jewels TEXT;
