//! The one place every write goes through. A [`Writer`] wraps one SQLite
//! transaction: each insert, field edit, tag link and erasure it performs is
//! recorded in the `changes` outbox (gap-free `seq`, a hybrid-logical-clock
//! stamp) in that same transaction, and search keys of the customers it
//! touched are rewritten before commit. The sync engine reads the outbox.

mod entity;

pub use entity::Entity;
use entity::EntityErrors;

use crate::clock::{link_present, Hlc, HlcGenerator};
use crate::error::{BookError, Result};
use crate::search;
use crate::store::{meta_set, Book, Touched};
use chrono::{DateTime, Utc};
use lighttouch_protocol::schema::MAX_VALUE_BYTES;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::Value;
use std::collections::BTreeSet;

/// One recorded change, as read back from the outbox.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub seq: i64,
    pub hlc: String,
    pub entity: String,
    pub row_id: String,
    pub op: String,
    pub field: Option<String>,
    pub value: Option<Value>,
    /// For `set`: the stamp of the value it replaced.
    pub base: Option<String>,
}

impl Change {
    /// The change as a push sends it, numbered `seq` in the server's count.
    pub fn into_pushed(self, seq: i64) -> lighttouch_protocol::PushedChange {
        lighttouch_protocol::PushedChange {
            seq,
            hlc: self.hlc,
            entity: self.entity,
            row_id: self.row_id,
            op: self.op,
            field: self.field,
            value: self.value,
            base: self.base,
        }
    }
}

/// A change as another replica receives it (what a pull hands out).
impl From<Change> for lighttouch_protocol::PulledChange {
    fn from(c: Change) -> Self {
        lighttouch_protocol::PulledChange {
            hlc: c.hlc,
            entity: c.entity,
            row_id: c.row_id,
            op: c.op,
            field: c.field,
            value: c.value,
            base: c.base,
        }
    }
}

pub struct Writer<'b> {
    tx: Transaction<'b>,
    hlc: &'b mut HlcGenerator,
    now: DateTime<Utc>,
    touched: BTreeSet<String>,
    tags_changed: bool,
    /// Customers whose recommendation profile this write changes.
    affected: Touched,
}

impl Book {
    /// Runs `f` in one transaction. Everything `f` wrote commits together or
    /// not at all; the in-memory search index follows after the commit.
    pub fn write<T>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let now = self.now();
        let saved_clock = self.hlc.clone();
        let result = (|| {
            let tx = self.conn.transaction()?;
            let mut w = Writer {
                tx,
                hlc: &mut self.hlc,
                now,
                touched: BTreeSet::new(),
                tags_changed: false,
                affected: Touched::none(),
            };
            let value = f(&mut w)?;
            let tags_changed = w.tags_changed;
            let affected = std::mem::replace(&mut w.affected, Touched::none());
            let touched = w.finish()?;
            Ok((value, touched, tags_changed, affected))
        })();
        match result {
            Ok((value, touched, tags_changed, affected)) => {
                self.committed(affected);
                if let Some(index) = self.index.as_mut() {
                    search::refresh(&self.conn, index, &touched, tags_changed)?;
                }
                Ok(value)
            }
            Err(e) => {
                // Stamps issued inside the rolled-back transaction never existed.
                self.hlc = saved_clock;
                Err(e)
            }
        }
    }

    /// Changes recorded after `after_seq`, oldest first.
    pub fn changes_since(&self, after_seq: i64, limit: usize) -> Result<Vec<Change>> {
        read_changes(&self.conn, after_seq, limit)
    }
}

