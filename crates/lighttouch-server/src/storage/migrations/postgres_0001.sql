-- Lighttouch server, PostgreSQL, schema version 1. Never edit; add a new file.
CREATE TABLE stores (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    store_id      BIGINT NOT NULL REFERENCES stores(id),
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE devices (
    id           UUID PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    store_id     BIGINT NOT NULL REFERENCES stores(id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    pushed_seq   BIGINT NOT NULL DEFAULT 0
);
-- One ordered log per store (id = store id) and one for HQ content (id 0).
-- Sequence numbers are taken under this row's lock, so they commit in order
-- and last_seq is the committed high-water mark.
CREATE TABLE streams (
    id       BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL DEFAULT 0
);
INSERT INTO streams(id, last_seq) VALUES (0, 0);
CREATE TABLE changes (
    stream_id   BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    device_id   UUID,
    device_seq  BIGINT,
    hlc         TEXT COLLATE "C" NOT NULL,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    customer_id TEXT,
    op          TEXT NOT NULL,
    field       TEXT,
    value       TEXT,
    base        TEXT,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (stream_id, seq)
);
CREATE UNIQUE INDEX changes_device ON changes(device_id, device_seq) WHERE device_id IS NOT NULL;
CREATE INDEX changes_customer ON changes(stream_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE TABLE row_customers (
    stream_id   BIGINT NOT NULL,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (stream_id, entity, row_id)
);
CREATE TABLE customer_owners (
    stream_id   BIGINT NOT NULL,
    customer_id TEXT NOT NULL,
    owner       TEXT,
    hlc         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (stream_id, customer_id)
);
CREATE INDEX customer_owners_owner ON customer_owners(stream_id, owner);
CREATE TABLE erased (
    stream_id   BIGINT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (stream_id, customer_id)
);
CREATE TABLE audit (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    details TEXT NOT NULL
);
