-- Version 3 → 4: "contains" searches read the 4-digit windows of each number, kept in number
-- order, instead of a trigram full-text index: the windows answer a search with one index range
-- that is already sorted, where the trigram index had to intersect two long posting lists.
DROP TRIGGER numbers_grams_insert;
DROP TRIGGER numbers_grams_delete;
DROP TABLE numbers_grams;

CREATE TABLE numbers_windows (
    digits INTEGER NOT NULL,  -- the four digits as an integer (0000 → 0)
    number INTEGER NOT NULL,
    PRIMARY KEY (digits, number)
) STRICT, WITHOUT ROWID;
INSERT INTO numbers_windows (digits, number)
SELECT DISTINCT (n.number / p.d) % 10000, n.number
FROM numbers AS n,
     (SELECT 1 AS d UNION ALL SELECT 10 UNION ALL SELECT 100 UNION ALL SELECT 1000
      UNION ALL SELECT 10000 UNION ALL SELECT 100000 UNION ALL SELECT 1000000) AS p
ORDER BY 1, 2;
CREATE TRIGGER numbers_windows_insert AFTER INSERT ON numbers BEGIN
    INSERT OR IGNORE INTO numbers_windows (digits, number) VALUES
        ((new.number / 1000000) % 10000, new.number),
        ((new.number / 100000) % 10000, new.number),
        ((new.number / 10000) % 10000, new.number),
        ((new.number / 1000) % 10000, new.number),
        ((new.number / 100) % 10000, new.number),
        ((new.number / 10) % 10000, new.number),
        (new.number % 10000, new.number);
END;
CREATE TRIGGER numbers_windows_delete AFTER DELETE ON numbers BEGIN
    DELETE FROM numbers_windows
    WHERE number = old.number
      AND digits IN ((old.number / 1000000) % 10000, (old.number / 100000) % 10000,
                     (old.number / 10000) % 10000, (old.number / 1000) % 10000,
                     (old.number / 100) % 10000, (old.number / 10) % 10000, old.number % 10000);
END;
-- A number is its row's identity; the windows above depend on it never changing.
CREATE TRIGGER numbers_number_fixed BEFORE UPDATE OF number ON numbers BEGIN
    SELECT RAISE(ABORT, 'a number cannot be changed; delete and add it');
END;
