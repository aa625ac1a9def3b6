-- didport database schema, version 12 (PRAGMA user_version = 12).
-- A fresh database is created from exactly this file; older databases are upgraded by the
-- ordered steps in src/store/migrate.rs. Times are Unix seconds (UTC); money is integer cents.

-- Key/value settings the portal generates for itself (the signing key for CSRF and flash cookies).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
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

-- Single-use recovery codes for two-factor sign-in; only the SHA-256 of each is stored.
CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    used_at   INTEGER
) STRICT;
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Sign-in sessions. Only the SHA-256 of the cookie token is stored.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    address      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

-- Single-use password reset tokens (SHA-256 of the emailed token).
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Failed sign-ins, counted for throttling per account, per client address, and per account
-- and client (the client being an address, or a browser's device cookie).
CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('account', 'address', 'account_client')),
    key   TEXT NOT NULL,
    at    INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_key ON login_failures (scope, key, at);

CREATE TABLE plans (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL DEFAULT '',
    setup_cents   INTEGER NOT NULL CHECK (setup_cents >= 0),
    monthly_cents INTEGER NOT NULL CHECK (monthly_cents >= 0),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    number_type   TEXT NOT NULL DEFAULT 'any' CHECK (number_type IN ('any', 'local', 'tollfree'))
) STRICT;

-- The inventory of numbers for sale. The number itself is the row id: 10 digits as an integer
-- (North American numbers never start with 0 or 1), so a prefix search is a range of row ids
-- and every search comes back in number order without sorting.
CREATE TABLE numbers (
    number       INTEGER PRIMARY KEY CHECK (number BETWEEN 2000000000 AND 9999999999),
    npa          TEXT NOT NULL,
    nxx          TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT '',
    rate_center  TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL CHECK (type IN ('local', 'tollfree')),
    availability TEXT NOT NULL DEFAULT 'available' CHECK (availability IN ('available', 'held', 'sold')),
    source       TEXT NOT NULL CHECK (source IN ('import', 'telinta', 'demo')),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
-- Full rather than partial indexes: a partial index makes SQLite re-prepare every statement
-- whose bound parameters it compared against the index's WHERE clause. The state index
-- carries what a result shows, so state searches never visit the table.
CREATE INDEX numbers_state ON numbers (state, number, availability, rate_center, type, source);
CREATE INDEX numbers_type ON numbers (type);
-- "Ends with" searches look up the last four digits; the index carries what a result shows,
-- so those searches never visit the table.
CREATE INDEX numbers_last4 ON numbers (number % 10000, number, availability, state, rate_center, type, source);
CREATE INDEX numbers_source ON numbers (source, availability);

-- What a search result shows of a number besides its digits, one row for each combination in
-- the inventory (a few per rate center): the digit windows below point here, so a "contains"
-- search reads a page of results from the windows alone instead of one random row of
-- `numbers` a result.
CREATE TABLE number_profiles (
    id          INTEGER PRIMARY KEY,
    state       TEXT NOT NULL,
    rate_center TEXT NOT NULL,
    type        TEXT NOT NULL,
    source      TEXT NOT NULL,
    UNIQUE (state, rate_center, type, source)
) STRICT;

-- The seven 4-digit windows of each number, for "contains" searches: a pattern of four or more
-- digits is one range of this key (already in number order); three digits are ten ranges plus
-- the last-four index, merged in order. The store writes a number's windows with the number
-- (src/store/numbers.rs): a bulk import writes a whole batch's windows in key order, which a
-- row-by-row trigger could not. `profile` is the number's profile while it is available and
-- NULL while it is held or sold (kept so by the trigger below).
CREATE TABLE numbers_windows (
    digits  INTEGER NOT NULL,  -- the four digits as an integer (0000 → 0)
    number  INTEGER NOT NULL,
    profile INTEGER,           -- number_profiles.id while the number is available
    PRIMARY KEY (digits, number)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER numbers_windows_delete AFTER DELETE ON numbers BEGIN
    DELETE FROM numbers_windows
    WHERE number = old.number
      AND digits IN ((old.number / 1000000) % 10000, (old.number / 100000) % 10000,
                     (old.number / 10000) % 10000, (old.number / 1000) % 10000,
                     (old.number / 100) % 10000, (old.number / 10) % 10000, old.number % 10000);
END;
-- A held, sold or released number, or one whose location or type changed: its windows follow.
CREATE TRIGGER numbers_windows_profile
AFTER UPDATE OF availability, state, rate_center, type, source ON numbers
WHEN (old.availability, old.state, old.rate_center, old.type, old.source)
     IS NOT (new.availability, new.state, new.rate_center, new.type, new.source)
BEGIN
    INSERT OR IGNORE INTO number_profiles (state, rate_center, type, source)
    VALUES (new.state, new.rate_center, new.type, new.source);
    UPDATE numbers_windows
    SET profile = CASE WHEN new.availability = 'available' THEN
            (SELECT id FROM number_profiles
             WHERE state = new.state AND rate_center = new.rate_center
               AND type = new.type AND source = new.source)
        END
    WHERE number = new.number
      AND digits IN ((new.number / 1000000) % 10000, (new.number / 100000) % 10000,
                     (new.number / 10000) % 10000, (new.number / 1000) % 10000,
                     (new.number / 100) % 10000, (new.number / 10) % 10000, new.number % 10000);
END;
-- A number is its row's identity; the windows above depend on it never changing.
CREATE TRIGGER numbers_number_fixed BEFORE UPDATE OF number ON numbers BEGIN
    SELECT RAISE(ABORT, 'a number cannot be changed; delete and add it');
END;

-- Reports of inventory imports and syncs, so an admin can read what happened to each row.
CREATE TABLE imports (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('upload', 'cli', 'sync')),
    added     INTEGER NOT NULL DEFAULT 0,
    updated   INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    removed   INTEGER NOT NULL DEFAULT 0,
    bad       INTEGER NOT NULL DEFAULT 0,
    problems  TEXT NOT NULL DEFAULT '[]',      -- JSON [[line, reason], …], the first 1000
    error     TEXT                             -- set when the whole run failed
) STRICT;

-- Orders. An order holds its number while the buyer pays. Which payment status may follow
-- which is decided in src/domain/status.rs, and every UPDATE of it is guarded by that table.
CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    number          INTEGER NOT NULL,
    plan_id         INTEGER NOT NULL REFERENCES plans (id),
    plan_name       TEXT NOT NULL,
    setup_cents     INTEGER NOT NULL CHECK (setup_cents >= 0),
    monthly_cents   INTEGER NOT NULL CHECK (monthly_cents >= 0),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents = setup_cents + monthly_cents),
    currency        TEXT NOT NULL,
    gateway         TEXT NOT NULL CHECK (gateway IN ('paypal', 'manual')),
    payment_status  TEXT NOT NULL DEFAULT 'awaiting_payment'
                    CHECK (payment_status IN ('awaiting_payment', 'paid', 'failed', 'expired',
                                              'cancelled', 'refunded')),
    paypal_order_id TEXT UNIQUE,
    capture_id      TEXT UNIQUE,
    hold_until      INTEGER NOT NULL,
    failure         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    paid_at         INTEGER
) STRICT;
CREATE INDEX orders_user ON orders (user_id, id);
CREATE INDEX orders_status ON orders (payment_status, hold_until);
CREATE INDEX orders_number ON orders (number);

