-- Directive distribution (SQLite): document numbering, send leases and
-- reminders.

-- The last number issued per issuer, type and year. IssueDocument bumps it
-- with one upsert inside the issuing transaction, so a rolled-back issue
-- consumes no number and two machines never draw the same one.
CREATE TABLE doc_counters (
    issuer    TEXT    NOT NULL,
    type_code TEXT    NOT NULL,
    year      INTEGER NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (issuer, type_code, year)
);

-- mail_tag is NULL only for rows older than this migration; a unique index
-- (not a constraint) lets those NULLs coexist.
ALTER TABLE dispatches ADD COLUMN mail_tag TEXT NULL;
ALTER TABLE dispatches ADD COLUMN lease_until INTEGER NULL;
ALTER TABLE dispatches ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dispatches ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE dispatches ADD COLUMN last_reminded_at INTEGER NULL;
CREATE UNIQUE INDEX dispatches_mail_tag_uq ON dispatches (mail_tag);
-- The reconciler's scan: dispatches neither sent nor failed.
CREATE INDEX dispatches_pending_idx ON dispatches (id) WHERE sent_at IS NULL AND failed_at IS NULL;
-- The reminder scan: sent, not yet acknowledged, with a deadline.
CREATE INDEX dispatches_unacknowledged_idx ON dispatches (deadline)
    WHERE sent_at IS NOT NULL AND acknowledged_at IS NULL AND deadline IS NOT NULL;

CREATE INDEX documents_created_at_idx ON documents (created_at);

-- One row per reminder sent; (dispatch_id, n) unique so a duplicated
-- reminder task cannot record (or be counted) twice.
CREATE TABLE reminders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dispatch_id INTEGER NOT NULL REFERENCES dispatches (id),
    n           INTEGER NOT NULL,
    message_id  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER NULL,
    UNIQUE (dispatch_id, n)
);
