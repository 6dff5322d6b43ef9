-- Missions: the Mission Menu (versioned templates), missions and their event log, notes.
-- The mission lifecycle itself (statuses, who may make which transition, the merge order the
-- offline sync uses) is defined once, in code: protocol::mission.

-- Mission Menu templates. A template is a key with numbered versions: editing one writes a new
-- version, and missions keep the version they were issued from.
CREATE TABLE mission_templates (
    id              INTEGER PRIMARY KEY,
    template_key    TEXT    NOT NULL,            -- stable across versions, e.g. 'koper-visit'
    version         INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    goal            TEXT    NOT NULL,            -- what success looks like
    tactic          TEXT    NOT NULL,            -- directed_patrol | park_and_walk | business_check | ...
    dwell_minutes   INTEGER NOT NULL,            -- default time in place per visit
    visits_per_shift INTEGER NOT NULL,
    crime_types     TEXT    NOT NULL DEFAULT '', -- comma list: violent, property, quality_of_life, calls
    outcome_fields  TEXT    NOT NULL DEFAULT '[]', -- JSON: [{key, label, kind, choices?}]
    evidence_note   TEXT    NOT NULL DEFAULT '',
    active          INTEGER NOT NULL DEFAULT 1,  -- 0: retired (not offered for new missions)
    created_at      INTEGER NOT NULL,
    created_by      INTEGER REFERENCES users (id),
    UNIQUE (template_key, version)
);

-- Missions: a template version at a place, for a district and shift, with an assignee.
CREATE TABLE missions (
    id              TEXT    PRIMARY KEY,         -- UUID
    template_id     INTEGER NOT NULL REFERENCES mission_templates (id),
    status          TEXT    NOT NULL,            -- protocol::MissionStatus
    district_code   TEXT    NOT NULL,
    shift_code      TEXT    NOT NULL,
    shift_date      TEXT    NOT NULL,            -- local date the shift starts, YYYY-MM-DD
    window_start    INTEGER NOT NULL,            -- UTC seconds
    window_end      INTEGER NOT NULL,
    place_kind      TEXT    NOT NULL CHECK (place_kind IN ('cell', 'segment', 'point')),
    cell_epsg       INTEGER,                     -- for cells: the global lattice key
    cell_size_m     INTEGER,
    cell_ix         INTEGER,
    cell_iy         INTEGER,
    segment_id      TEXT,
    lat             REAL    NOT NULL,            -- centre of the place
    lon             REAL    NOT NULL,
    radius_m        REAL    NOT NULL,            -- the place's extent for presence and the Koper timer
    place_label     TEXT    NOT NULL DEFAULT '',
    assignee_user_id INTEGER REFERENCES users (id),
    assignee_unit   TEXT,
    priority        INTEGER NOT NULL DEFAULT 3,  -- 1 (highest) to 5
    instructions    TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '', -- why it was recommended, in plain language
    outcome         TEXT,                        -- JSON of the template's outcome fields
    outcome_note    TEXT,
    not_completed_reason TEXT,
    conflict        INTEGER NOT NULL DEFAULT 0,  -- 1: devices disagreed (completed vs not completed)
    version         INTEGER NOT NULL DEFAULT 1,  -- bumped by every change; stale edits are refused
    created_at      INTEGER NOT NULL,
    created_by      INTEGER NOT NULL REFERENCES users (id),
    updated_at      INTEGER NOT NULL
);
CREATE INDEX missions_board ON missions (district_code, shift_date, shift_code);
CREATE INDEX missions_assignee ON missions (assignee_user_id, status);
CREATE INDEX missions_place ON missions (cell_epsg, cell_size_m, cell_ix, cell_iy, window_start);

-- Every transition of every mission: who, when (server and device clocks), from which device.
-- This is the mission's audit trail and the offline sync's log: one record, not two.
CREATE TABLE mission_events (
    id              INTEGER PRIMARY KEY,
    mission_id      TEXT    NOT NULL REFERENCES missions (id),
    transition      TEXT    NOT NULL,            -- create | issue | acknowledge | assign | ...
    from_status     TEXT,
    to_status       TEXT    NOT NULL,
    actor_user_id   INTEGER NOT NULL REFERENCES users (id),
    device_id       TEXT,
    server_time     INTEGER NOT NULL,            -- UTC seconds; orders everything
    device_time     INTEGER,                     -- UTC seconds by the device's clock, kept as given
    detail          TEXT    NOT NULL DEFAULT ''  -- JSON: assignee, outcome, reason
);
CREATE INDEX mission_events_mission ON mission_events (mission_id, id);

CREATE TRIGGER mission_events_append_only BEFORE UPDATE ON mission_events
BEGIN
    SELECT RAISE(ABORT, 'mission_events is append-only');
END;

-- Field notes: immutable; an edit is a new note that supersedes the old one.
CREATE TABLE mission_notes (
    id              TEXT    PRIMARY KEY,         -- client-generated UUID
    mission_id      TEXT    NOT NULL REFERENCES missions (id),
    author_user_id  INTEGER NOT NULL REFERENCES users (id),
    body            TEXT    NOT NULL,
    supersedes      TEXT,
    device_id       TEXT,
    device_time     INTEGER,
    server_time     INTEGER NOT NULL
);
CREATE INDEX mission_notes_mission ON mission_notes (mission_id, server_time);
