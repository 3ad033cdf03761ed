-- Incident cases (governance/src/incidents.rs, docs/incidents.md): opened from an
-- alert, a trace, a DLP event, a report or by hand, and run through nine stages,
-- each with its owner, tasks and notes, to the lessons learned that close it.
-- Do not edit once released: add a new migration.

CREATE TABLE incidents (
    id              TEXT    NOT NULL PRIMARY KEY,
    title           TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    -- `alert`, `trace`, `dlp`, `report`, `manual`, and what it names (an
    -- alert's id, an event's seq, a mark id)
    source          TEXT    NOT NULL,
    source_ref      TEXT,
    -- the stage it is at (one of nine, docs/incidents.md)
    stage           TEXT    NOT NULL,
    -- `low` … `critical`, once assessed
    severity        TEXT,
    category        TEXT,
    opened_by       TEXT    NOT NULL REFERENCES users (id),
    opened_ms       BIGINT  NOT NULL,
    -- whom and what it is about
    party_id        TEXT    REFERENCES parties (id),
    user_id         TEXT    REFERENCES users (id),
    room_id         TEXT,
    -- the legal clock: notification due by, and when it was made
    notify_due_ms   BIGINT,
    notified_ms     BIGINT,
    -- the legal holds the case set (JSON list of hold ids)
    holds           TEXT    NOT NULL,
    closed_ms       BIGINT,
    lessons         TEXT
);

CREATE INDEX incidents_by_time ON incidents (opened_ms);

-- Each stage's owner.
CREATE TABLE incident_owners (
    incident_id     TEXT    NOT NULL REFERENCES incidents (id),
    stage           TEXT    NOT NULL,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    PRIMARY KEY (incident_id, stage)
);

-- What happens in a case: notes, tasks, containment actions, trace results,
-- holds, messages, stage changes; each with its stage and author.
CREATE TABLE incident_entries (
    id              TEXT    NOT NULL PRIMARY KEY,
    incident_id     TEXT    NOT NULL REFERENCES incidents (id),
    -- the entry's place in its case (1, 2, …): entries made in the same
    -- millisecond keep their order
    n               BIGINT  NOT NULL,
    stage           TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    -- JSON
    detail          TEXT    NOT NULL,
    author          TEXT    NOT NULL REFERENCES users (id),
    created_ms      BIGINT  NOT NULL,
    -- a task's assignee and when it was done
    assignee        TEXT    REFERENCES users (id),
    done_ms         BIGINT,
    UNIQUE (incident_id, n)
);

-- The owner's incident settings: hours from opening to the notification
-- deadline (NULL: no clock).
CREATE TABLE incident_settings (
    id              BIGINT  NOT NULL PRIMARY KEY,
    notify_hours    BIGINT
);

INSERT INTO incident_settings (id, notify_hours) VALUES (1, 72);
