-- Quarterly report (PostgreSQL): indexes for counting in SQL.

-- Findings and handling counted per code for the inspections of a period:
-- the join reaches them by inspection_id, and with the code in the index
-- it never reads the rows themselves (100,000 findings a quarter).
CREATE INDEX inspection_findings_report_idx ON inspection_findings (inspection_id, violation);
CREATE INDEX inspection_handlings_report_idx ON inspection_handlings (inspection_id, code);

-- The directives issued in a period.
CREATE INDEX documents_issued_idx ON documents (kind, issued_at) WHERE state = 'issued';
