-- Supervisors' override codes. With no signal, an officer cannot sign out of a device holding
-- unsynced work unless a sergeant (or command) enters their override code there; the work stays
-- on the device for its author's next sign-in. The code itself is shown once to its supervisor and
-- never stored: devices of the supervisor's districts receive only the PBKDF2-HMAC-SHA256
-- verifier to check it offline. One current code per supervisor; a new one replaces it.
CREATE TABLE override_codes (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    salt            TEXT    NOT NULL,            -- hex, 16 random bytes
    iterations      INTEGER NOT NULL,
    verifier        TEXT    NOT NULL,            -- hex, 32 bytes
    created_at      INTEGER NOT NULL             -- UTC seconds
);

-- The server-held key of each device (hex, 32 random bytes): the device keeps its data key
-- wrapped by it (and by a key from the officer's PIN), and gets it only from a signed-in session
-- of the device's owner (`POST /api/device/key`); a revoked device never gets it again. (The
-- older `server_wrapped_key` column is unused.)
ALTER TABLE devices ADD COLUMN server_key TEXT;
