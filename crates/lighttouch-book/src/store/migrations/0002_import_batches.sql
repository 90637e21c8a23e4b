-- What each import did, so it can be undone. Local to this book (not synced):
-- the undo itself is written as ordinary changes, which do sync.
CREATE TABLE import_batches (
    id          TEXT PRIMARY KEY,
    imported_at TEXT NOT NULL,
    kind        TEXT NOT NULL,
    file_name   TEXT,
    rows        INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    merged      INTEGER NOT NULL,
    -- JSON: {"created": [id], "filled": [[id, field, value]], "tagged": [[id, tag_id]], "notes": [id]}
    effects     TEXT NOT NULL,
    undone_at   TEXT
) STRICT;
CREATE INDEX import_batches_time ON import_batches(imported_at);
