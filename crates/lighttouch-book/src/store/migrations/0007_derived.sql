-- What this laptop worked out from the book and keeps to save doing it again
-- (the recommender's fitted model and store statistics): never synced, and
-- always safe to throw away. `mark` says what state of the book it was
-- worked out from.
CREATE TABLE derived (
    key  TEXT PRIMARY KEY,
    mark TEXT NOT NULL,
    data BLOB NOT NULL
) STRICT;
