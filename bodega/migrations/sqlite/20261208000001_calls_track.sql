-- Calls for service as an optional quality-of-life track of the ranking (docs/HARM.md, "Calls
-- for service"): the incident a call became, so it counts once; the department's weights by call
-- type and priority; and the track's weight beside the others, 0 (off) until command turns it on.
ALTER TABLE calls_for_service ADD COLUMN incident_id TEXT;
-- A call's incident is looked up by the records system's id alone: a CAD export names the report
-- number, not the source label Beatbook loaded it under.
CREATE INDEX incidents_source_id ON incidents (source_id);

-- One row per call type and priority ('' = any priority not listed), replaced as a whole.
CREATE TABLE call_weights (
    call_type       TEXT    NOT NULL,            -- lower case, trimmed
    priority        TEXT    NOT NULL DEFAULT '', -- lower case, trimmed; '' = any other priority
    weight          REAL    NOT NULL,            -- days, on the harm table's scale
    note            TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (call_type, priority)
);

ALTER TABLE dosage_rules ADD COLUMN calls_weight_pct INTEGER NOT NULL DEFAULT 0;
