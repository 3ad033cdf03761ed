-- Failed guesses at secrets (share-link passwords and codes), by scope and
-- key, so that every node sees the same back-off (content/src/guesses.rs). Do
-- not edit once released: add a new migration.

CREATE TABLE guess_failures (
    -- link_address | link | address
    scope           TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    -- the failures counted since window_start
    window_start    BIGINT  NOT NULL,
    failures        BIGINT  NOT NULL,
    -- no guess of this scope and key is evaluated before this time
    blocked_until   BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX guess_failures_age ON guess_failures (window_start);