/// Outbox entries after `after_seq`, oldest first (also inside a transaction).
pub(crate) fn read_changes(
    conn: &rusqlite::Connection,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<Change>> {
    let mut stmt = conn.prepare(
        "SELECT seq, hlc, entity, row_id, op, field, value, base FROM changes
         WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![after_seq, limit], |r| {
        let value: Option<String> = r.get(6)?;
        Ok(Change {
            seq: r.get(0)?,
            hlc: r.get(1)?,
            entity: r.get(2)?,
            row_id: r.get(3)?,
            op: r.get(4)?,
            field: r.get(5)?,
            value: value.and_then(|v| serde_json::from_str(&v).ok()),
            base: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl<'b> Writer<'b> {
    /// The time this write happens at (one instant for the whole transaction).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn now_text(&self) -> String {
        self.now
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// Read access inside the transaction (sees this transaction's own writes).
    pub fn conn(&self) -> &rusqlite::Connection {
        &self.tx
    }

    fn stamp(&mut self) -> Hlc {
        let millis = self.now.timestamp_millis().max(0) as u64;
        self.hlc.tick(millis)
    }

    /// Inserts a new row with the given fields and records it.
    pub fn insert(&mut self, entity: Entity, id: &str, fields: &[(&str, Value)]) -> Result<Hlc> {
        for (name, _) in fields {
            entity.check_column(name)?;
        }
        let hlc = self.stamp();
        insert_row(
            &self.tx,
            entity,
            id,
            &hlc.to_string(),
            fields.iter().map(|(n, v)| (*n, v)),
            OnConflict::Fail,
        )?;
        let object: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        self.record(
            &hlc,
            entity,
            id,
            "insert",
            None,
            Some(&Value::Object(object)),
        )?;
        self.touch_for(entity, id)?;
        Ok(hlc)
    }

    /// Sets one field. Returns false (and records nothing) when it already holds `value`.
    pub fn update(&mut self, entity: Entity, id: &str, field: &str, value: &Value) -> Result<bool> {
        entity.check_column(field)?;
        let current: Option<(SqlValue, String)> = self
            .tx
            .prepare_cached(&format!(
                "SELECT {field}, hlc FROM {} WHERE id = ?1",
                entity.table()
            ))?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((current, row_hlc)) = current else {
            return Err(entity.not_found(id));
        };
        let new = to_sql(value);
        if current == new {
            return Ok(false);
        }
        // The stamp of the value being replaced: this edit knowingly overwrites it.
        let base = field_stamp(&self.tx, entity, id, field)?
            .map(|(hlc, _)| hlc)
            .unwrap_or(row_hlc);
        let hlc = self.stamp();
        self.tx
            .prepare_cached(&format!(
                "UPDATE {} SET {field} = ?1 WHERE id = ?2",
                entity.table()
            ))?
            .execute(params![new, id])?;
        set_field_stamp(&self.tx, entity, id, field, &hlc.to_string(), Some(&base))?;
        self.record_with_base(
            &hlc,
            entity,
            id,
            "set",
            Some(field),
            Some(value),
            Some(&base),
        )?;
        self.touch_for(entity, id)?;
        Ok(true)
    }

    /// Adds `tag_id` to a customer's set. Returns false when it was already present.
    pub fn add_tag_link(&mut self, customer_id: &str, tag_id: &str) -> Result<bool> {
        let existing: Option<(String, Option<String>)> = self
            .tx
            .prepare_cached(
                "SELECT added_hlc, removed_hlc FROM customer_tags
                 WHERE customer_id = ?1 AND tag_id = ?2",
            )?
            .query_row([customer_id, tag_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((added, removed)) = &existing {
            if link_present(added, removed.as_deref()) {
                return Ok(false);
            }
        }
        let hlc = self.stamp();
        self.tx
            .prepare_cached(
                "INSERT INTO customer_tags(customer_id, tag_id, added_hlc) VALUES (?1, ?2, ?3)
                 ON CONFLICT(customer_id, tag_id) DO UPDATE SET added_hlc = excluded.added_hlc",
            )?
            .execute(params![customer_id, tag_id, hlc.to_string()])?;
        let row = format!("{customer_id}/{tag_id}");
        self.record(&hlc, Entity::CustomerTag, &row, "add", None, None)?;
        self.touched.insert(customer_id.to_string());
        Ok(true)
    }

    /// Removes `tag_id` from a customer's set. Only the adds seen here are
    /// removed, so an add made concurrently elsewhere survives (add wins).
    pub fn remove_tag_link(&mut self, customer_id: &str, tag_id: &str) -> Result<bool> {
        let existing: Option<(String, Option<String>)> = self
            .tx
            .prepare_cached(
                "SELECT added_hlc, removed_hlc FROM customer_tags
                 WHERE customer_id = ?1 AND tag_id = ?2",
            )?
            .query_row([customer_id, tag_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((added, removed)) = existing else {
            return Ok(false);
        };
        if !link_present(&added, removed.as_deref()) {
            return Ok(false);
        }
        let hlc = self.stamp();
        self.tx
            .prepare_cached(
                "UPDATE customer_tags SET removed_hlc = ?1 WHERE customer_id = ?2 AND tag_id = ?3",
            )?
            .execute(params![added, customer_id, tag_id])?;
        let row = format!("{customer_id}/{tag_id}");
        self.record(
            &hlc,
            Entity::CustomerTag,
            &row,
            "remove",
            None,
            Some(&Value::String(added)),
        )?;
        self.touched.insert(customer_id.to_string());
        Ok(true)
    }

    /// Erases a customer's personal data for good (a PIPL/GDPR deletion
    /// request): personal fields are wiped, notes, purchases, touchpoints and
    /// drafts are deleted, and earlier outbox entries lose their values. What
    /// remains is a tombstone (ID and erasure time) so other devices erase too.
    pub fn erase_customer(&mut self, id: &str) -> Result<()> {
        let exists: bool = self
            .tx
            .prepare_cached("SELECT 1 FROM customers WHERE id = ?1")?
            .exists([id])?;
        if !exists {
            return Err(BookError::CustomerNotFound(id.to_string()));
        }
        let hlc = self.stamp();
        let now = self.now_text();
        wipe_customer(&self.tx, id, &now, &hlc.to_string())?;
        self.record(&hlc, Entity::Customer, id, "erase", None, None)?;
        self.touched.insert(id.to_string());
        Ok(())
    }

    fn record(
        &mut self,
        hlc: &Hlc,
        entity: Entity,
        row_id: &str,
        op: &str,
        field: Option<&str>,
        value: Option<&Value>,
    ) -> Result<()> {
        self.record_with_base(hlc, entity, row_id, op, field, value, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn record_with_base(
        &mut self,
        hlc: &Hlc,
        entity: Entity,
        row_id: &str,
        op: &str,
        field: Option<&str>,
        value: Option<&Value>,
        base: Option<&str>,
    ) -> Result<()> {
        check_outgoing(entity, field, value)?;
        self.note_affected(entity, row_id, op, value)?;
        let value = value.map(|v| v.to_string());
        if value.as_ref().is_some_and(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(BookError::invalid(
                field.unwrap_or(entity.as_str()),
                format!("too large to sync (more than {MAX_VALUE_BYTES} bytes)"),
            ));
        }
        self.tx
            .prepare_cached(
                "INSERT INTO changes(hlc, entity, row_id, op, field, value, base)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                hlc.to_string(),
                entity.as_str(),
                row_id,
                op,
                field,
                value,
                base
            ])?;
        Ok(())
    }

    /// Notes which customers' search keys this write may have changed.
    fn touch_for(&mut self, entity: Entity, id: &str) -> Result<()> {
        let sql = match entity {
            Entity::Customer => {
                self.touched.insert(id.to_string());
                return Ok(());
            }
            Entity::Note => "SELECT customer_id FROM notes WHERE id = ?1",
            Entity::Tag => {
                self.tags_changed = true;
                "SELECT customer_id FROM customer_tags WHERE tag_id = ?1"
            }
            // Other rows do not feed the search keys.
            _ => return Ok(()),
        };
        let mut stmt = self.tx.prepare_cached(sql)?;
        let ids = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        for customer in ids {
            self.touched.insert(customer?);
        }
        Ok(())
    }

    fn note_affected(
        &mut self,
        entity: Entity,
        row_id: &str,
        op: &str,
        value: Option<&Value>,
    ) -> Result<()> {
        match entity {
            Entity::Customer => self.affected.add(row_id),
            Entity::CustomerTag => {
                if let Some((customer, _)) = row_id.split_once('/') {
                    self.affected.add(customer);
                }
            }
            Entity::Note
            | Entity::Purchase
            | Entity::Touchpoint
            | Entity::Draft
            | Entity::FollowUp => {
                let named = value
                    .and_then(|v| v.get("customer_id"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let customer = match (op, named) {
                    ("insert", Some(c)) => Some(c),
                    _ => self
                        .tx
                        .prepare_cached(&format!(
                            "SELECT customer_id FROM {} WHERE id = ?1",
                            entity.table()
                        ))?
                        .query_row([row_id], |r| r.get::<_, String>(0))
                        .optional()?,
                };
                if let Some(c) = customer {
                    self.affected.add(&c);
                }
            }
            Entity::Tag | Entity::ContentItem => self.affected = Touched::Everything,
            Entity::NoteRevision | Entity::TalkScript => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<BTreeSet<String>> {
        for customer in &self.touched {
            search::write_doc(&self.tx, customer)?;
        }
        meta_set(&self.tx, "hlc_last", &self.hlc.last().to_string())?;
        self.tx.commit()?;
        Ok(self.touched)
    }
}

/// Wipes a customer's personal data and everything attached, leaving the
/// tombstone (ID, erasure time). Earlier outbox entries lose their values too.
pub(crate) fn wipe_customer(
    tx: &rusqlite::Connection,
    id: &str,
    now: &str,
    hlc: &str,
) -> Result<()> {
    // Outbox entries of the customer's own rows carry personal values.
    tx.execute(
        "UPDATE changes SET value = NULL WHERE entity = 'customer' AND row_id = ?1",
        [id],
    )?;
    for (entity, table) in [
        ("note", "notes"),
        ("purchase", "purchases"),
        ("touchpoint", "touchpoints"),
        ("draft", "drafts"),
        ("follow_up", "follow_ups"),
    ] {
        tx.execute(
            &format!(
                "UPDATE changes SET value = NULL WHERE entity = '{entity}'
                     AND row_id IN (SELECT id FROM {table} WHERE customer_id = ?1)"
            ),
            [id],
        )?;
    }
    tx.execute(
        "UPDATE changes SET value = NULL WHERE entity = 'note_revision'
             AND row_id IN (SELECT r.id FROM note_revisions r JOIN notes n ON n.id = r.note_id
                            WHERE n.customer_id = ?1)",
        [id],
    )?;
    // Lost values kept for restoring are personal data too.
    tx.execute(
            "DELETE FROM conflicts WHERE (entity = 'customer' AND row_id = ?1)
                OR (entity = 'note' AND row_id IN (SELECT id FROM notes WHERE customer_id = ?1))
                OR (entity = 'purchase' AND row_id IN (SELECT id FROM purchases WHERE customer_id = ?1))
                OR (entity = 'touchpoint' AND row_id IN (SELECT id FROM touchpoints WHERE customer_id = ?1))
                OR (entity = 'draft' AND row_id IN (SELECT id FROM drafts WHERE customer_id = ?1))
                OR (entity = 'follow_up' AND row_id IN (SELECT id FROM follow_ups WHERE customer_id = ?1))",
            [id],
        )?;
    tx.execute(
        "DELETE FROM note_revisions WHERE note_id IN (SELECT id FROM notes WHERE customer_id = ?1)",
        [id],
    )?;
    for table in [
        "notes",
        "purchases",
        "touchpoints",
        "drafts",
        "customer_tags",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE customer_id = ?1"), [id])?;
    }
    tx.execute(
        "DELETE FROM field_clocks WHERE entity = 'customer' AND row_id = ?1",
        [id],
    )?;
    tx.execute(
        "UPDATE customers SET name = '', gender = NULL, phone = NULL, phone2 = NULL,
                wechat = NULL, email = NULL, birthday = NULL, birthday_calendar = 'solar',
                anniversary = NULL, anniversary_calendar = 'solar', language = NULL,
                ring_size = NULL, wrist_size = NULL, clothing_size = NULL, shoe_size = NULL,
                preferred_metals = NULL, preferred_stones = NULL, preferred_styles = NULL,
                preferred_colors = NULL, budget = NULL, stage = NULL, consent_marketing = 0,
                consent_at = NULL, consent_source = NULL, do_not_contact = 1,
                erased_at = ?2, hlc = ?3
             WHERE id = ?1",
        params![id, now, hlc],
    )?;
    Ok(())
}

/// What an insert does when a row with its `id` exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum OnConflict {
    Fail,
    Ignore,
}

/// Inserts one row (`id`, `hlc` and the given columns, all whitelisted by
/// `Entity`). Returns rows written.
///
/// A first sync inserts a million rows through here: the statement text is
/// made once per set of columns (in the entity's column order, whatever the
/// order given) and strings are bound without copying.
pub(crate) fn insert_row<'v>(
    conn: &rusqlite::Connection,
    entity: Entity,
    id: &str,
    hlc: &str,
    fields: impl Iterator<Item = (&'v str, &'v Value)>,
    on_conflict: OnConflict,
) -> Result<usize> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    let columns = entity.columns();
    let mut present: Vec<(usize, &Value)> = Vec::with_capacity(columns.len());
    let mut mask: u64 = 0;
    for (name, value) in fields {
        let Some(i) = columns.iter().position(|c| c.name == name) else {
            return Err(BookError::invalid(
                name,
                format!("not a field of {}", entity.as_str()),
            ));
        };
        if mask & (1 << i) == 0 {
            mask |= 1 << i;
            present.push((i, value));
        }
    }
    present.sort_unstable_by_key(|(i, _)| *i);
    let sql = INSERT_SQL.with(|cache| {
        cache
            .borrow_mut()
            .entry((entity, mask, on_conflict))
            .or_insert_with(|| {
                let mut cols = vec!["id", "hlc"];
                cols.extend(present.iter().map(|(i, _)| columns[*i].name));
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                let tail = match on_conflict {
                    OnConflict::Fail => "",
                    OnConflict::Ignore => " ON CONFLICT(id) DO NOTHING",
                };
                std::rc::Rc::from(format!(
                    "INSERT INTO {} ({}) VALUES ({}){tail}",
                    entity.table(),
                    cols.join(", "),
                    marks.join(", ")
                ))
            })
            .clone()
    });
    let mut values: Vec<ToSqlOutput<'_>> = Vec::with_capacity(present.len() + 2);
    values.push(ToSqlOutput::Borrowed(ValueRef::Text(id.as_bytes())));
    values.push(ToSqlOutput::Borrowed(ValueRef::Text(hlc.as_bytes())));
    values.extend(present.iter().map(|(_, v)| match v {
        Value::String(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        other => ToSqlOutput::Owned(to_sql(other)),
    }));
    Ok(conn
        .prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values))?)
}

thread_local! {
    /// Insert statements by entity and set of columns (a bit per column).
    static INSERT_SQL: std::cell::RefCell<
        std::collections::HashMap<(Entity, u64, OnConflict), std::rc::Rc<str>>,
    > = Default::default();
}

/// The stamp (and its base) of one field's current value, when the field was
/// edited after the row was created; otherwise the row's own `hlc` applies.
pub(crate) fn field_stamp(
    conn: &rusqlite::Connection,
    entity: Entity,
    id: &str,
    field: &str,
) -> Result<Option<(String, Option<String>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT hlc, base FROM field_clocks WHERE entity = ?1 AND row_id = ?2 AND field = ?3",
        )?
        .query_row(params![entity.as_str(), id, field], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

pub(crate) fn set_field_stamp(
    conn: &rusqlite::Connection,
    entity: Entity,
    id: &str,
    field: &str,
    hlc: &str,
    base: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO field_clocks(entity, row_id, field, hlc, base) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(entity, row_id, field) DO UPDATE SET hlc = excluded.hlc, base = excluded.base",
    )?
    .execute(params![entity.as_str(), id, field, hlc, base])?;
    Ok(())
}

/// The server's limits, applied where a change is made: a value the server
/// would refuse never reaches the outbox, so no change can wedge a book's
/// sync. (The size of the whole value is checked once it is written out.)
fn check_outgoing(entity: Entity, field: Option<&str>, value: Option<&Value>) -> Result<()> {
    use lighttouch_protocol::schema::{check_value, ValueProblem};
    let fields: Vec<(&str, &Value)> = match (field, value) {
        (_, None) => return Ok(()),
        (Some(f), Some(v)) => vec![(f, v)],
        (None, Some(Value::Object(map))) => map.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        (None, Some(_)) => return Ok(()),
    };
    for (name, v) in fields {
        let Some(column) = entity.column(name) else {
            continue; // tag links and removals carry stamps, not columns
        };
        if let Err(e) = check_value(entity, column, v) {
            return Err(match e.problem {
                ValueProblem::Missing => BookError::missing(name, e.message),
                ValueProblem::TooLong(max) => BookError::too_long(name, max),
                ValueProblem::WrongType => BookError::invalid(name, e.message),
            });
        }
    }
    Ok(())
}

pub(crate) fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}
