//! Forward-only migrations, tracked in `PRAGMA user_version`. Each runs in its
//! own transaction, so a crash leaves the book at the previous version.

use crate::error::{BookError, Result};
use rusqlite::Connection;

/// Every migration ever shipped, in order. Never edit one; append.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_import_batches.sql"),
    include_str!("migrations/0003_sync.sql"),
    include_str!("migrations/0004_recommendations.sql"),
    include_str!("migrations/0005_quarantine.sql"),
    include_str!("migrations/0006_content_skus.sql"),
    include_str!("migrations/0007_derived.sql"),
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings the database to `target`; tests use it to build a book of an older version.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(BookError::NewerSchema {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}
