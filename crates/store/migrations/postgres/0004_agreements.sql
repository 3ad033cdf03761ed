-- Agreements issued to parties, and the agreements rooms require. Do not edit
-- once released: add a new migration.

CREATE TABLE agreements (
    id              TEXT    NOT NULL PRIMARY KEY,
    party_id        TEXT    NOT NULL REFERENCES parties (id),
    kind            TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    -- lowercase hex SHA-256 of text
    text_sha256     TEXT    NOT NULL,
    -- JSON: field_of_use, territories, permitted_actions
    terms           TEXT    NOT NULL,
    -- draft | awaiting_signature | active | terminated (expired is derived from end_ms)
    status          TEXT    NOT NULL,
    effective_ms    BIGINT  NOT NULL,
    end_ms          BIGINT,
    created_by      TEXT    NOT NULL REFERENCES users (id),
    created_ms      BIGINT  NOT NULL,
    signed_by       TEXT    REFERENCES users (id),
    signed_ms       BIGINT,
    signed_sha256   TEXT,
    signed_addr     TEXT,
    terminated_ms   BIGINT
);
CREATE INDEX agreements_party ON agreements (party_id);

CREATE TABLE room_agreements (
    room_id      TEXT    NOT NULL REFERENCES rooms (id),
    -- an agreement kind (nda, ip_assignment, licence) or a template name
    requirement  TEXT    NOT NULL,
    position     BIGINT  NOT NULL,
    PRIMARY KEY (room_id, requirement)
);
