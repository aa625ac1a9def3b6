-- Version 2 → 3: orders. An order holds its number while the buyer pays.
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
