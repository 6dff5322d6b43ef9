-- A department's own setup. Shifts run on chosen days (a bit per day, Monday = 1, Sunday = 64;
-- every day until a department says otherwise). The dosage rules are versioned: each change by
-- command is a new row, and the newest is in force (none: Beatbook's defaults).
ALTER TABLE shifts ADD COLUMN days BIGINT NOT NULL DEFAULT 127;

CREATE TABLE dosage_rules (
    version             BIGINT  PRIMARY KEY,      -- 1, 2, …; the key refuses two writers of one version
    koper_min_minutes    BIGINT NOT NULL,
    koper_max_minutes    BIGINT NOT NULL,
    target_visits        BIGINT NOT NULL,
    cap_visits           BIGINT NOT NULL,
    cap_minutes          BIGINT NOT NULL,
    places_per_shift     BIGINT NOT NULL,
    set_by               BIGINT REFERENCES users (id),
    set_at               BIGINT NOT NULL         -- UTC seconds
);
