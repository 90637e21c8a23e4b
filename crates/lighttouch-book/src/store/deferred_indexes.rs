//! Secondary indexes set aside while a whole store's history is loaded.
//!
//! A first sync inserts about ten rows per customer, and every non-unique
//! index on them (notes by customer, purchases by date, …) would take each
//! row at a random place, rewriting index pages page after page. Building an
//! index once at the end sorts instead. Unique indexes stay: merges rely on
//! them.
//!
//! The statements that recreate the indexes are kept in `meta` in the same
//! transaction that drops them, so a load cut short (a crash, a kill) leaves
//! a book that gets its indexes back the next time it is opened.

use crate::error::Result;
use crate::store::{meta_get, meta_set};
use rusqlite::{Connection, OptionalExtension};

const DEFERRED_INDEXES: &str = "deferred_indexes";

/// Drops the non-unique indexes of `tables`, remembering how to recreate
/// them. Does nothing when they are already set aside. Call inside the
/// load's first transaction.
pub(crate) fn defer(conn: &Connection, tables: &[&str]) -> Result<()> {
    if meta_get(conn, DEFERRED_INDEXES)?.is_some() {
        return Ok(());
    }
    let mut indexes: Vec<SetAside> = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT name, tbl_name, sql FROM sqlite_master
             WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (name, table, sql): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let unique = sql
                .trim_start()
                .get(..13)
                .is_some_and(|p| p.eq_ignore_ascii_case("CREATE UNIQUE"));
            if !unique && tables.contains(&table.as_str()) {
                indexes.push(SetAside { name, table, sql });
            }
        }
    }
    save(conn, &indexes)?;
    for index in &indexes {
        conn.execute_batch(&format!(
            "DROP INDEX \"{}\"",
            index.name.replace('"', "\"\"")
        ))?;
    }
    Ok(())
}

/// One index set aside, with what recreates it word for word.
#[derive(serde::Serialize, serde::Deserialize)]
struct SetAside {
    name: String,
    table: String,
    sql: String,
}

fn save(conn: &Connection, indexes: &[SetAside]) -> Result<()> {
    if indexes.is_empty() {
        conn.execute("DELETE FROM meta WHERE key = ?1", [DEFERRED_INDEXES])?;
    } else {
        let json = serde_json::to_string(indexes).expect("strings serialise");
        meta_set(conn, DEFERRED_INDEXES, &json)?;
    }
    Ok(())
}

/// Recreates the indexes [`defer`] set aside, if any. Call inside the
/// load's last transaction, and when a book is opened.
pub(crate) fn restore(conn: &Connection) -> Result<bool> {
    restore_except(conn, &[])
}

/// [`restore`], but the indexes of `tables` stay aside (for the rows still
/// to be written there).
pub(crate) fn restore_except(conn: &Connection, tables: &[&str]) -> Result<bool> {
    let has_meta = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !has_meta {
        return Ok(false);
    }
    let Some(json) = meta_get(conn, DEFERRED_INDEXES)? else {
        return Ok(false);
    };
    // A mark that does not parse holds nothing to restore; it must not keep
    // the book from opening.
    let indexes: Vec<SetAside> = serde_json::from_str(&json).unwrap_or_default();
    let (later, now): (Vec<SetAside>, Vec<SetAside>) = indexes
        .into_iter()
        .partition(|i| tables.contains(&i.table.as_str()));
    for SetAside { name, sql, .. } in now {
        // Restoring twice, or after a migration made one again, is harmless;
        // the statement is kept word for word, as the schema had it.
        let exists = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [&name],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            conn.execute_batch(&sql)?;
        }
    }
    save(conn, &later)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexes(conn: &Connection) -> Vec<String> {
        conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    fn schema(conn: &Connection) -> Vec<(String, Option<String>)> {
        conn.prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE notes (id TEXT PRIMARY KEY, customer_id TEXT, at TEXT);
             CREATE INDEX notes_customer ON notes(customer_id);
             CREATE INDEX notes_at ON notes(at) WHERE at IS NOT NULL;
             CREATE UNIQUE INDEX notes_pair ON notes(customer_id, at);
             CREATE TABLE other (x TEXT);
             CREATE INDEX other_x ON other(x);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn non_unique_indexes_of_the_named_tables_go_and_come_back_as_they_were() {
        let conn = db();
        let before = schema(&conn);
        defer(&conn, &["notes"]).unwrap();
        assert_eq!(indexes(&conn), vec!["notes_pair", "other_x"]);
        defer(&conn, &["notes"]).unwrap(); // again: the first list is kept
        assert!(restore(&conn).unwrap());
        assert_eq!(schema(&conn), before, "word for word, partial ones too");
        assert!(!restore(&conn).unwrap(), "nothing left to restore");
    }

    #[test]
    fn some_tables_may_wait() {
        let conn = db();
        let before = schema(&conn);
        defer(&conn, &["notes", "other"]).unwrap();
        assert!(restore_except(&conn, &["other"]).unwrap());
        assert!(indexes(&conn).contains(&"notes_customer".to_string()));
        assert!(!indexes(&conn).contains(&"other_x".to_string()));
        assert!(restore(&conn).unwrap());
        assert_eq!(schema(&conn), before);
        assert!(!restore(&conn).unwrap());
    }

    #[test]
    fn restoring_twice_or_over_an_index_made_again_is_harmless() {
        let conn = db();
        defer(&conn, &["notes"]).unwrap();
        conn.execute_batch("CREATE INDEX notes_customer ON notes(customer_id)")
            .unwrap();
        assert!(restore(&conn).unwrap());
        assert!(indexes(&conn).contains(&"notes_at".to_string()));
    }

    #[test]
    fn a_database_without_meta_opens_untouched() {
        let conn = Connection::open_in_memory().unwrap();
        assert!(!restore(&conn).unwrap());
    }
}
