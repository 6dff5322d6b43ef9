-- A department's roster: squads (a sergeant and their officers, in one district) and which unit
-- (car, beat) each officer works. The roster CSV import writes these with the accounts, in one
-- transaction; a squad always has its sergeant, so the key is not null.
CREATE TABLE squads (
    code                TEXT    PRIMARY KEY,
    district_code       TEXT    NOT NULL,
    sergeant_user_id    INTEGER NOT NULL REFERENCES users (id),
    updated_at          INTEGER NOT NULL          -- UTC seconds
);

-- Each account is in at most one squad (its sergeant included).
CREATE TABLE squad_members (
    user_id             INTEGER  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    squad_code          TEXT    NOT NULL REFERENCES squads (code)
);
CREATE INDEX squad_members_squad ON squad_members (squad_code);

ALTER TABLE officers ADD COLUMN unit_call_sign TEXT;
