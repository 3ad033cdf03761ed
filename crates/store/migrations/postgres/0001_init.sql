-- Custody metadata schema, PostgreSQL flavour. Do not edit once released: add a new
-- migration instead. Ids are UUID text, times Unix milliseconds, booleans 0/1.
-- Sorted text columns use the "C" collation so that PostgreSQL orders them byte
-- by byte, as SQLite does.

CREATE TABLE parties (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    COLLATE "C" NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    country     TEXT,
    status      TEXT    NOT NULL,
    created_ms  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX parties_single_owner ON parties (kind) WHERE kind = 'owner';

CREATE TABLE users (
    id                  TEXT    NOT NULL PRIMARY KEY,
    party_id            TEXT    NOT NULL REFERENCES parties (id),
    email               TEXT    COLLATE "C" NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    system_role         TEXT    NOT NULL,
    password_hash       TEXT,
    totp_secret_sealed  BYTEA,
    totp_enabled        BIGINT  NOT NULL,
    totp_last_step      BIGINT  NOT NULL,
    mfa_required        BIGINT  NOT NULL,
    disabled            BIGINT  NOT NULL,
    failed_logins       BIGINT  NOT NULL,
    locked_until_ms     BIGINT,
    created_ms          BIGINT  NOT NULL
);
CREATE INDEX users_party ON users (party_id);

CREATE TABLE sessions (
    id          TEXT    NOT NULL PRIMARY KEY,
    token_hash  BYTEA   NOT NULL UNIQUE,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL,
    mfa         BIGINT  NOT NULL,
    csrf_hash   BYTEA,
    name        TEXT,
    created_ms  BIGINT  NOT NULL,
    expires_ms  BIGINT  NOT NULL,
    revoked     BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE invitations (
    id            TEXT    NOT NULL PRIMARY KEY,
    token_hash    BYTEA   NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    party_id      TEXT    NOT NULL REFERENCES parties (id),
    system_role   TEXT    NOT NULL,
    invited_by    TEXT    NOT NULL REFERENCES users (id),
    created_ms    BIGINT  NOT NULL,
    expires_ms    BIGINT  NOT NULL,
    accepted_ms   BIGINT
);

CREATE TABLE rooms (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    COLLATE "C" NOT NULL,
    classification  TEXT    NOT NULL,
    created_by      TEXT    NOT NULL REFERENCES users (id),
    created_ms      BIGINT  NOT NULL,
    deleted_ms      BIGINT
);

CREATE TABLE grants (
    id            TEXT    NOT NULL PRIMARY KEY,
    room_id       TEXT    NOT NULL REFERENCES rooms (id),
    subject_kind  TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    expires_ms    BIGINT,
    granted_by    TEXT    NOT NULL REFERENCES users (id),
    reason        TEXT    NOT NULL,
    created_ms    BIGINT  NOT NULL,
    revoked_ms    BIGINT
);
CREATE INDEX grants_room ON grants (room_id);
CREATE INDEX grants_subject ON grants (subject_id);

CREATE TABLE files (
    id             TEXT    NOT NULL PRIMARY KEY,
    room_id        TEXT    NOT NULL REFERENCES rooms (id),
    path           TEXT    COLLATE "C" NOT NULL,
    created_ms     BIGINT  NOT NULL,
    deleted_ms     BIGINT,
    version_count  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX files_live_path ON files (room_id, path) WHERE deleted_ms IS NULL;

CREATE TABLE versions (
    id           TEXT    NOT NULL PRIMARY KEY,
    file_id      TEXT    NOT NULL REFERENCES files (id),
    number       BIGINT  NOT NULL,
    blob_id      TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    sha256       BYTEA   NOT NULL,
    wrapped_key  BYTEA   NOT NULL,
    kek_id       TEXT    NOT NULL,
    uploaded_by  TEXT    NOT NULL REFERENCES users (id),
    created_ms   BIGINT  NOT NULL,
    UNIQUE (file_id, number)
);
CREATE INDEX versions_kek ON versions (kek_id);

CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_ms      BIGINT  NOT NULL,
    actor_user   TEXT,
    actor_party  TEXT,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    reason       TEXT,
    source_addr  TEXT,
    user_agent   TEXT,
    request_id   TEXT,
    mark_id      TEXT,
    detail       TEXT    NOT NULL
);
