-- The agreements a share link's verified recipient signed, click-through,
-- before the first byte (content/src/links.rs): one row per link, recipient
-- and requirement of the room, with the text shown and its SHA-256. Do not
-- edit once released: add a new migration.

CREATE TABLE link_signatures (
    link_id         TEXT    NOT NULL REFERENCES links (id),
    -- the verified address, lowercase
    recipient       TEXT    NOT NULL,
    -- the room's requirement it meets: an agreement kind or a template name
    requirement     TEXT    NOT NULL,
    -- the template whose text was shown
    template        TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    -- lowercase hex SHA-256 of text, as the recipient's browser sent it back
    text_sha256     TEXT    NOT NULL,
    signed_ms       BIGINT  NOT NULL,
    source_addr     TEXT,
    PRIMARY KEY (link_id, recipient, requirement)
);
