-- Version 4 → 5: a settings change in flight at Telinta is recorded before the first call and
-- removed when the portal has saved the outcome, so one cut short by a crash is found again.
CREATE TABLE settings_changes (
    order_id   INTEGER PRIMARY KEY REFERENCES purchased_numbers (order_id),
    started_at INTEGER NOT NULL,
    pin        INTEGER NOT NULL CHECK (pin IN (0, 1)),  -- a new PIN was asked for (never the PIN)
    forwarding TEXT                                    -- the forwarding number asked for
) STRICT;
