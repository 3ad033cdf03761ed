-- Security certifications as records (replacing the one admin-typed
-- certification of a party), what rooms and classifications require of an
-- external party, each party's sponsor on the owner's side, and the reminders
-- sent before an end. Do not edit once released: add a new migration.

CREATE TABLE certifications (
    id              TEXT    NOT NULL PRIMARY KEY,
    party_id        TEXT    NOT NULL REFERENCES parties (id),
    -- iso_27001, soc2_type2, tisax, cyber_essentials_plus or custom:<name>
    standard        TEXT    NOT NULL,
    issuer          TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    number          TEXT    NOT NULL,
    valid_from_ms   BIGINT  NOT NULL,
    valid_until_ms  BIGINT  NOT NULL,
    -- a file in a room shared with the party
    evidence_file   TEXT,
    -- NULL until one of the owner's staff verified it: it counts for nothing till then
    verified_by     TEXT    REFERENCES users (id),
    verified_ms     BIGINT,
    recorded_by     TEXT    NOT NULL REFERENCES users (id),
    recorded_ms     BIGINT  NOT NULL
);
CREATE INDEX certifications_party ON certifications (party_id, valid_until_ms);

-- What a room, or every room of a classification, requires of an external
-- party beyond agreements: kind `certification` (key: a standard, or `any`).
CREATE TABLE room_qualifications (
    room_id  TEXT  NOT NULL REFERENCES rooms (id),
    kind     TEXT  NOT NULL,
    key      TEXT  NOT NULL,
    PRIMARY KEY (room_id, kind, key)
);
CREATE TABLE classification_qualifications (
    classification  TEXT  NOT NULL,
    kind            TEXT  NOT NULL,
    key             TEXT  NOT NULL,
    PRIMARY KEY (classification, kind, key)
);
-- The rule before this migration: confidential and restricted rooms require a
-- valid certification of any standard.
INSERT INTO classification_qualifications (classification, kind, key) VALUES
    ('confidential', 'certification', 'any'),
    ('restricted', 'certification', 'any');

-- The owner's user who answers for a party (reminders go to them too).
CREATE TABLE party_sponsors (
    party_id  TEXT    NOT NULL PRIMARY KEY REFERENCES parties (id),
    user_id   TEXT    NOT NULL REFERENCES users (id),
    set_ms    BIGINT  NOT NULL
);

-- One row per reminder sent `days` before an end (until_ms) of a subject.
CREATE TABLE expiry_reminders (
    kind        TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL,
    until_ms    BIGINT  NOT NULL,
    days        BIGINT  NOT NULL,
    sent_ms     BIGINT  NOT NULL,
    PRIMARY KEY (kind, subject_id, until_ms, days)
);

-- The admin-typed certifications become records, verified by the owner's
-- first admin (an admin recorded them); the party's id is the record's.
INSERT INTO certifications (id, party_id, standard, issuer, scope, number,
    valid_from_ms, valid_until_ms, evidence_file, verified_by, verified_ms,
    recorded_by, recorded_ms)
SELECT p.id, p.id, 'custom:' || p.certification, '', '', '', 0, p.certified_until_ms,
    NULL, a.id, p.created_ms, a.id, p.created_ms
FROM parties p, (SELECT u.id AS id FROM users u JOIN parties o ON o.id = u.party_id
                 WHERE o.kind = 'owner' AND u.system_role = 'admin'
                 ORDER BY u.created_ms, u.id LIMIT 1) a
WHERE p.certification IS NOT NULL AND p.certified_until_ms IS NOT NULL;

ALTER TABLE parties DROP COLUMN certification;
ALTER TABLE parties DROP COLUMN certified_until_ms;
