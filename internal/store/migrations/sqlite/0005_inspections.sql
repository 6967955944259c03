-- Inspection records (SQLite): the violation and handling catalogs, the
-- inspections themselves, and their findings and proposed handling as rows.

-- An admin edits the catalogs; Store.EnsureCatalog fills an empty one with
-- vanthu.DefaultCatalog() at the end of every Migrate. There is no delete,
-- only active = 0: findings keep their code, and a report of past
-- inspections must still be able to name it. That is also why findings do
-- not reference this table: nothing is ever removed from it.
CREATE TABLE catalog (
    kind   TEXT    NOT NULL CHECK (kind IN ('violation', 'handling')),
    code   TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    grp    TEXT    NOT NULL DEFAULT '',      -- handling: khong-ky-luat, cong-chuc, vien-chuc, khac
    ord    INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, code)
);

-- One inspection record. The columns are what the quarterly report (issue
-- 7) aggregates in SQL: the unit, the time, the surprise flag and the eight
-- attendance counts. The lists and long texts (legal basis, team,
-- representatives, checklist, explanations, conclusions, report deadline,
-- refusal to sign) are one JSON body: nothing queries inside them.
-- unit_id is NULL while a draft has no unit yet. revision counts saves, so
-- that two devices editing one draft cannot overwrite each other unknowingly.
-- A correction is a new row whose previous_id names the finalized version it
-- corrects; both remain.
CREATE TABLE inspections (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id           INTEGER NULL REFERENCES units (id),
    place             TEXT    NOT NULL DEFAULT '',
    surprise          INTEGER NOT NULL DEFAULT 1,
    started_at        INTEGER NULL,
    ended_at          INTEGER NULL,
    listed            INTEGER NOT NULL DEFAULT 0,
    present           INTEGER NOT NULL DEFAULT 0,
    absent_leave      INTEGER NOT NULL DEFAULT 0,
    absent_assignment INTEGER NOT NULL DEFAULT 0,
    absent_study      INTEGER NOT NULL DEFAULT 0,
    absent_unexcused  INTEGER NOT NULL DEFAULT 0,
    late              INTEGER NOT NULL DEFAULT 0,
    left_early        INTEGER NOT NULL DEFAULT 0,
    state             TEXT    NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'finalized')),
    version           INTEGER NOT NULL DEFAULT 1,
    previous_id       INTEGER NULL REFERENCES inspections (id),
    revision          INTEGER NOT NULL DEFAULT 1,
    document_id       INTEGER NULL REFERENCES documents (id),
    body              TEXT    NOT NULL DEFAULT '{}',   -- JSON
    created_by        INTEGER NOT NULL REFERENCES users (id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- Only one correction per version: two inspectors correcting the same
-- minutes at once get one new version and a conflict.
CREATE UNIQUE INDEX inspections_previous_uq ON inspections (previous_id) WHERE previous_id IS NOT NULL;
-- Listing and reporting by unit and period, and by period alone.
CREATE INDEX inspections_unit_started_idx ON inspections (unit_id, started_at);
CREATE INDEX inspections_started_idx ON inspections (started_at);

-- The persons found in violation, one row each in the order of the minutes,
-- so that violations can be counted by type and unit in SQL. violation is ''
-- while a draft row has none yet.
CREATE TABLE inspection_findings (
    inspection_id INTEGER NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    ord           INTEGER NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    position      TEXT    NOT NULL DEFAULT '',
    section       TEXT    NOT NULL DEFAULT '',
    violation     TEXT    NOT NULL DEFAULT '',
    seen_at       INTEGER NULL,
    explanation   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (inspection_id, ord)
);
-- Counting and filtering by violation ("which inspections found alcohol").
CREATE INDEX inspection_findings_violation_idx ON inspection_findings (violation, inspection_id);

-- The proposed handling, one row each; person '' is the unit itself.
CREATE TABLE inspection_handlings (
    inspection_id INTEGER NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    ord           INTEGER NOT NULL,
    code          TEXT    NOT NULL DEFAULT '',
    person        TEXT    NOT NULL DEFAULT '',
    note          TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (inspection_id, ord)
);
CREATE INDEX inspection_handlings_code_idx ON inspection_handlings (code, inspection_id);
