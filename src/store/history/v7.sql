-- Version 6 → 7: sign-in failures are also counted per account and client (a client address,
-- or a browser's device cookie), so that failures from strangers slow the strangers without
-- locking the account's owner out.
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
