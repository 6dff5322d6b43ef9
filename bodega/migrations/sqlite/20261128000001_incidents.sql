-- The first slice of the Data Bodega: where incident files land, what each load did, and the
-- rows a load could not use (kept with their reason, never lost).

-- One row per file loaded (or dry-run): provenance for every incident.
CREATE TABLE ingest_batches (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,            -- 'incidents' (calls, gps, districts later)
    source          TEXT    NOT NULL,            -- source system label, e.g. 'vpd-geodash'
    file_name       TEXT    NOT NULL,
    sha256          TEXT    NOT NULL,            -- hex digest of the file's bytes
    started_at      INTEGER NOT NULL,            -- UTC seconds
    finished_at     INTEGER,                     -- UTC seconds; NULL while running or if it died
    rows_read       INTEGER NOT NULL DEFAULT 0,
    rows_loaded     INTEGER NOT NULL DEFAULT 0,  -- new incidents
    rows_updated    INTEGER NOT NULL DEFAULT 0,  -- known incidents whose content changed
    rows_unchanged  INTEGER NOT NULL DEFAULT 0,
    rows_rejected   INTEGER NOT NULL DEFAULT 0,
    outcome         TEXT    NOT NULL DEFAULT 'running'  -- running | ok | failed
);

-- Incidents as recorded by the records system. (source, source_id) is the upsert key, so
-- re-loading the same or an overlapping export is idempotent.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    source_id       TEXT    NOT NULL,
    occurred_at     INTEGER NOT NULL,            -- UTC seconds
    occurred_local  TEXT    NOT NULL,            -- the local time exactly as the file gave it
    time_flag       TEXT,                        -- NULL | 'gap' (moved forward) | 'ambiguous' (earlier offset)
    offense         TEXT    NOT NULL,
    category        TEXT    NOT NULL DEFAULT '',
    lat             REAL,                        -- WGS84; NULL when the source withholds the location
    lon             REAL,
    row_hash        TEXT    NOT NULL,            -- digest of the content fields: detects changed records
    first_batch_id  INTEGER NOT NULL REFERENCES ingest_batches (id),
    batch_id        INTEGER NOT NULL REFERENCES ingest_batches (id),  -- last batch that changed it
    UNIQUE (source, source_id)
);
CREATE INDEX incidents_occurred_at ON incidents (occurred_at);
CREATE INDEX incidents_offense ON incidents (offense);

-- Rows a load could not use: line number in the file, the field at fault, why, and the raw text.
CREATE TABLE rejected_rows (
    id              INTEGER PRIMARY KEY,
    batch_id        INTEGER NOT NULL REFERENCES ingest_batches (id),
    line            INTEGER NOT NULL,
    field           TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    raw             TEXT    NOT NULL
);
CREATE INDEX rejected_rows_batch ON rejected_rows (batch_id);
