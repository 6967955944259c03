-- Initial schema (SQLite). Times are INTEGER unix milliseconds UTC, booleans
-- INTEGER 0/1, so that both dialects compare and convert them the same way.

CREATE TABLE units (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,                 -- vntext.Fold(name), for search
    emails      TEXT    NOT NULL,                 -- newline-separated, first is the main one
    parent_code TEXT    NULL REFERENCES units (code) ON UPDATE CASCADE,
    grp         TEXT    NOT NULL,
    ord         INTEGER NOT NULL DEFAULT 0,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX units_parent_code_idx ON units (parent_code);
CREATE INDEX units_grp_ord_idx ON units (grp, ord);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,         -- stored lower-case
    full_name     TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'clerk', 'inspector', 'viewer')),
    password_hash TEXT    NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('session', 'api')),
    name         TEXT    NOT NULL DEFAULT '',
    hash         BLOB    NOT NULL UNIQUE,          -- SHA-256 of the secret
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NULL,
    last_used_at INTEGER NULL
);
CREATE INDEX tokens_user_kind_idx ON tokens (user_id, kind);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);

CREATE TABLE documents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    type_code  TEXT    NOT NULL DEFAULT '',
    issuer     TEXT    NOT NULL DEFAULT '',
    year       INTEGER NOT NULL DEFAULT 0,
    number     INTEGER NOT NULL DEFAULT 0,
    symbol     TEXT    NOT NULL DEFAULT '',
    subject    TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'issued')),
    body       TEXT    NOT NULL DEFAULT '{}',      -- JSON
    replaces   INTEGER NULL REFERENCES documents (id),
    issued_at  INTEGER NULL,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- A number is unique per issuer, type and year once issued; drafts have 0.
CREATE UNIQUE INDEX documents_number_uq ON documents (issuer, type_code, year, number) WHERE number > 0;

CREATE TABLE artifacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id  INTEGER NOT NULL REFERENCES documents (id),
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    content      BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX artifacts_document_id_idx ON artifacts (document_id);

CREATE TABLE dispatches (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id      INTEGER NOT NULL REFERENCES documents (id),
    unit_id          INTEGER NOT NULL REFERENCES units (id),
    email            TEXT    NOT NULL,
    message_id       TEXT    NOT NULL DEFAULT '',
    queued_at        INTEGER NULL,
    sent_at          INTEGER NULL,
    read_at          INTEGER NULL,
    acknowledged_at  INTEGER NULL,
    bounced_at       INTEGER NULL,
    failed_at        INTEGER NULL,
    fail_reason      TEXT    NOT NULL DEFAULT '',
    reminded         INTEGER NOT NULL DEFAULT 0,
    deadline         INTEGER NULL,
    token_hash       BLOB    NULL UNIQUE,
    token_expires_at INTEGER NULL,
    UNIQUE (document_id, unit_id)
);
CREATE INDEX dispatches_unit_id_idx ON dispatches (unit_id);
CREATE INDEX dispatches_message_id_idx ON dispatches (message_id);

-- Append-only audit log.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    detail       TEXT    NOT NULL DEFAULT '{}',    -- JSON
    evidence_ref TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_subject_at_idx ON events (subject, at);
CREATE INDEX events_at_idx ON events (at);
