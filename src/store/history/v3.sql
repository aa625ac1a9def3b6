-- Version 2 → 3: orders, purchased numbers and invoices.
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
                    CHECK (payment_status IN ('awaiting_payment', 'paid', 'failed', 'expired', 'refunded')),
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
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX purchased_numbers_user ON purchased_numbers (user_id);
CREATE INDEX purchased_numbers_number ON purchased_numbers (number);

-- Invoices are numbered without gaps per year (INV-2026-000001); the number is taken in the
-- same transaction that records the payment.
CREATE TABLE invoices (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL UNIQUE REFERENCES orders (id),
    year           INTEGER NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq > 0),
    number         TEXT NOT NULL UNIQUE,
    issued_at      INTEGER NOT NULL,
    customer_email TEXT NOT NULL,
    customer_name  TEXT NOT NULL,
    total_cents    INTEGER NOT NULL,
    currency       TEXT NOT NULL,
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
