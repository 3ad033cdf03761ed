-- Event search for auditors, and redaction of personal data from the ledger
-- (docs/ledger.md §8, §11, §12).

-- The search filters of `GET /events`: each index ends in `seq`, the paging key.
CREATE INDEX events_actor_user ON events (actor_user, seq);
CREATE INDEX events_actor_party ON events (actor_party, seq);
CREATE INDEX events_target ON events (target, seq);
CREATE INDEX events_action ON events (action, seq);
CREATE INDEX events_time ON events (time_ms);
-- The room filter finds the files of a room, deleted ones included.
CREATE INDEX files_room ON files (room_id);

-- One row per redacted leaf. The leaf's bytes (and its `events` row) lost
-- their personal data; `ledger_leaves.leaf_hash` keeps the hash of the
-- original bytes, so the tree and every checkpoint still verify.
CREATE TABLE ledger_redactions (
    idx          BIGINT PRIMARY KEY REFERENCES ledger_leaves (idx),
    event_seq    BIGINT  NOT NULL UNIQUE REFERENCES events (seq),
    reason       TEXT    NOT NULL,
    redacted_by  TEXT    NOT NULL,
    redacted_ms  BIGINT  NOT NULL
);
