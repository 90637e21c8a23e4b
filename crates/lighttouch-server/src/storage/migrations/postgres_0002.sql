-- Compaction: how far each device has pulled, how far each log is compacted.
ALTER TABLE devices ADD COLUMN pulled_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN compacted_through BIGINT NOT NULL DEFAULT 0;
CREATE INDEX changes_field ON changes(stream_id, entity, row_id, field) WHERE op = 'set';
