-- The rest of the Data Bodega's shape: department settings, districts and shifts, officers and
-- units, calls for service, GPS fixes, offence mapping and harm weight tables, and the
-- classification and geocoding columns incidents need.

-- Department settings (time zone, placeholder locations, ...): one value per key.
CREATE TABLE settings (
    key             TEXT    PRIMARY KEY,
    value           TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL            -- UTC seconds
);

-- Districts, zones and the department boundary, as GeoJSON (Polygon or MultiPolygon, WGS84).
CREATE TABLE districts (
    id              INTEGER PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,    -- e.g. '4' or 'D4'
    name            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,            -- district | zone | boundary
    geojson         TEXT    NOT NULL,
    min_lon         REAL    NOT NULL,            -- bounding box, for quick rejection
    min_lat         REAL    NOT NULL,
    max_lon         REAL    NOT NULL,
    max_lat         REAL    NOT NULL,
    synthetic       INTEGER NOT NULL DEFAULT 0,  -- 1 for generated demo data
    batch_id        INTEGER REFERENCES ingest_batches (id)
);

-- Shift patterns (local wall-clock times; a shift may cross midnight).
CREATE TABLE shifts (
    id              INTEGER PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,     -- e.g. 'A', 'days'
    name            TEXT    NOT NULL,
    starts_local    TEXT    NOT NULL,            -- HH:MM
    ends_local      TEXT    NOT NULL,            -- HH:MM
    synthetic       INTEGER NOT NULL DEFAULT 0
);

-- Sworn officers and the units (cars, beats) they work in.
CREATE TABLE officers (
    id              INTEGER PRIMARY KEY,
    badge           TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    rank            TEXT    NOT NULL DEFAULT 'officer',
    district_code   TEXT,
    active          INTEGER NOT NULL DEFAULT 1,
    synthetic       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE units (
    id              INTEGER PRIMARY KEY,
    call_sign       TEXT    NOT NULL UNIQUE,
    district_code   TEXT,
    active          INTEGER NOT NULL DEFAULT 1,
    synthetic       INTEGER NOT NULL DEFAULT 0
);

-- Calls for service from computer-aided dispatch. (source, source_id) is the upsert key.
CREATE TABLE calls_for_service (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    source_id       TEXT    NOT NULL,
    call_type       TEXT    NOT NULL,
    priority        TEXT    NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL,            -- UTC seconds
    dispatched_at   INTEGER,
    arrived_at      INTEGER,
    cleared_at      INTEGER,
    disposition     TEXT    NOT NULL DEFAULT '',
    lat             REAL,
    lon             REAL,
    address         TEXT    NOT NULL DEFAULT '',
    district_code   TEXT,
    geo_flag        TEXT,                        -- NULL | null_island | placeholder | outside_boundary
    time_flag       TEXT,
    row_hash        TEXT    NOT NULL,
    first_batch_id  INTEGER NOT NULL REFERENCES ingest_batches (id),
    batch_id        INTEGER NOT NULL REFERENCES ingest_batches (id),
    UNIQUE (source, source_id)
);
CREATE INDEX calls_received_at ON calls_for_service (received_at);

-- GPS fixes from devices and vehicle location (AVL). Append-only; a repeated fix is ignored.
CREATE TABLE gps_fixes (
    id              INTEGER PRIMARY KEY,
    device          TEXT    NOT NULL,            -- device id or unit call sign
    unit_call_sign  TEXT,
    fix_at          INTEGER NOT NULL,            -- UTC seconds, device clock
    lat             REAL    NOT NULL,
    lon             REAL    NOT NULL,
    accuracy_m      REAL,
    speed_mps       REAL,
    received_at     INTEGER NOT NULL,            -- UTC seconds, server clock
    batch_id        INTEGER REFERENCES ingest_batches (id),
    UNIQUE (device, fix_at)
);
CREATE INDEX gps_fixes_fix_at ON gps_fixes (fix_at);

-- Offence text as a records system writes it -> NIBRS classification. Versioned: a new
-- version never rewrites what an earlier one classified.
CREATE TABLE offense_map (
    id              INTEGER PRIMARY KEY,
    vocabulary      TEXT    NOT NULL,            -- e.g. 'vpd', 'chicago', or a department's own
    version         TEXT    NOT NULL,
    offense_text    TEXT    NOT NULL,            -- lower-cased, trimmed
    nibrs_code      TEXT    NOT NULL,            -- e.g. '13A'
    nibrs_group     TEXT    NOT NULL,            -- A | B
    crime_against   TEXT    NOT NULL,            -- person | property | society | not_a_crime
    harm_category   TEXT    NOT NULL,            -- violent | property | quality_of_life
    UNIQUE (vocabulary, version, offense_text)
);

-- Harm weight tables, versioned: every score says which table version produced it.
CREATE TABLE harm_weights (
    id              INTEGER PRIMARY KEY,
    table_name      TEXT    NOT NULL,
    version         TEXT    NOT NULL,
    offense_key     TEXT    NOT NULL,            -- a NIBRS code or a lower-cased offence text
    weight          REAL    NOT NULL,
    source_note     TEXT    NOT NULL DEFAULT '',
    UNIQUE (table_name, version, offense_key)
);

-- Classification, reporting and geocoding columns for incidents.
ALTER TABLE incidents ADD COLUMN reported_at INTEGER;            -- UTC seconds
ALTER TABLE incidents ADD COLUMN nibrs_code TEXT;
ALTER TABLE incidents ADD COLUMN nibrs_group TEXT;
ALTER TABLE incidents ADD COLUMN crime_against TEXT;
ALTER TABLE incidents ADD COLUMN harm_category TEXT;
ALTER TABLE incidents ADD COLUMN address TEXT NOT NULL DEFAULT ''; -- block or address as given
ALTER TABLE incidents ADD COLUMN district_code TEXT;
ALTER TABLE incidents ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN geo_flag TEXT;                   -- NULL | null_island | placeholder | outside_boundary
