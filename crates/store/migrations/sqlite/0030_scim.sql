-- SCIM 2.0 provisioning (identity/src/scim.rs, docs/scim.md): each party's
-- bearer tokens (only their SHA-256 kept), the users and groups its identity
-- provider provisions, and the admin's mappings of its groups to room roles
-- or system roles. Do not edit once released: add a new migration.

CREATE TABLE scim_tokens (
    id              TEXT    NOT NULL PRIMARY KEY,
    party_id        TEXT    NOT NULL REFERENCES parties (id),
    name            TEXT    NOT NULL,
    secret_hash     BLOB    NOT NULL UNIQUE,
    created_by      TEXT    NOT NULL REFERENCES users (id),
    created_ms      BIGINT  NOT NULL,
    last_used_ms    BIGINT,
    revoked_ms      BIGINT
);

CREATE INDEX scim_tokens_by_party ON scim_tokens (party_id);

-- A user as provisioned: the SCIM view beside the user row (whose `disabled`
-- is SCIM's `active`, inverted). A deleted user keeps its row, deprovisioned.
CREATE TABLE scim_users (
    user_id         TEXT    NOT NULL PRIMARY KEY REFERENCES users (id),
    party_id        TEXT    NOT NULL REFERENCES parties (id),
    external_id     TEXT,
    user_name       TEXT    NOT NULL,
    given_name      TEXT,
    family_name     TEXT,
    -- moves with every change: the ETag (`meta.version`)
    version         BIGINT  NOT NULL,
    created_ms      BIGINT  NOT NULL,
    updated_ms      BIGINT  NOT NULL,
    deprovisioned_ms BIGINT
);

CREATE INDEX scim_users_by_party ON scim_users (party_id);

CREATE TABLE scim_groups (
    id              TEXT    NOT NULL PRIMARY KEY,
    party_id        TEXT    NOT NULL REFERENCES parties (id),
    display_name    TEXT    NOT NULL,
    external_id     TEXT,
    version         BIGINT  NOT NULL,
    created_ms      BIGINT  NOT NULL,
    updated_ms      BIGINT  NOT NULL
);

CREATE UNIQUE INDEX scim_groups_name ON scim_groups (party_id, display_name);

CREATE TABLE scim_group_members (
    group_id        TEXT    NOT NULL REFERENCES scim_groups (id),
    user_id         TEXT    NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);

-- A group (by display name) of a party mapped by an admin to a room role
-- (`room_id` and `room_role`) or to a system role (`system_role`).
CREATE TABLE scim_mappings (
    id              TEXT    NOT NULL PRIMARY KEY,
    party_id        TEXT    NOT NULL REFERENCES parties (id),
    group_name      TEXT    NOT NULL,
    room_id         TEXT,
    room_role       TEXT,
    system_role     TEXT,
    created_by      TEXT    NOT NULL REFERENCES users (id),
    created_ms      BIGINT  NOT NULL
);

CREATE INDEX scim_mappings_by_party ON scim_mappings (party_id);

-- The grants a mapping made, so that leaving the group revokes them.
CREATE TABLE scim_grants (
    mapping_id      TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    grant_id        TEXT    NOT NULL,
    PRIMARY KEY (mapping_id, user_id)
);
