-- Sync with the central server.
--
-- A `set` records `base`, the stamp of the value it replaced; a replica that
-- receives an edit whose base is not the value it holds knows the two edits
-- were concurrent. field_clocks keeps the base of the value it describes.
ALTER TABLE changes ADD COLUMN base TEXT;
ALTER TABLE field_clocks ADD COLUMN base TEXT;

-- Values that lost to a concurrent edit, kept so the associate can restore
-- them. Local to this book: a restore is an ordinary edit, which syncs.
CREATE TABLE conflicts (
    id          INTEGER PRIMARY KEY,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    field       TEXT NOT NULL,
    lost_value  TEXT,
    lost_hlc    TEXT NOT NULL,
    won_value   TEXT,
    won_hlc     TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    resolved_at TEXT,
    UNIQUE (entity, row_id, field, lost_hlc)
) STRICT;
CREATE INDEX conflicts_row ON conflicts(entity, row_id);
