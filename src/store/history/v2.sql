-- Version 1 → 2: the number becomes the row id, with search indexes and a trigram index.
CREATE TABLE numbers_v2 (
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
INSERT INTO numbers_v2 (number, npa, nxx, state, rate_center, type, availability, source, created_at, updated_at)
    SELECT CAST(number AS INTEGER), npa, nxx, state, rate_center, type, availability, source, created_at, updated_at
    FROM numbers ORDER BY number;
DROP TABLE numbers;
ALTER TABLE numbers_v2 RENAME TO numbers;
-- Full rather than partial indexes: a partial index makes SQLite re-prepare every statement
-- whose bound parameters it compared against the index's WHERE clause. The state index
-- carries what a result shows, so state searches never visit the table.
CREATE INDEX numbers_state ON numbers (state, number, availability, rate_center, type, source);
CREATE INDEX numbers_type ON numbers (type);
-- "Ends with" searches look up the last four digits; the index carries what a result shows,
-- so those searches never visit the table.
CREATE INDEX numbers_last4 ON numbers (number % 10000, number, availability, state, rate_center, type, source);
CREATE INDEX numbers_source ON numbers (source, availability);
CREATE VIRTUAL TABLE numbers_grams USING fts5 (
    digits, content = '', contentless_delete = 1, tokenize = 'trigram', detail = 'none'
);
INSERT INTO numbers_grams (rowid, digits) SELECT number, CAST(number AS TEXT) FROM numbers;
CREATE TRIGGER numbers_grams_insert AFTER INSERT ON numbers BEGIN
    INSERT INTO numbers_grams (rowid, digits) VALUES (new.number, CAST(new.number AS TEXT));
END;
CREATE TRIGGER numbers_grams_delete AFTER DELETE ON numbers BEGIN
    DELETE FROM numbers_grams WHERE rowid = old.number;
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
