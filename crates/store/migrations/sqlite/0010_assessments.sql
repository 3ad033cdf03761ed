-- Due diligence: a party's risk tier and until when it is in term,
-- questionnaire templates (versioned: a change is a new version, old versions
-- never change), assessments (a template version sent to a party's contact,
-- its answers, follow-ups, the reviewer's decision), each party's evidence
-- room, and the sharing risk matrix with the re-assessment period of each
-- tier. Do not edit once released: add a new migration.

-- low, medium, high, critical; NULL: never decided
ALTER TABLE parties ADD COLUMN tier TEXT;
-- exclusive; the tier lapses then
ALTER TABLE parties ADD COLUMN tier_until_ms BIGINT;

CREATE TABLE questionnaires (
    id          TEXT    NOT NULL PRIMARY KEY,
    -- lowercase letters, digits and -; one row per version
    name        TEXT    NOT NULL,
    version     BIGINT  NOT NULL,
    title       TEXT    NOT NULL,
    -- JSON: sections, thresholds (model::diligence::TemplateBody)
    body        TEXT    NOT NULL,
    created_by  TEXT    NOT NULL REFERENCES users (id),
    created_ms  BIGINT  NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE assessments (
    id               TEXT    NOT NULL PRIMARY KEY,
    party_id         TEXT    NOT NULL REFERENCES parties (id),
    -- the template version its answers bind to
    questionnaire_id TEXT    NOT NULL REFERENCES questionnaires (id),
    -- the party's user who answers
    contact_id       TEXT    NOT NULL REFERENCES users (id),
    -- sent, submitted, follow_up, decided, withdrawn
    status           TEXT    NOT NULL,
    -- JSON object: question key -> stored answer
    answers          TEXT    NOT NULL,
    -- JSON array of follow-ups (question, answer, replaced value) in order
    follow_ups       TEXT    NOT NULL,
    sent_by          TEXT    NOT NULL REFERENCES users (id),
    sent_ms          BIGINT  NOT NULL,
    submitted_ms     BIGINT,
    -- the computed score and tier when last submitted
    score            BIGINT,
    computed_tier    TEXT,
    decided_tier     TEXT,
    reasons          TEXT,
    decided_by       TEXT    REFERENCES users (id),
    decided_ms       BIGINT,
    tier_until_ms    BIGINT
);
CREATE INDEX assessments_party ON assessments (party_id, sent_ms);

-- One room per party for the evidence its contacts upload, made when its
-- first questionnaire is sent.
CREATE TABLE evidence_rooms (
    party_id  TEXT  NOT NULL PRIMARY KEY REFERENCES parties (id),
    room_id   TEXT  NOT NULL REFERENCES rooms (id)
);

-- One row (id 1) when an admin has changed the defaults.
CREATE TABLE risk_settings (
    id          BIGINT  NOT NULL PRIMARY KEY,
    -- JSON: model::diligence::RiskMatrix
    matrix      TEXT    NOT NULL,
    -- JSON: model::diligence::TierPeriods
    periods     TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL REFERENCES users (id),
    updated_ms  BIGINT  NOT NULL
);
