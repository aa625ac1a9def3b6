-- Version 7 → 8: claims on work in flight record the process run that made them, so a run
-- that starts right after a crash (even in the same second) knows the work was cut short.
-- Runs with foreign keys off (src/store/migrate.rs): purchased_numbers is referenced by
-- settings_changes.

CREATE TABLE runs (
    id         INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    pid        INTEGER NOT NULL
) STRICT;

CREATE TABLE purchased_numbers_v8 (
    order_id     INTEGER PRIMARY KEY REFERENCES orders (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    number       INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'active', 'suspended', 'cancelled')),
    pin_set      INTEGER NOT NULL DEFAULT 0 CHECK (pin_set IN (0, 1)),
    forwarding   TEXT,
    paid_through INTEGER NOT NULL,
    last_error   TEXT,
    activating_since INTEGER,               -- set while an activation runs (one at a time)
    activating_run   INTEGER,               -- the process run (runs.id) that claimed it
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
INSERT INTO purchased_numbers_v8 (order_id, user_id, number, status, pin_set, forwarding, paid_through, last_error, activating_since, created_at, updated_at)
    SELECT order_id, user_id, number, status, pin_set, forwarding, paid_through, last_error, activating_since, created_at, updated_at FROM purchased_numbers;
DROP TABLE purchased_numbers;
ALTER TABLE purchased_numbers_v8 RENAME TO purchased_numbers;
CREATE INDEX purchased_numbers_user ON purchased_numbers (user_id);
CREATE INDEX purchased_numbers_number ON purchased_numbers (number);

CREATE TABLE settings_changes_v8 (
    order_id   INTEGER PRIMARY KEY REFERENCES purchased_numbers (order_id),
    started_at INTEGER NOT NULL,
    pin        INTEGER NOT NULL CHECK (pin IN (0, 1)),  -- a new PIN was asked for (never the PIN)
    forwarding TEXT,                                   -- the forwarding number asked for
    run_id     INTEGER                                 -- the process run (runs.id) that made it
) STRICT;
INSERT INTO settings_changes_v8 (order_id, started_at, pin, forwarding)
    SELECT order_id, started_at, pin, forwarding FROM settings_changes;
DROP TABLE settings_changes;
ALTER TABLE settings_changes_v8 RENAME TO settings_changes;
