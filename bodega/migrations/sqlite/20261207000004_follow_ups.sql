-- The follow-up queue: a finished mission whose officer answered "needs follow-up" waits for
-- its sergeant, who turns it into a new mission or closes it with a reason. One row per
-- mission: the key refuses handling it twice.
CREATE TABLE mission_follow_ups (
    mission_id      TEXT    PRIMARY KEY REFERENCES missions (id),
    handled_as      TEXT    NOT NULL CHECK (handled_as IN ('mission', 'closed')),
    new_mission_id  TEXT    REFERENCES missions (id),
    reason          TEXT    NOT NULL DEFAULT '',
    handled_by      INTEGER NOT NULL REFERENCES users (id),
    handled_at      INTEGER NOT NULL          -- UTC seconds
);
