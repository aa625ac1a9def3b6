-- Version 10 → 11: a number's digit windows are written by the store with the number instead
-- of by a trigger, so that a bulk import can write a whole batch's windows in key order (one
-- pass over the index instead of seven random inserts a row). Existing windows stay as they are.
DROP TRIGGER numbers_windows_insert;
