-- Accounts, sessions, devices and the audit log (issue: accounts, roles, audit and hardening).
-- Secrets never sit here in a usable form: passwords are argon2id PHC strings, session cookies
-- are stored as their SHA-256, and the audit log has no column a secret could go into.

-- People who sign in. Local accounts carry a password hash (small departments, break-glass);
-- single sign-on accounts carry the identity provider's issuer and subject instead.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT    NOT NULL UNIQUE,     -- lower-case
    display_name    TEXT    NOT NULL,
    officer_id      INTEGER REFERENCES officers (id),
    password_hash   TEXT,                        -- argon2id PHC string; NULL: no local sign-in
    totp_secret     TEXT,                        -- base32 second-factor secret; NULL: none
    oidc_issuer     TEXT,
    oidc_subject    TEXT,
    failed_logins   INTEGER NOT NULL DEFAULT 0,  -- consecutive failures since the last success
    locked_until    INTEGER,                     -- UTC seconds; lockout after repeated failures
    active          INTEGER NOT NULL DEFAULT 1,
    synthetic       INTEGER NOT NULL DEFAULT 0,  -- 1 for the demo accounts
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (oidc_issuer, oidc_subject)
);

-- A user's roles (officer, sergeant, command, analyst, admin); the policy lives in code
-- (protocol::policy), the membership here.
CREATE TABLE user_roles (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('officer', 'sergeant', 'command', 'analyst', 'admin')),
    PRIMARY KEY (user_id, role)
);

-- Districts (squads) a user belongs to: the scope of "own district" grants.
CREATE TABLE user_districts (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    district_code   TEXT    NOT NULL,
    PRIMARY KEY (user_id, district_code)
);

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored, so a copy
-- of the database does not hand out live sessions.
CREATE TABLE sessions (
    id_hash         TEXT    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id       TEXT,
    auth_method     TEXT    NOT NULL,            -- password | password+totp | oidc
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,            -- idle lock counts from here
    expires_at      INTEGER NOT NULL,            -- absolute end (one shift)
    source_ip       TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    ended_at        INTEGER,
    end_reason      TEXT                         -- logout | rotated | revoked | expired
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Devices registered to a user (one per install and user). A revoked device's next sync is
-- refused. last_seq is the offline sync's per-device sequence.
CREATE TABLE devices (
    id              TEXT    PRIMARY KEY,         -- client-generated UUID
    user_id         INTEGER NOT NULL REFERENCES users (id),
    label           TEXT    NOT NULL DEFAULT '',
    registered_at   INTEGER NOT NULL,
    last_seen_at    INTEGER,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    server_wrapped_key TEXT,                     -- the device data key wrapped by a server-held key
    revoked_at      INTEGER,
    revoked_by      INTEGER REFERENCES users (id),
    revoke_reason   TEXT
);
CREATE INDEX devices_user ON devices (user_id);

-- The audit log: who, what, when, from where, outcome. Append-only: updates are refused, and a
-- record can be deleted only once it is more than 366 days old (CJIS AU-11: keep ≥ 1 year).
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,            -- UTC seconds, server clock
    actor_user_id   INTEGER,                     -- NULL: anonymous or unknown user
    actor           TEXT    NOT NULL,            -- username then, or the name tried at sign-in
    action          TEXT    NOT NULL,            -- e.g. sign_in, view_incidents, ingest_data
    target          TEXT    NOT NULL DEFAULT '', -- what was touched (route, mission id, file name)
    district_code   TEXT,
    source_ip       TEXT    NOT NULL DEFAULT '',
    device_id       TEXT,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    detail          TEXT    NOT NULL DEFAULT ''  -- reason or counts; never a secret
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
CREATE INDEX audit_log_action ON audit_log (action, at);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_retained BEFORE DELETE ON audit_log
WHEN OLD.at > CAST(strftime('%s', 'now') AS INTEGER) - 366 * 86400
BEGIN
    SELECT RAISE(ABORT, 'audit records are kept for at least a year');
END;
