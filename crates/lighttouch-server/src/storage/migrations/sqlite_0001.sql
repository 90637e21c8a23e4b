-- Lighttouch server, SQLite, schema version 1. Never edit; add a new file.
CREATE TABLE stores (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    store_id      INTEGER NOT NULL REFERENCES stores(id),
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    store_id     INTEGER NOT NULL REFERENCES stores(id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at   TEXT,
    pushed_seq   INTEGER NOT NULL DEFAULT 0
);
-- One ordered log per store (id = store id) and one for HQ content (id 0).
-- last_seq is the committed high-water mark: every seq up to it is visible.
CREATE TABLE streams (
    id       INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL DEFAULT 0
);
INSERT INTO streams(id, last_seq) VALUES (0, 0);
CREATE TABLE changes (
    stream_id   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    device_id   TEXT,
    device_seq  INTEGER,
    hlc         TEXT NOT NULL,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    customer_id TEXT,
    op          TEXT NOT NULL,
    field       TEXT,
    value       TEXT,
    base        TEXT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (stream_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX changes_device ON changes(device_id, device_seq) WHERE device_id IS NOT NULL;
CREATE INDEX changes_customer ON changes(stream_id, customer_id) WHERE customer_id IS NOT NULL;
-- Which customer each child row (note, purchase, ...) belongs to.
CREATE TABLE row_customers (
    stream_id   INTEGER NOT NULL,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (stream_id, entity, row_id)
) WITHOUT ROWID;
-- The current owner of each customer (last writer wins), for handovers.
CREATE TABLE customer_owners (
    stream_id   INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    owner       TEXT,
    hlc         TEXT NOT NULL,
    PRIMARY KEY (stream_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_owners_owner ON customer_owners(stream_id, owner);
CREATE TABLE erased (
    stream_id   INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (stream_id, customer_id)
) WITHOUT ROWID;
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    details TEXT NOT NULL
);
