-- Destruction attestations (identity/src/attestations.rs, docs/attestations.md):
-- the offboarding of a party opens one, in its transaction, listing every copy
-- the party received (from the events), frozen with the declaration into the
-- text its officer signs click-through on a secret page. Only the SHA-256 of
-- the page's secret and of each code is stored. Do not edit once released:
-- add a new migration.

CREATE TABLE attestations (
    id              TEXT    NOT NULL PRIMARY KEY,
    party_id        TEXT    NOT NULL REFERENCES parties (id),
    -- the officer asked to sign; none when nobody could be named
    officer_email   TEXT,
    token_sha256    BLOB    NOT NULL UNIQUE,
    -- JSON array of the copies listed (model::ReceivedCopy)
    copies          TEXT    NOT NULL,
    -- the declaration and the list: exactly what is signed
    text            TEXT    NOT NULL,
    -- lowercase hex SHA-256 of text
    text_sha256     TEXT    NOT NULL,
    opened_ms       BIGINT  NOT NULL,
    opened_by       TEXT    NOT NULL REFERENCES users (id),
    due_ms          BIGINT  NOT NULL,
    mailed_ms       BIGINT,
    reminded_ms     BIGINT,
    reminders       BIGINT  NOT NULL,
    escalated_ms    BIGINT,
    escalations     BIGINT  NOT NULL,
    -- the signature: all set together, once
    signer_name     TEXT,
    signer_email    TEXT,
    signed_sha256   TEXT,
    signed_ms       BIGINT,
    signed_addr     TEXT
);

CREATE INDEX attestations_party ON attestations (party_id, opened_ms);
CREATE INDEX attestations_due ON attestations (signed_ms, due_ms);

-- One-time codes mailed to an attestation's officer, and the browser sessions
-- they verified.
CREATE TABLE attestation_codes (
    id              TEXT    NOT NULL PRIMARY KEY,
    attestation_id  TEXT    NOT NULL REFERENCES attestations (id),
    recipient       TEXT    NOT NULL,
    session_sha256  BLOB    NOT NULL UNIQUE,
    code_sha256     BLOB    NOT NULL,
    created_ms      BIGINT  NOT NULL,
    expires_ms      BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL,
    verified_ms     BIGINT
);

CREATE INDEX attestation_codes_attestation ON attestation_codes (attestation_id);
