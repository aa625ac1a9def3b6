-- Version 6 → 7: sign-in failures are also counted per account and client (a client address,
-- or a browser's device cookie), so that failures from strangers slow the strangers without
-- locking the account's owner out; two-factor sign-in (TOTP secrets and recovery codes).
-- Runs with foreign keys off (src/store/migrate.rs), the way SQLite documents for rebuilding a
-- table that others reference (users); the step checks the keys before it commits.

CREATE TABLE login_failures_v7 (
    id    INTEGER PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('account', 'address', 'account_client')),
    key   TEXT NOT NULL,
    at    INTEGER NOT NULL
) STRICT;
INSERT INTO login_failures_v7 (id, scope, key, at)
    SELECT id, scope, key, at FROM login_failures;
DROP TABLE login_failures;
ALTER TABLE login_failures_v7 RENAME TO login_failures;
CREATE INDEX login_failures_key ON login_failures (scope, key, at);

CREATE TABLE users_v7 (
    id                  INTEGER PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,          -- lower-cased on the way in
    name                TEXT NOT NULL DEFAULT '',
    role                TEXT NOT NULL CHECK (role IN ('admin', 'customer')),
    password_hash       TEXT NOT NULL,                 -- Argon2id PHC string
    telinta_customer    INTEGER,                       -- linked i_customer, if any
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    totp_secret         TEXT,                          -- hex; set once two-factor is confirmed
    totp_pending        TEXT,                          -- hex; shown at enrolment, not yet confirmed
    totp_last_step      INTEGER                        -- the last 30-s step accepted (no replays)
) STRICT;
INSERT INTO users_v7 (id, email, name, role, password_hash, telinta_customer, created_at, password_changed_at)
    SELECT id, email, name, role, password_hash, telinta_customer, created_at, password_changed_at FROM users;
DROP TABLE users;
ALTER TABLE users_v7 RENAME TO users;

CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    used_at   INTEGER
) STRICT;
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
