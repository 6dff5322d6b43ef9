-- Supervisors' override codes. With no signal, an officer cannot sign out of a device holding
-- unsynced work unless a sergeant (or command) enters their override code there; the work stays
-- on the device for its author's next sign-in. The code itself is shown once to its supervisor and
-- never stored: devices of the supervisor's districts receive only the PBKDF2-HMAC-SHA256
-- verifier to check it offline. One current code per supervisor; a new one replaces it.
CREATE TABLE override_codes (
    user_id         BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    salt            TEXT    NOT NULL,            -- hex, 16 random bytes
    iterations      INTEGER NOT NULL,
    verifier        TEXT    NOT NULL,            -- hex, 32 bytes
    created_at      BIGINT  NOT NULL             -- UTC seconds
);
