-- Version 5 → 6: orders can be cancelled by the buyer, refunds get credit notes, plans can be
-- limited to a number type, and the outbox accepts every event of the contract.
-- Runs with foreign keys off (src/store/migrate.rs), the way SQLite documents for rebuilding a
-- table that others reference; the step checks the keys before it commits.

CREATE TABLE plans_v6 (
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
INSERT INTO plans_v6 (id, name, description, setup_cents, monthly_cents, active, created_at, updated_at)
    SELECT id, name, description, setup_cents, monthly_cents, active, created_at, updated_at FROM plans;
DROP TABLE plans;
ALTER TABLE plans_v6 RENAME TO plans;

CREATE TABLE orders_v6 (
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
INSERT INTO orders_v6 (id, user_id, number, plan_id, plan_name, setup_cents, monthly_cents, amount_cents, currency, gateway, payment_status, paypal_order_id, capture_id, hold_until, failure, created_at, updated_at, paid_at)
    SELECT id, user_id, number, plan_id, plan_name, setup_cents, monthly_cents, amount_cents, currency, gateway, payment_status, paypal_order_id, capture_id, hold_until, failure, created_at, updated_at, paid_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_v6 RENAME TO orders;
CREATE INDEX orders_user ON orders (user_id, id);
CREATE INDEX orders_status ON orders (payment_status, hold_until);
CREATE INDEX orders_number ON orders (number);

CREATE TABLE outbox_v6 (
    id              INTEGER PRIMARY KEY,
    event           TEXT NOT NULL CHECK (event IN ('order_placed', 'payment_received',
                        'number_activated', 'activation_failed', 'number_status_changed',
                        'settings_changed', 'settings_change_failed', 'password_reset',
                        'order_cancelled', 'order_refunded', 'renewal_due', 'renewal_paid',
                        'payment_overdue', 'number_suspended_unpaid', 'suspension_failed',
                        'number_reactivated', 'cancellation_scheduled', 'number_cancelled')),
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
) STRICT;
INSERT INTO outbox_v6 (id, event, to_addr, subject, body, created_at, status, attempts, next_attempt_at, last_error, sent_at)
    SELECT id, event, to_addr, subject, body, created_at, status, attempts, next_attempt_at, last_error, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v6 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

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
