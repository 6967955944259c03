-- Outgoing webhooks (SQLite): the province's other systems are told of every
-- dispatch milestone, and each delivery is kept as its log.

-- An endpoint to POST milestones to. The secret is kept as given, not
-- hashed like API tokens: the worker needs it to sign every delivery with
-- HMAC-SHA256, where a token only has to be recognised. created_by is the
-- actor's username, as the events name it.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL
);

-- One row per (webhook, milestone event), inserted in the transaction that
-- records the event, so a milestone is never reached without its
-- deliveries being due; Redis only carries the attempts, and the sweep
-- re-enqueues whatever is neither delivered nor given up. last_status is
-- the HTTP status of the last attempt, 0 when there was no answer (a
-- network error or a timeout).
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    event_id        INTEGER NOT NULL REFERENCES events (id),
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_at    INTEGER NULL,
    gave_up_at      INTEGER NULL,
    UNIQUE (webhook_id, event_id)
);
-- The sweep's scan: deliveries neither delivered nor given up. Partial, so
-- it stays as small as the backlog however long the log grows.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
-- The delivery log of one webhook, newest first.
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
