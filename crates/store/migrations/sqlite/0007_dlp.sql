-- Data-loss prevention: each room's DLP policy, the verdict of every scanned
-- version, the versions held in quarantine for a security officer's decision,
-- and the administrator's custom detectors. Do not edit once released: add a
-- new migration.

CREATE TABLE room_dlp (
    room_id  TEXT  NOT NULL PRIMARY KEY REFERENCES rooms (id),
    -- JSON of app::dlp_policy::DlpPolicy
    policy   TEXT  NOT NULL
);

CREATE TABLE dlp_verdicts (
    version_id     TEXT    NOT NULL PRIMARY KEY REFERENCES versions (id),
    -- low | medium | high | critical; NULL when nothing was found
    max_severity   TEXT,
    -- JSON object: detector id -> number of findings
    detectors      TEXT    NOT NULL,
    -- why (part of) the content could not be inspected; NULL when it could
    uninspectable  TEXT,
    -- hex SHA-256 of the ruleset the scan ran under
    ruleset        TEXT    NOT NULL,
    scanned_ms     BIGINT  NOT NULL
);

-- A held version lives under a file row of its own that is deleted from the
-- start (so no listing, download or view sees it, and its blob stays
-- referenced); a release moves it into the live file at `path`.
CREATE TABLE dlp_holds (
    version_id   TEXT    NOT NULL PRIMARY KEY REFERENCES versions (id),
    room_id      TEXT    NOT NULL REFERENCES rooms (id),
    path         TEXT    NOT NULL,
    uploaded_by  TEXT    NOT NULL REFERENCES users (id),
    -- the action that held it and a redacted summary of the findings (JSON)
    reason       TEXT    NOT NULL,
    created_ms   BIGINT  NOT NULL,
    -- held | released | rejected
    state        TEXT    NOT NULL,
    decided_by   TEXT    REFERENCES users (id),
    decided_ms   BIGINT,
    note         TEXT
);

CREATE INDEX dlp_holds_state ON dlp_holds (state, created_ms);

CREATE TABLE dlp_rules (
    id          TEXT    NOT NULL PRIMARY KEY,
    -- JSON of dlp::CustomRule
    rule        TEXT    NOT NULL,
    created_by  TEXT    NOT NULL REFERENCES users (id),
    created_ms  BIGINT  NOT NULL
);
