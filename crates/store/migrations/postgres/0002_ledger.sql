-- The tamper-evident ledger (docs/ledger.md): every event is a leaf of an
-- append-only Merkle tree stored as its perfect subtrees.

-- The sequencer: one row holding the number of leaves. Appending updates it,
-- taking its row lock until commit, so leaf indices are gap-free and totally
-- ordered across every node.
CREATE TABLE ledger_state (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    size  BIGINT NOT NULL CHECK (size >= 0)
);
INSERT INTO ledger_state (id, size) VALUES (1, 0);

-- One row per leaf: its exact bytes (the leaf encoding) and their hash.
CREATE TABLE ledger_leaves (
    idx        BIGINT PRIMARY KEY CHECK (idx >= 0),
    event_seq  BIGINT NOT NULL UNIQUE REFERENCES events (seq),
    leaf       BYTEA  NOT NULL,
    leaf_hash  BYTEA  NOT NULL
);

-- The hashes of the perfect subtrees: node (level, idx) covers the leaves
-- [idx * 2^level, (idx + 1) * 2^level). Append-only.
CREATE TABLE ledger_nodes (
    level  BIGINT NOT NULL CHECK (level >= 0 AND level < 64),
    idx    BIGINT NOT NULL CHECK (idx >= 0),
    hash   BYTEA  NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints (C2SP signed notes), one per tree size.
CREATE TABLE ledger_checkpoints (
    size        BIGINT PRIMARY KEY CHECK (size >= 0),
    note        TEXT   NOT NULL,
    created_ms  BIGINT NOT NULL
);
