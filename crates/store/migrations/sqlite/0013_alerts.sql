-- Alerts raised by the watcher (crates/watch) as the server scores events
-- (audit/src/alerts.rs), with the security officers' feedback, and how far the
-- scoring got. Do not edit once released: add a new migration.

CREATE TABLE alerts (
    id              TEXT    NOT NULL PRIMARY KEY,
    -- `user` or `party`, and its id
    entity_kind     TEXT    NOT NULL,
    entity_id       TEXT    NOT NULL,
    -- the user's party, when the alert is about a user
    party_id        TEXT,
    -- the day (since the Unix epoch, UTC) the alert is about
    day             BIGINT  NOT NULL,
    raised_ms       BIGINT  NOT NULL,
    -- `day` for an alert of the day's budget, else the rule raised at once
    -- (`burst`, `mass_before_end` …)
    kind            TEXT    NOT NULL,
    -- the score in thousandths of a point
    score_milli     BIGINT  NOT NULL,
    sentence        TEXT    NOT NULL,
    -- JSON: contributions (feature, value, medians, points), rules, end
    detail          TEXT    NOT NULL,
    -- `open`, `confirmed`, `dismissed`
    status          TEXT    NOT NULL,
    feedback_reason TEXT,
    feedback_by     TEXT    REFERENCES users (id),
    feedback_ms     BIGINT,
    -- one alert per entity, day and kind, whichever node raises it first
    UNIQUE (entity_kind, entity_id, day, kind)
);

CREATE INDEX alerts_by_time ON alerts (raised_ms);

-- How far the scoring got: alerts raised for events up to `scored_seq`, and
-- for days up to `closed_day`, are not raised again when a restart rebuilds
-- the watcher from recent events.
CREATE TABLE watch_state (
    id          BIGINT  NOT NULL PRIMARY KEY,
    scored_seq  BIGINT  NOT NULL,
    closed_day  BIGINT  NOT NULL
);

INSERT INTO watch_state (id, scored_seq, closed_day) VALUES (1, 0, -1);
