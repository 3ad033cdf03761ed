-- The facts of the access conditions (field-of-use tags and access windows of
-- rooms, security training of users, security certification of parties, the
-- network zones requests come from), agreement templates, and what the expiry
-- sweep noticed and told people. Do not edit once released: add a new migration.

-- JSON array of field-of-use tags
ALTER TABLE rooms ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
-- JSON: days, start, end, utc_offset_min; NULL when the room has no window
ALTER TABLE rooms ADD COLUMN access_window TEXT;
ALTER TABLE users ADD COLUMN training_until_ms BIGINT;
ALTER TABLE parties ADD COLUMN certification TEXT;
ALTER TABLE parties ADD COLUMN certified_until_ms BIGINT;

CREATE TABLE network_zones (
    name        TEXT    NOT NULL PRIMARY KEY,
    -- ISO 3166-1 alpha-2
    country     TEXT    NOT NULL,
    -- JSON array of CIDR ranges
    ranges      TEXT    NOT NULL,
    updated_ms  BIGINT  NOT NULL
);

CREATE TABLE agreement_templates (
    -- lowercase letters, digits and -; what rooms may require
    name           TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    text           TEXT    NOT NULL,
    -- JSON: field_of_use, territories, permitted_actions
    terms          TEXT    NOT NULL,
    -- term of an agreement issued from it, in days; NULL: open-ended
    duration_days  BIGINT,
    created_by     TEXT    NOT NULL REFERENCES users (id),
    created_ms     BIGINT  NOT NULL,
    updated_ms     BIGINT  NOT NULL
);

-- One row per end the expiry sweep has recorded: an agreement, grant,
-- certification or training whose end (until_ms) passed. A renewal with a new
-- end is noticed again when that one passes.
CREATE TABLE expiry_notices (
    kind        TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL,
    until_ms    BIGINT  NOT NULL,
    noticed_ms  BIGINT  NOT NULL,
    PRIMARY KEY (kind, subject_id, until_ms)
);

CREATE TABLE notifications (
    id          TEXT    NOT NULL PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    created_ms  BIGINT  NOT NULL,
    -- e.g. agreement.expire
    kind        TEXT    NOT NULL,
    -- what it is about, e.g. agreement:<id>
    subject     TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    read_ms     BIGINT
);
CREATE INDEX notifications_user ON notifications (user_id, created_ms);
