-- Access-review campaigns (governance/src/reviews.rs): what a campaign covers,
-- who reviews, when it is due, what happens to a grant nobody reviewed; and
-- each grant under review with its reviewers, decision and outcome. Do not
-- edit once released: add a new migration.

CREATE TABLE review_campaigns (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    -- external | party | room | classification
    scope           TEXT    NOT NULL,
    -- the party id, room id or classification the scope names
    scope_value     TEXT,
    -- 1: each room's managers on the owner's side review its grants
    room_managers   BIGINT  NOT NULL,
    -- 1: each party's sponsor reviews the grants to it and its users
    sponsors        BIGINT  NOT NULL,
    -- JSON array of user ids who review every grant of the campaign
    staff           TEXT    NOT NULL,
    fallback        TEXT    NOT NULL REFERENCES users (id),
    starts_ms       BIGINT  NOT NULL,
    due_ms          BIGINT  NOT NULL,
    -- remove | keep | flag
    unreviewed      TEXT    NOT NULL,
    every_days      BIGINT,
    -- scheduled | open | applied
    status          TEXT    NOT NULL,
    created_by      TEXT    NOT NULL REFERENCES users (id),
    created_ms      BIGINT  NOT NULL,
    applied_ms      BIGINT,
    -- when the reviewers with undecided grants were reminded (once)
    reminded_ms     BIGINT
);
CREATE INDEX review_campaigns_due ON review_campaigns (status, due_ms);

CREATE TABLE review_items (
    campaign_id     TEXT    NOT NULL REFERENCES review_campaigns (id),
    grant_id        TEXT    NOT NULL REFERENCES grants (id),
    room_id         TEXT    NOT NULL REFERENCES rooms (id),
    subject_kind    TEXT    NOT NULL,
    subject_id      TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    -- JSON array of the user ids who may decide it
    reviewers       TEXT    NOT NULL,
    -- confirm | revoke, with who, when and why
    decision        TEXT,
    decided_by      TEXT    REFERENCES users (id),
    decided_ms      BIGINT,
    justification   TEXT,
    -- kept | ended | flagged | gone, set when the campaign is applied
    outcome         TEXT,
    PRIMARY KEY (campaign_id, grant_id)
);
