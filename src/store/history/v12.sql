-- Version 11 → 12: the digit windows carry the profile of an available number (its state,
-- rate center, type and source, in the new number_profiles table), so a "contains" search
-- reads a page of results from the windows alone. The windows are rebuilt from `numbers`, in
-- key order, with a trigger keeping `profile` in step with each number from then on.
DROP TRIGGER numbers_windows_delete;
DROP TABLE numbers_windows;
CREATE TABLE number_profiles (
    id          INTEGER PRIMARY KEY,
    state       TEXT NOT NULL,
    rate_center TEXT NOT NULL,
    type        TEXT NOT NULL,
    source      TEXT NOT NULL,
    UNIQUE (state, rate_center, type, source)
) STRICT;
INSERT INTO number_profiles (state, rate_center, type, source)
SELECT DISTINCT state, rate_center, type, source FROM numbers ORDER BY 1, 2, 3, 4;
CREATE TABLE numbers_windows (
    digits  INTEGER NOT NULL,  -- the four digits as an integer (0000 → 0)
    number  INTEGER NOT NULL,
    profile INTEGER,           -- number_profiles.id while the number is available
    PRIMARY KEY (digits, number)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO numbers_windows (digits, number, profile)
SELECT (n.number / d.column1) % 10000 AS digits, n.number,
       CASE WHEN n.availability = 'available' THEN p.id END
FROM numbers AS n
JOIN number_profiles AS p
  ON p.state = n.state AND p.rate_center = n.rate_center AND p.type = n.type AND p.source = n.source,
     (VALUES (1000000), (100000), (10000), (1000), (100), (10), (1)) AS d
ORDER BY digits, n.number;
CREATE TRIGGER numbers_windows_delete AFTER DELETE ON numbers BEGIN
    DELETE FROM numbers_windows
    WHERE number = old.number
      AND digits IN ((old.number / 1000000) % 10000, (old.number / 100000) % 10000,
                     (old.number / 10000) % 10000, (old.number / 1000) % 10000,
                     (old.number / 100) % 10000, (old.number / 10) % 10000, old.number % 10000);
END;
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