-- A number once paid for: its status is what the admin changes on View Orders.
CREATE TABLE purchased_numbers (
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
CREATE INDEX purchased_numbers_user ON purchased_numbers (user_id);
CREATE INDEX purchased_numbers_number ON purchased_numbers (number);

-- One row per start of a process that claims work (serve, demo, a command). A claim records
-- the run that made it; a claim of a run whose lock file is free (src/store/runs.rs) was cut
-- short, however recently it was made.
CREATE TABLE runs (
    id         INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    pid        INTEGER NOT NULL
) STRICT;

-- A settings change in flight at Telinta, recorded before the first call and removed when the
-- portal has saved the outcome, so one cut short by a crash is found again.
CREATE TABLE settings_changes (
    order_id   INTEGER PRIMARY KEY REFERENCES purchased_numbers (order_id),
    started_at INTEGER NOT NULL,
    pin        INTEGER NOT NULL CHECK (pin IN (0, 1)),  -- a new PIN was asked for (never the PIN)
    forwarding TEXT,                                   -- the forwarding number asked for
    run_id     INTEGER                                 -- the process run (runs.id) that made it
) STRICT;

-- Invoices are numbered without gaps per year (INV-2026-000001), first purchases and renewals
-- in one sequence; the number is taken in the transaction that issues the invoice. A first
-- invoice is issued paid; a renewal is issued open, before the month it covers, and paid or
-- voided later. One invoice per order and period start.
CREATE TABLE invoices (
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
CREATE INDEX invoices_open ON invoices (status, period_start);
-- A credit note cancels a refunded order's invoice. Numbered without gaps per year in a
-- sequence of its own (CN-2026-000001), taken in the transaction that records the refund.
CREATE TABLE credit_notes (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL UNIQUE REFERENCES orders (id),
    invoice_id   INTEGER REFERENCES invoices (id),
    year         INTEGER NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    number       TEXT NOT NULL UNIQUE,
    issued_at    INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    currency     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    UNIQUE (year, seq)
) STRICT;

CREATE TABLE invoice_lines (
    invoice_id   INTEGER NOT NULL REFERENCES invoices (id),
    position     INTEGER NOT NULL,
    description  TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    PRIMARY KEY (invoice_id, position)
) STRICT;

-- PayPal webhook events already handled, so a redelivery changes nothing.
CREATE TABLE webhook_events (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    order_id    INTEGER,
    outcome     TEXT NOT NULL
) STRICT;

-- Each step of the renewal cycle done for a number and period, so that no run does it twice
-- (the email of the step is queued in the same transaction).
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

-- Notifications, written in the same transaction as the change they report and delivered by
-- the background sender.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    event           TEXT NOT NULL CHECK (event IN ('order_placed', 'payment_received',
                        'number_activated', 'activation_failed', 'number_status_changed',
                        'settings_changed', 'settings_change_failed', 'password_reset',
                        'order_cancelled', 'order_refunded', 'renewal_due', 'renewal_paid',
                        'payment_overdue', 'number_suspended_unpaid', 'suspension_failed',
                        'number_reactivated', 'cancellation_scheduled', 'number_cancelled',
                        'email_change_requested', 'email_changed', 'password_changed')),
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,                 -- text/plain part
    html            TEXT,                          -- text/html alternative, when the message has one
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Who changed what, and the outcome. Never holds a secret or a PIN.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor     TEXT NOT NULL,                 -- email or 'system' at the time of the change
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL DEFAULT '',
    outcome   TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),
    detail    TEXT NOT NULL DEFAULT '',
    address   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_at ON audit (at);
