-- Quarterly reports (SQLite): one row per reporting period.

-- One report per period and cut-off rule (the unique key), so a restarted or duplicated scheduler, or two clerks asking at
-- once, find the same row. generation counts the requests to (re)generate
-- it; the generate task carries the generation it was enqueued for, and a
-- task of an older one does nothing, so a stale retry cannot overwrite
-- newer figures. figures is the vanthu.ReportFigures JSON frozen by the
-- last generation; narrative is what the clerk wrote (sections III–V);
-- document_id is the BC draft made from them, which issuing numbers and
-- sends like any directive. The workbook is kept whole: it is what the
-- clerk downloads, and making it again from later data would change it.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    year        INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    quarter     INTEGER NOT NULL DEFAULT 0,
    cutoff      TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('generating', 'ready', 'failed')),
    generation  INTEGER NOT NULL DEFAULT 1,
    progress    INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    figures     TEXT    NULL,                      -- JSON
    narrative   TEXT    NOT NULL DEFAULT '{}',     -- JSON
    document_id INTEGER NULL REFERENCES documents (id),
    workbook    BLOB    NULL,
    created_by  INTEGER NULL REFERENCES users (id), -- NULL: the scheduler
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (year, kind, quarter, cutoff)
);
-- The sweep's scan for generations whose task was lost.
CREATE INDEX reports_generating_idx ON reports (id) WHERE state = 'generating';
