-- Officers' proposals: a mission at a place an officer knows, waiting for their sergeant, who
-- approves it (it becomes an issued mission) or declines it with a reason. A record of its
-- own, not a mission state: proposals are made online and the sync protocol is unchanged.
CREATE TABLE mission_proposals (
    id              INTEGER PRIMARY KEY,
    district_code   TEXT    NOT NULL,
    template_id     INTEGER NOT NULL REFERENCES mission_templates (id),
    place           TEXT    NOT NULL,             -- the place as protocol::mission::Place JSON
    lat             REAL NOT NULL,
    lon             REAL NOT NULL,
    place_label     TEXT    NOT NULL,
    why             TEXT    NOT NULL,
    proposed_by     INTEGER NOT NULL REFERENCES users (id),
    proposed_at     INTEGER NOT NULL,             -- UTC seconds
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    decided_by      INTEGER REFERENCES users (id),
    decided_at      INTEGER,
    decline_reason  TEXT    NOT NULL DEFAULT '',
    mission_id      TEXT                          -- the mission an approval made
);
CREATE INDEX mission_proposals_district ON mission_proposals (district_code, status);
