-- Version 8 → 9: monthly renewals. A purchased number keeps its monthly price and its anchor
-- day (the day of the month it was bought) and can be set to cancel at the end of its period;
-- paid_through becomes a date (midnight UTC). Invoices gain a kind, their service period and a
-- state (renewals are issued open); billing_events make each step of the cycle happen once.
-- Runs with foreign keys off (src/store/migrate.rs): both tables are referenced by others.

CREATE TABLE purchased_numbers_v9 (
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
    monthly_cents INTEGER NOT NULL DEFAULT 0 CHECK (monthly_cents >= 0), -- fixed at purchase
    anchor_day   INTEGER NOT NULL DEFAULT 1 CHECK (anchor_day BETWEEN 1 AND 31),
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
INSERT INTO purchased_numbers_v9 (order_id, user_id, number, status, pin_set, forwarding,
                                  paid_through, last_error, activating_since, activating_run,
                                  monthly_cents, anchor_day, created_at, updated_at)
    SELECT p.order_id, p.user_id, p.number, p.status, p.pin_set, p.forwarding,
           (p.paid_through / 86400) * 86400, p.last_error, p.activating_since, p.activating_run,
           o.monthly_cents,
           CAST(strftime('%d', coalesce(o.paid_at, p.created_at), 'unixepoch') AS INTEGER),
           p.created_at, p.updated_at
    FROM purchased_numbers p JOIN orders o ON o.id = p.order_id;
DROP TABLE purchased_numbers;
ALTER TABLE purchased_numbers_v9 RENAME TO purchased_numbers;
CREATE INDEX purchased_numbers_user ON purchased_numbers (user_id);
CREATE INDEX purchased_numbers_number ON purchased_numbers (number);

CREATE TABLE invoices_v9 (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    year           INTEGER NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq > 0),
    number         TEXT NOT NULL UNIQUE,
    issued_at      INTEGER NOT NULL,
    customer_email TEXT NOT NULL,
    customer_name  TEXT NOT NULL,
    total_cents    INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    kind           TEXT NOT NULL DEFAULT 'first' CHECK (kind IN ('first', 'renewal')),
    period_start   INTEGER NOT NULL,             -- the service period, midnight UTC
    period_end     INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'paid' CHECK (status IN ('open', 'paid', 'void')),
    paid_at        INTEGER,
    paypal_order_id TEXT UNIQUE,
    capture_id     TEXT UNIQUE,
    UNIQUE (year, seq),
    UNIQUE (order_id, period_start)
) STRICT;
INSERT INTO invoices_v9 (id, order_id, year, seq, number, issued_at, customer_email, customer_name,
                         total_cents, currency, kind, period_start, period_end, status, paid_at,
                         capture_id)
    SELECT i.id, i.order_id, i.year, i.seq, i.number, i.issued_at, i.customer_email,
           i.customer_name, i.total_cents, i.currency, 'first', (i.issued_at / 86400) * 86400,
           coalesce((SELECT (p.paid_through / 86400) * 86400 FROM purchased_numbers p
                     WHERE p.order_id = i.order_id),
                    (i.issued_at / 86400) * 86400 + 30 * 86400),
           'paid', i.issued_at, o.capture_id
    FROM invoices i JOIN orders o ON o.id = i.order_id;
DROP TABLE invoices;
ALTER TABLE invoices_v9 RENAME TO invoices;
CREATE INDEX invoices_open ON invoices (status, period_start);

CREATE TABLE billing_events (
    order_id     INTEGER NOT NULL REFERENCES orders (id),
    period_start INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('renewal_due', 'overdue', 'suspended',
                     'suspension_failed', 'reactivated', 'reactivation_failed', 'cancelled')),
    at           INTEGER NOT NULL,
    PRIMARY KEY (order_id, period_start, kind)
) STRICT;

-- Searches counted per hour (flushed from memory by the housekeeping pass), for the admin's
-- dashboard.
CREATE TABLE search_hours (
    hour     INTEGER PRIMARY KEY,   -- Unix second of the hour's start, UTC
    searches INTEGER NOT NULL CHECK (searches >= 0)
) STRICT;
