-- Antivirus: clamd's verdict on every inbound version scanned while it was
-- sealed (content/src/antivirus.rs). Do not edit once released: add a new
-- migration.

CREATE TABLE av_verdicts (
    version_id  TEXT    NOT NULL PRIMARY KEY REFERENCES versions (id),
    -- clean | infected | uninspectable
    verdict     TEXT    NOT NULL,
    -- the signature clamd named, when infected
    signature   TEXT,
    -- why it could not be scanned (av_unreachable, av_timeout, av_too_large,
    -- av_error), when uninspectable
    reason      TEXT,
    scanned_ms  BIGINT  NOT NULL
);
