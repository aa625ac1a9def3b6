-- Version 9 → 10: emails get an HTML alternative beside their text, and the account page's
-- events (a confirmation link for a new email address, the notice that the address or the
-- password changed). The outbox is rebuilt because its event CHECK changes.
CREATE TABLE outbox_v10 (
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
INSERT INTO outbox_v10 (id, event, to_addr, subject, body, html, created_at, status, attempts, next_attempt_at, last_error, sent_at)
    SELECT id, event, to_addr, subject, body, NULL, created_at, status, attempts, next_attempt_at, last_error, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v10 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
