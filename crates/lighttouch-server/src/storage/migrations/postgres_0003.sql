-- Lighttouch server, PostgreSQL, schema version 3. Never edit; add a new file.
-- Every sequence number a device pushed, with a digest of what it sent, so
-- a re-sent number can be told from a restored or copied book's new change;
-- and the changes refused one by one.
CREATE TABLE device_changes (
    device_id        UUID NOT NULL,
    seq              BIGINT NOT NULL,
    digest           TEXT NOT NULL,
    rejected_code    TEXT,
    rejected_message TEXT,
    PRIMARY KEY (device_id, seq)
);
-- The furthest store sequence each device was handed: a cursor beyond it is
-- not believed. Devices from before were handed at most the whole log.
ALTER TABLE devices ADD COLUMN served_seq BIGINT NOT NULL DEFAULT 0;
UPDATE devices SET served_seq = (SELECT last_seq FROM streams WHERE streams.id = devices.store_id);
UPDATE devices SET pulled_seq = LEAST(pulled_seq, served_seq);
-- Failed sign-ins per key (a hashed account or address), shared by every process.
CREATE TABLE login_failures (
    key      TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_at  TIMESTAMPTZ NOT NULL
);
