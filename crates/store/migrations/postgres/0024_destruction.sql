-- Destruction (content/src/destruction.rs): requests to destroy a room by
-- crypto-shredding its key, their four-eyes approval and execution, and legal
-- holds that block destruction and redaction (governance/src/holds.rs). Do not
-- edit once released: add a new migration.

-- When a room was destroyed (its key gone); it is also deleted from then on.
ALTER TABLE rooms ADD COLUMN destroyed_ms BIGINT;
-- Days after its creation when a room is destroyed (retention); none: kept.
ALTER TABLE rooms ADD COLUMN retention_days BIGINT;
-- Who set it: the requester of the destruction it opens when it ends.
ALTER TABLE rooms ADD COLUMN retention_set_by TEXT REFERENCES users (id);

CREATE TABLE destructions (
    id              TEXT    NOT NULL PRIMARY KEY,
    room_id         TEXT    NOT NULL REFERENCES rooms (id),
    reason          TEXT    NOT NULL,
    -- requested | rejected | destroying | destroyed
    state           TEXT    NOT NULL,
    -- 1 when a second person must approve (rooms above `internal`)
    needs_approval  BIGINT  NOT NULL,
    requested_by    TEXT    NOT NULL REFERENCES users (id),
    requested_ms    BIGINT  NOT NULL,
    decided_by      TEXT    REFERENCES users (id),
    decided_ms      BIGINT,
    decision_note   TEXT,
    executed_by     TEXT    REFERENCES users (id),
    started_ms      BIGINT,
    destroyed_ms    BIGINT,
    -- the exact JSON of what is (to be) destroyed, and its SHA-256 (hex)
    manifest        TEXT    NOT NULL,
    manifest_sha256 TEXT    NOT NULL,
    -- the exact JSON the certificate states, hashed into the destruction event
    statement       TEXT,
    -- the `room.destroy` event
    event_seq       BIGINT
);
-- At most one open request per room.
CREATE UNIQUE INDEX destructions_open ON destructions (room_id)
    WHERE state IN ('requested', 'destroying');
CREATE INDEX destructions_state ON destructions (state, requested_ms);

CREATE TABLE legal_holds (
    id              TEXT    NOT NULL PRIMARY KEY,
    -- room | party
    scope           TEXT    NOT NULL,
    target_id       TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    set_by          TEXT    NOT NULL REFERENCES users (id),
    set_ms          BIGINT  NOT NULL,
    released_by     TEXT    REFERENCES users (id),
    released_ms     BIGINT,
    release_reason  TEXT
);
CREATE INDEX legal_holds_target ON legal_holds (target_id, released_ms);
