-- How each room's copies leave it (original, marked, view-only per role), and
-- the lookup of a download by the mark id its copy carries. Do not edit once
-- released: add a new migration.

CREATE TABLE room_delivery (
    room_id  TEXT  NOT NULL PRIMARY KEY REFERENCES rooms (id),
    -- JSON of model::DeliveryPolicy
    policy   TEXT  NOT NULL
);

CREATE INDEX events_mark_id ON events (mark_id) WHERE mark_id IS NOT NULL;
