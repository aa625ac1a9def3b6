-- Version 6 → 7: sign-in failures are also counted per account and client (a client address,
-- or a browser's device cookie), so that failures from strangers slow the strangers without
-- locking the account's owner out; two-factor sign-in (TOTP secrets and recovery codes).
-- Runs with foreign keys off (src/store/migrate.rs); nothing references this table.

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

ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    used_at   INTEGER
) STRICT;
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
