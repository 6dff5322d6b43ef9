-- The offline sync: a global change counter, change stamps on what devices pull, and the
-- mutation log (the idempotency record of every device write and its audit trail, kept ≥ 1 year).

-- One row: the change counter. Every write a device must see takes the next value in the same
-- transaction; pull returns rows stamped above the device's cookie. Device clocks never order.
CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    change_version  INTEGER NOT NULL
);
INSERT INTO sync_state (id, change_version) VALUES (1, 0);

ALTER TABLE missions ADD COLUMN change_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX missions_change ON missions (change_version);
ALTER TABLE mission_notes ADD COLUMN change_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX mission_notes_change ON mission_notes (change_version);

-- Every mutation a device pushed and the server applied or rejected: (device, seq) is applied
-- once, in the same transaction as its effect and devices.last_seq.
CREATE TABLE mutation_log (
    device_id       TEXT    NOT NULL REFERENCES devices (id),
    seq             INTEGER NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id),   -- who pushed it (the session's user)
    author_user_id  INTEGER NOT NULL REFERENCES users (id),   -- who wrote it on the device
    kind            TEXT    NOT NULL,                          -- step | note | breadcrumbs
    entity_id       TEXT,                                      -- mission or note id
    outcome         TEXT    NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    reason          TEXT    NOT NULL DEFAULT '',
    device_time     INTEGER NOT NULL,                          -- the device's clock, as sent
    received_at     INTEGER NOT NULL,                          -- the server's clock
    skewed          INTEGER NOT NULL DEFAULT 0,                -- 1: clocks differ by more than 2 minutes
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX mutation_log_received ON mutation_log (received_at);

CREATE TRIGGER mutation_log_append_only BEFORE UPDATE ON mutation_log
BEGIN
    SELECT RAISE(ABORT, 'mutation_log is append-only');
END;
