-- A department's own setup. Shifts run on chosen days (a bit per day, Monday = 1, Sunday = 64;
-- every day until a department says otherwise). The dosage rules are versioned: each change by
-- command is a new row, and the newest is in force (none: Beatbook's defaults).
ALTER TABLE shifts ADD COLUMN days INTEGER NOT NULL DEFAULT 127;

CREATE TABLE dosage_rules (
    version             INTEGER PRIMARY KEY,     -- 1, 2, …; the key refuses two writers of one version
    koper_min_minutes   INTEGER NOT NULL,
    koper_max_minutes   INTEGER NOT NULL,
    target_visits       INTEGER NOT NULL,
    cap_visits          INTEGER NOT NULL,
    cap_minutes         INTEGER NOT NULL,
    places_per_shift    INTEGER NOT NULL,
    set_by              INTEGER REFERENCES users (id),
    set_at              INTEGER NOT NULL         -- UTC seconds
);
