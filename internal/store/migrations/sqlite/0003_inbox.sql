-- Read and acknowledgement tracking (SQLite): who confirmed, the office
-- mailbox checkpoint and every message read from it.

-- The person who confirmed receipt (ack page, API or reply), shown when the
-- unit confirms a second time and in the receipt report.
ALTER TABLE dispatches ADD COLUMN ack_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN ack_position TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN ack_note TEXT NOT NULL DEFAULT '';

-- How far the watcher has read each mailbox. A restart continues after
-- last_uid; a changed uid_validity means the UIDs were renumbered and the
-- mailbox is read again from the start (inbound_mail dedupes by Message-ID).
CREATE TABLE inbox_state (
    mailbox      TEXT    PRIMARY KEY,
    uid_validity INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- Every message read from the office mailbox, with what was done with it.
-- Nothing is dropped silently: unmatched and malformed mail stays here for
-- the clerk, with its source (bounded) to read.
CREATE TABLE inbound_mail (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox      TEXT    NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    message_id   TEXT    NOT NULL DEFAULT '',
    kind         TEXT    NOT NULL,              -- mdn, dsn, reply, other, malformed
    outcome      TEXT    NOT NULL,              -- applied, recorded, duplicate, unmatched, malformed
    dispatch_id  INTEGER NULL REFERENCES dispatches (id),
    milestone    TEXT    NOT NULL DEFAULT '',
    from_addr    TEXT    NOT NULL DEFAULT '',
    subject      TEXT    NOT NULL DEFAULT '',
    summary      TEXT    NOT NULL DEFAULT '{}', -- the classifier's findings, JSON
    raw          BLOB    NULL,
    received_at  INTEGER NOT NULL,
    reviewed_at  INTEGER NULL,
    reviewed_by  TEXT    NOT NULL DEFAULT '',
    UNIQUE (mailbox, uid_validity, uid)
);
CREATE INDEX inbound_mail_message_id_idx ON inbound_mail (message_id) WHERE message_id <> '';
CREATE INDEX inbound_mail_dispatch_idx ON inbound_mail (dispatch_id) WHERE dispatch_id IS NOT NULL;
-- The clerk's list: unmatched and malformed mail not yet reviewed.
CREATE INDEX inbound_mail_review_idx ON inbound_mail (id)
    WHERE outcome IN ('unmatched', 'malformed') AND reviewed_at IS NULL;
