//! Changes kept aside so that sync never stops behind one of them: a pulled
//! change this book cannot apply (a buggy or newer client wrote it), or one
//! of the book's own that the server refused or that could not be sent.
//! Each is kept whole, with the reason, and counted in the sync status.

use crate::error::{BookError, Result};
use crate::store::Book;
use lighttouch_protocol::PulledChange;
use rusqlite::{params, Connection, OptionalExtension};

/// One kept-aside change, as the status view lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QuarantinedChange {
    pub id: i64,
    /// `in`: pulled, could not be applied here; `out`: this book's own,
    /// refused by the server or not sendable.
    pub direction: String,
    pub entity: String,
    pub row_id: String,
    /// The field a `set` named.
    pub field: Option<String>,
    /// The customer the change was about, when this book knows them.
    pub customer_id: Option<String>,
    pub customer_name: Option<String>,
    pub code: String,
    pub message: String,
    /// RFC 3339.
    pub at: String,
}

/// Whether an error applying one change is that change's fault (keep it
/// aside and go on) rather than the book's or the disk's (stop and retry).
pub(crate) fn is_the_changes_fault(e: &BookError) -> bool {
    use rusqlite::ErrorCode;
    match e {
        BookError::Database(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch | ErrorCode::TooBig
        ),
        BookError::Database(
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::ToSqlConversionFailure(_)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..),
        ) => true,
        BookError::Database(_) | BookError::Io { .. } => false,
        _ => true,
    }
}

pub(crate) fn keep_incoming(
    conn: &Connection,
    change: &PulledChange,
    code: &str,
    message: &str,
    now: &str,
) -> Result<()> {
    let json = serde_json::to_string(change).map_err(|e| BookError::InvalidInput(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO quarantine(direction, change, code, message, at) VALUES ('in', ?1, ?2, ?3, ?4)
         ON CONFLICT(change) WHERE direction = 'in' DO NOTHING",
    )?
    .execute(params![json, code, message, now])?;
    Ok(())
}

/// Tries again the pulled changes kept aside for what the book refused
/// (not for failing the schema, which will not change): one that named a
/// row this book did not have yet applies once the row has arrived. Each
/// that applies leaves the list; the rest stay.
pub(crate) fn retry_incoming(
    tx: &mut rusqlite::Transaction<'_>,
    now: &str,
    applied: &mut super::apply::Applied,
) -> Result<usize> {
    let waiting: Vec<(i64, String)> = tx
        .prepare_cached(
            "SELECT id, change FROM quarantine
             WHERE direction = 'in' AND code <> 'invalid' AND dismissed_at IS NULL ORDER BY id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut done = 0;
    for (id, json) in waiting {
        let Ok(change) = serde_json::from_str::<PulledChange>(&json) else {
            continue;
        };
        let sp = tx.savepoint()?;
        match super::apply::apply_change(&sp, &change, now, applied) {
            Ok(()) => {
                sp.execute("DELETE FROM quarantine WHERE id = ?1", [id])?;
                sp.commit()?;
                done += 1;
            }
            Err(e) if is_the_changes_fault(&e) => {
                drop(sp);
                applied.forget_lookups();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Records one of this book's own changes as kept back (once per change).
pub(crate) fn keep_outgoing(
    conn: &Connection,
    seq: i64,
    change: &serde_json::Value,
    code: &str,
    message: &str,
    now: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO quarantine(direction, seq, change, code, message, at)
         VALUES ('out', ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(seq) WHERE direction = 'out' DO NOTHING",
    )?
    .execute(params![seq, change.to_string(), code, message, now])?;
    Ok(())
}

impl Book {
    /// Kept-aside changes not yet dismissed, newest first.
    pub fn quarantined_changes(&self) -> Result<Vec<QuarantinedChange>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, direction, change, code, message, at FROM quarantine
             WHERE dismissed_at IS NULL ORDER BY id DESC",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, direction, change, code, message, at) in rows {
            let v: serde_json::Value = serde_json::from_str(&change).unwrap_or_default();
            let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(str::to_string);
            let entity = text("entity").unwrap_or_default();
            let row_id = text("row_id").unwrap_or_default();
            let customer_id = match entity.as_str() {
                "customer" => Some(row_id.clone()),
                "customer_tag" => row_id.split_once('/').map(|(c, _)| c.to_string()),
                _ => v
                    .pointer("/value/customer_id")
                    .and_then(|c| c.as_str())
                    .map(str::to_string),
            };
            let customer_name = match &customer_id {
                Some(c) => self
                    .conn
                    .query_row(
                        "SELECT name FROM customers WHERE id = ?1 AND erased_at IS NULL",
                        [c],
                        |r| r.get(0),
                    )
                    .optional()?,
                None => None,
            };
            out.push(QuarantinedChange {
                id,
                direction,
                field: text("field"),
                entity,
                row_id,
                customer_id,
                customer_name,
                code,
                message,
                at,
            });
        }
        Ok(out)
    }

    pub(crate) fn quarantined_count(&self) -> Result<u32> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM quarantine WHERE dismissed_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u32)
    }

    /// Takes one off the list (it stays on record).
    pub fn dismiss_quarantined(&mut self, id: i64) -> Result<()> {
        let at = self
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let n = self.conn.execute(
            "UPDATE quarantine SET dismissed_at = ?1 WHERE id = ?2 AND dismissed_at IS NULL",
            params![at, id],
        )?;
        if n == 0 {
            return Err(BookError::InvalidInput(format!(
                "no kept-aside change with id {id}"
            )));
        }
        Ok(())
    }
}
