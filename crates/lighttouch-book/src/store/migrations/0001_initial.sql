-- Lighttouch customer book, schema version 1.
-- Shipped migrations are never edited: add a new file instead.
--
-- Every synced row has a device-generated UUID v7 `id` and `hlc`, the stamp of
-- the write that created it. A later edit of one field records its own stamp
-- in field_clocks; a field's effective stamp is that one, or the row's `hlc`.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE customers (
    id                   TEXT PRIMARY KEY,
    hlc                  TEXT NOT NULL,
    name                 TEXT NOT NULL,
    gender               TEXT,
    phone                TEXT,
    phone2               TEXT,
    wechat               TEXT,
    email                TEXT,
    birthday             TEXT,
    birthday_calendar    TEXT NOT NULL DEFAULT 'solar',
    anniversary          TEXT,
    anniversary_calendar TEXT NOT NULL DEFAULT 'solar',
    language             TEXT,
    ring_size            TEXT,
    wrist_size           TEXT,
    clothing_size        TEXT,
    shoe_size            TEXT,
    preferred_metals     TEXT,
    preferred_stones     TEXT,
    preferred_styles     TEXT,
    preferred_colors     TEXT,
    budget               TEXT,
    stage                TEXT,
    consent_marketing    INTEGER NOT NULL DEFAULT 0,
    consent_at           TEXT,
    consent_source       TEXT,
    do_not_contact       INTEGER NOT NULL DEFAULT 0,
    owner                TEXT,
    store                TEXT,
    created_at           TEXT NOT NULL,
    merged_into          TEXT,
    erased_at            TEXT
) STRICT;
CREATE INDEX customers_phone ON customers(phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_phone2 ON customers(phone2) WHERE phone2 IS NOT NULL;
CREATE INDEX customers_wechat ON customers(wechat COLLATE NOCASE) WHERE wechat IS NOT NULL;

CREATE TABLE field_clocks (
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    field  TEXT NOT NULL,
    hlc    TEXT NOT NULL,
    PRIMARY KEY (entity, row_id, field)
) STRICT, WITHOUT ROWID;

CREATE TABLE tags (
    id         TEXT PRIMARY KEY,
    hlc        TEXT NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    tag_group  TEXT NOT NULL DEFAULT 'other',
    synonyms   TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX tags_name_key ON tags(name_key);

-- An add-wins set: a remove records the newest add it has seen; the tag is
-- present while some add is newer than that (a concurrent add survives).
CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    tag_id      TEXT NOT NULL REFERENCES tags(id),
    added_hlc   TEXT NOT NULL,
    removed_hlc TEXT,
    PRIMARY KEY (customer_id, tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX customer_tags_tag ON customer_tags(tag_id);

CREATE TABLE notes (
    id          TEXT PRIMARY KEY,
    hlc         TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    author      TEXT,
    created_at  TEXT NOT NULL,
    body        TEXT NOT NULL,
    edited_at   TEXT,
    deleted_at  TEXT
) STRICT;
CREATE INDEX notes_customer ON notes(customer_id);

-- Every text a note ever had; notes.body is the newest of them.
CREATE TABLE note_revisions (
    id        TEXT PRIMARY KEY,
    hlc       TEXT NOT NULL,
    note_id   TEXT NOT NULL REFERENCES notes(id),
    body      TEXT NOT NULL,
    author    TEXT,
    at        TEXT NOT NULL
) STRICT;
CREATE INDEX note_revisions_note ON note_revisions(note_id);

CREATE TABLE purchases (
    id           TEXT PRIMARY KEY,
    hlc          TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    purchased_on TEXT NOT NULL,
    order_ref    TEXT,
    sku          TEXT,
    product      TEXT NOT NULL,
    category     TEXT,
    quantity     INTEGER NOT NULL DEFAULT 1,
    amount_cents INTEGER,
    currency     TEXT NOT NULL DEFAULT 'CNY',
    store        TEXT,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX purchases_customer ON purchases(customer_id);
CREATE INDEX purchases_order ON purchases(order_ref, sku) WHERE order_ref IS NOT NULL;

CREATE TABLE touchpoints (
    id          TEXT PRIMARY KEY,
    hlc         TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    at          TEXT NOT NULL,
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    content_id  TEXT,
    message     TEXT,
    author      TEXT,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX touchpoints_customer ON touchpoints(customer_id, at);

CREATE TABLE content_items (
    id          TEXT PRIMARY KEY,
    hlc         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT,
    tags        TEXT NOT NULL DEFAULT '[]',
    category    TEXT,
    price_cents INTEGER,
    currency    TEXT NOT NULL DEFAULT 'CNY',
    language    TEXT,
    valid_from  TEXT,
    valid_until TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE drafts (
    id             TEXT PRIMARY KEY,
    hlc            TEXT NOT NULL,
    customer_id    TEXT NOT NULL REFERENCES customers(id),
    content_id     TEXT REFERENCES content_items(id),
    language       TEXT,
    body           TEXT NOT NULL,
    reasons        TEXT NOT NULL DEFAULT '[]',
    status         TEXT NOT NULL DEFAULT 'proposed',
    dismiss_reason TEXT,
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX drafts_customer ON drafts(customer_id);

-- The outbox: every local write, in order. `seq` is gap-free (AUTOINCREMENT
-- inside the writing transaction; a rollback takes its numbers back).
CREATE TABLE changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    hlc    TEXT NOT NULL,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    op     TEXT NOT NULL,
    field  TEXT,
    value  TEXT
) STRICT;
CREATE INDEX changes_row ON changes(entity, row_id);

-- Search keys per customer, folded and ready for the in-memory index;
-- rewritten in the same transaction as any write that touches them.
-- Each column holds keys, each key led by a control byte naming its kind
-- (see search/keys.rs).
CREATE TABLE search_docs (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id),
    sort_key    TEXT NOT NULL,
    display     TEXT NOT NULL,
    pinyin      TEXT NOT NULL,
    others      TEXT NOT NULL,
    notes       TEXT NOT NULL
) STRICT;
CREATE INDEX search_docs_sort ON search_docs(sort_key);
