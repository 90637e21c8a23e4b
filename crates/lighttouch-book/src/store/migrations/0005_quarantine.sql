-- Changes kept aside instead of stopping sync: one pulled from the server
-- that this book cannot apply ('in'), or one of its own the server refused
-- or that was too large to send ('out'). Never synced; shown in the status.
CREATE TABLE quarantine (
    id           INTEGER PRIMARY KEY,
    direction    TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    seq          INTEGER,
    change       TEXT NOT NULL,
    code         TEXT NOT NULL,
    message      TEXT NOT NULL,
    at           TEXT NOT NULL,
    dismissed_at TEXT
) STRICT;
CREATE UNIQUE INDEX quarantine_out ON quarantine(seq) WHERE direction = 'out';
-- A change pulled again (a re-download) is kept aside once.
CREATE UNIQUE INDEX quarantine_in ON quarantine(change) WHERE direction = 'in';
