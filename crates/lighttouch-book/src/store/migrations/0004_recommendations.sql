-- Recommendations, talk scripts, follow-ups and the daily queue.

-- HQ content in other languages: {"en": {"title": …, "body": …}, …}.
ALTER TABLE content_items ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';

-- Talk scripts (话术) with placeholders, per language. Synced in the store.
-- `purpose` says what they are for: recommend, birthday, anniversary,
-- aftercare, followup, quiet (a customer gone quiet) or festival.
CREATE TABLE talk_scripts (
    id         TEXT PRIMARY KEY,
    hlc        TEXT NOT NULL,
    language   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    author     TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT
) STRICT;

-- Follow-ups the associate scheduled with a customer. Synced, so whoever
-- takes the customer over sees them.
CREATE TABLE follow_ups (
    id          TEXT PRIMARY KEY,
    hlc         TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    due_on      TEXT NOT NULL,
    note        TEXT,
    author      TEXT,
    created_at  TEXT NOT NULL,
    done_at     TEXT
) STRICT;
CREATE INDEX follow_ups_due ON follow_ups(due_on) WHERE done_at IS NULL;
CREATE INDEX follow_ups_customer ON follow_ups(customer_id);

-- What the associate did with an entry of the daily queue, by its key
-- (kind:customer:occasion). Local to this laptop's queue.
CREATE TABLE queue_marks (
    key         TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    until       TEXT,
    at          TEXT NOT NULL
) STRICT;

CREATE INDEX drafts_content ON drafts(content_id);
CREATE INDEX touchpoints_at ON touchpoints(at);
CREATE INDEX purchases_on ON purchases(purchased_on);
