//! SQLite storage: one file, nothing to install. One connection behind a
//! mutex (SQLite has one writer anyway); work runs on the blocking pool.

use super::log::{self, DeviceRange};
use super::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/sqlite_0001.sql"),
    include_str!("migrations/sqlite_0002.sql"),
    include_str!("migrations/sqlite_0003.sql"),
];

pub struct SqliteStorage {
    conn: Arc<Mutex<Connection>>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

fn role(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Associate)
}

impl SqliteStorage {
    pub fn open(path: &Path) -> StorageResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StorageError::Database(format!("{}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
        )?;
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > MIGRATIONS.len() as i64 {
            return Err(StorageError::Invalid(format!(
                "this database was written by a newer server (schema {current}); please update"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(SqliteStorage {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    ) -> StorageResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Database(e.to_string()))?
    }
}

impl SqliteStorage {
    /// Runs one of the log's flows in an immediate transaction on the
    /// blocking pool.
    async fn in_log_transaction<T: Send + 'static>(
        &self,
        flow: impl FnOnce(&SqliteLog<'_>) -> StorageResult<T> + Send + 'static,
    ) -> StorageResult<T> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = flow(&SqliteLog { tx: &tx })?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

impl SqliteLog<'_> {
    /// (number, text) rows of a query over a device's numbers.
    fn numbered(&self, sql: &str, range: DeviceRange) -> StorageResult<Vec<(i64, String)>> {
        let mut stmt = self.tx.prepare_cached(sql)?;
        let rows = stmt.query_map(
            params![range.device.to_string(), range.first, range.last],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn upsert_owners(
        &self,
        owners: &[log::OwnerRow],
        stream: i64,
        only: &str,
    ) -> StorageResult<()> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "INSERT INTO customer_owners(stream_id, customer_id, owner, hlc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(stream_id, customer_id) DO UPDATE
             SET owner = excluded.owner, hlc = excluded.hlc {only}"
        ))?;
        for (customer, owner, hlc) in owners {
            stmt.execute(params![stream, customer, owner, hlc])?;
        }
        Ok(())
    }
}

/// Drives a flow's future on the blocking pool's thread: SQLite's queries
/// never wait, so it completes without yielding to anything.
fn drive<F: std::future::Future>(flow: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(flow)
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: role(&r.get::<_, String>(3)?),
        store_id: r.get(4)?,
        store: r.get(5)?,
        password_hash: r.get(6)?,
    })
}

const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.store_id, s.name, u.password_hash
     FROM users u JOIN stores s ON s.id = u.store_id";

#[async_trait]
impl Storage for SqliteStorage {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn create_store(&self, name: &str, now: DateTime<Utc>) -> StorageResult<StoreRow> {
        let name = name.to_string();
        self.run(move |c| {
            let tx = c.transaction()?;
            if tx
                .prepare("SELECT 1 FROM stores WHERE name = ?1")?
                .exists([&name])?
            {
                return Err(StorageError::Conflict(format!(
                    "a store named {name:?} exists"
                )));
            }
            tx.execute(
                "INSERT INTO stores(name, created_at) VALUES (?1, ?2)",
                params![name, ts(now)],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute("INSERT INTO streams(id, last_seq) VALUES (?1, 0)", [id])?;
            tx.commit()?;
            Ok(StoreRow { id, name })
        })
        .await
    }

    async fn stores(&self) -> StorageResult<Vec<StoreRow>> {
        self.run(|c| {
            let mut stmt = c.prepare("SELECT id, name FROM stores ORDER BY name")?;
            let rows = stmt.query_map([], |r| {
                Ok(StoreRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn create_user(&self, user: &NewUser, now: DateTime<Utc>) -> StorageResult<UserRow> {
        let user = user.clone();
        self.run(move |c| {
            let tx = c.transaction()?;
            let store: Option<i64> = tx
                .query_row("SELECT id FROM stores WHERE name = ?1", [&user.store], |r| r.get(0))
                .optional()?;
            let store = store.ok_or_else(|| StorageError::NotFound(format!("no store named {:?}", user.store)))?;
            if tx
                .prepare("SELECT 1 FROM users WHERE username = ?1")?
                .exists([&user.username])?
            {
                return Err(StorageError::Conflict(format!("user {:?} exists", user.username)));
            }
            tx.execute(
                "INSERT INTO users(username, display_name, store_id, role, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![user.username, user.display_name, store, user.role.as_str(), user.password_hash, ts(now)],
            )?;
            let row = tx.query_row(
                &format!("SELECT {USER_COLUMNS} WHERE u.username = ?1"),
                [&user.username],
                user_row,
            )?;
            tx.commit()?;
            Ok(row)
        })
        .await
    }

    async fn user(&self, username: &str) -> StorageResult<Option<UserRow>> {
        let username = username.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLUMNS} WHERE u.username = ?1"),
                [&username],
                user_row,
            )
            .optional()?)
        })
        .await
    }

    async fn users(&self) -> StorageResult<Vec<UserRow>> {
        self.run(|c| {
            let mut stmt = c.prepare(&format!("SELECT {USER_COLUMNS} ORDER BY u.username"))?;
            let rows = stmt.query_map([], user_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep: Option<&str>,
    ) -> StorageResult<()> {
        let (username, hash) = (username.to_string(), password_hash.to_string());
        let keep = keep.map(str::to_string);
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE username = ?2",
                params![hash, username],
            )?;
            if n == 0 {
                return Err(StorageError::NotFound(format!("no user {username:?}")));
            }
            // Every other session ends: its token can no longer match anything.
            tx.execute(
                "UPDATE devices SET token_hash = 'ended:' || lower(hex(randomblob(32)))
                 WHERE user_id = (SELECT id FROM users WHERE username = ?1)
                   AND (?2 IS NULL OR token_hash <> ?2)",
                params![username, keep],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn begin_login_attempt(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StorageResult<Result<(), std::time::Duration>> {
        let keys = keys.to_vec();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut counts = Vec::with_capacity(keys.len());
            for key in &keys {
                let row: Option<(i64, String)> = tx
                    .query_row(
                        "SELECT failures, last_at FROM login_failures WHERE key = ?1",
                        [key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let (failures, last) = row.map_or((0, now), |(n, at)| (n, parse_ts(&at)));
                match count_attempt(key, failures, last, now) {
                    Ok(n) => counts.push(n),
                    Err(wait) => return Ok(Err(wait)),
                }
            }
            for (key, n) in keys.iter().zip(counts) {
                tx.execute(
                    "INSERT INTO login_failures(key, failures, last_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at",
                    params![key, n, ts(now)],
                )?;
            }
            // Old entries go, so the table stays as small as the attacks are recent.
            tx.execute(
                "DELETE FROM login_failures WHERE last_at < ?1",
                [ts(now - chrono::Duration::hours(LOGIN_MEMORY_HOURS))],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn finish_good_login(&self, clear: &str, undo: &str) -> StorageResult<()> {
        let (clear, undo) = (clear.to_string(), undo.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM login_failures WHERE key = ?1", [&clear])?;
            tx.execute(
                "UPDATE login_failures SET failures = MAX(failures - 1, 0) WHERE key = ?1",
                [&undo],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn register_device(
        &self,
        device_id: Uuid,
        fresh_id: Uuid,
        user_id: i64,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Uuid> {
        let (name, hash) = (name.to_string(), token_hash.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let store: i64 = tx.query_row("SELECT store_id FROM users WHERE id = ?1", [user_id], |r| r.get(0))?;
            let existing: Option<(i64, i64, bool)> = tx
                .query_row(
                    "SELECT store_id, user_id, revoked_at IS NOT NULL FROM devices WHERE id = ?1",
                    [device_id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let id = match bind_device(existing, store, user_id, device_id, fresh_id)? {
                DeviceBinding::Refresh => {
                    tx.execute(
                        "UPDATE devices SET name = ?1, token_hash = ?2, last_seen_at = ?3 WHERE id = ?4",
                        params![name, hash, ts(now), device_id.to_string()],
                    )?;
                    device_id
                }
                DeviceBinding::Register(id) => {
                    tx.execute(
                        "INSERT INTO devices(id, user_id, store_id, name, token_hash, created_at, last_seen_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                        params![id.to_string(), user_id, store, name, hash, ts(now)],
                    )?;
                    id
                }
            };
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    async fn reregister_device(
        &self,
        old: &DeviceAuth,
        new_id: Uuid,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        diverged_at: i64,
    ) -> StorageResult<Option<i64>> {
        let (old_id, user, store) = (old.device_id.to_string(), old.user_id, old.store_id);
        let (name, hash) = (name.to_string(), token_hash.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if tx.prepare("SELECT 1 FROM devices WHERE id = ?1")?.exists([new_id.to_string()])? {
                return Err(StorageError::Conflict("that device ID is taken; choose another".into()));
            }
            let n = tx.execute(
                "INSERT INTO devices(id, user_id, store_id, name, token_hash, created_at, last_seen_at,
                                     pulled_seq, served_seq)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6, pulled_seq, served_seq FROM devices
                 WHERE id = ?7 AND revoked_at IS NULL",
                params![new_id.to_string(), user, store, name, hash, ts(now), old_id],
            )?;
            if n == 0 {
                return Err(StorageError::NotFound("this device was revoked".into()));
            }
            let first: Option<i64> = tx.query_row(
                "SELECT MIN(seq) FROM changes
                 WHERE stream_id = ?1 AND device_id = ?2 AND device_seq >= ?3",
                params![store, old_id, diverged_at],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(first)
        })
        .await
    }

    async fn device_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<DeviceAuth>> {
        let hash = token_hash.to_string();
        self.run(move |c| {
            let found = c
                .query_row(
                    "SELECT d.id, u.id, u.username, u.display_name, u.role, d.store_id, s.name, d.last_seen_at
                     FROM devices d JOIN users u ON u.id = d.user_id JOIN stores s ON s.id = d.store_id
                     WHERE d.token_hash = ?1 AND d.revoked_at IS NULL",
                    [&hash],
                    |r| {
                        Ok((
                            DeviceAuth {
                                device_id: Uuid::parse_str(&r.get::<_, String>(0)?).unwrap_or_default(),
                                user_id: r.get(1)?,
                                username: r.get(2)?,
                                display_name: r.get(3)?,
                                role: role(&r.get::<_, String>(4)?),
                                store_id: r.get(5)?,
                                store: r.get(6)?,
                            },
                            r.get::<_, Option<String>>(7)?,
                        ))
                    },
                )
                .optional()?;
            let Some((auth, last_seen)) = found else {
                return Ok(None);
            };
            // Writing "last seen" on every request would serialise reads; once a minute is plenty.
            if last_seen.is_none_or(|s| (now - parse_ts(&s)).num_seconds() >= 60) {
                c.execute(
                    "UPDATE devices SET last_seen_at = ?1 WHERE id = ?2",
                    params![ts(now), auth.device_id.to_string()],
                )?;
            }
            Ok(Some(auth))
        })
        .await
    }

    async fn devices(&self, store_id: Option<i64>) -> StorageResult<Vec<DeviceInfo>> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT d.id, d.name, u.username, s.name, d.created_at, d.last_seen_at, d.revoked_at, d.pushed_seq
                 FROM devices d JOIN users u ON u.id = d.user_id JOIN stores s ON s.id = d.store_id
                 WHERE ?1 IS NULL OR d.store_id = ?1 ORDER BY s.name, u.username, d.created_at",
            )?;
            let rows = stmt.query_map([store_id], |r| {
                Ok(DeviceInfo {
                    device_id: Uuid::parse_str(&r.get::<_, String>(0)?).unwrap_or_default(),
                    name: r.get(1)?,
                    username: r.get(2)?,
                    store: r.get(3)?,
                    created_at: parse_ts(&r.get::<_, String>(4)?),
                    last_seen_at: r.get::<_, Option<String>>(5)?.map(|s| parse_ts(&s)),
                    revoked_at: r.get::<_, Option<String>>(6)?.map(|s| parse_ts(&s)),
                    pushed_seq: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn revoke_device(&self, device_id: Uuid, now: DateTime<Utc>) -> StorageResult<bool> {
        self.run(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
                params![ts(now), device_id.to_string()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn end_session(&self, token_hash: &str) -> StorageResult<()> {
        let hash = token_hash.to_string();
        self.run(move |c| {
            c.execute(
                "UPDATE devices SET token_hash = ?1 WHERE token_hash = ?2",
                params![ended_token(), hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn push(
        &self,
        pusher: &DeviceAuth,
        changes: Vec<IncomingChange>,
        now: DateTime<Utc>,
    ) -> StorageResult<PushOutcome> {
        let pusher = pusher.clone();
        self.in_log_transaction(move |q| drive(log::push(q, &pusher, changes, now)))
            .await
    }

    async fn pull(
        &self,
        store_id: i64,
        device_id: Uuid,
        cursor: Cursor,
        limit: u32,
        known_through: Option<i64>,
    ) -> StorageResult<PullPage> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let compacted: i64 = tx
                .query_row(
                    "SELECT compacted_through FROM streams WHERE id = ?1",
                    [store_id],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let device = device_id.to_string();
            let served: i64 = tx
                .query_row(
                    "SELECT served_seq FROM devices WHERE id = ?1",
                    [&device],
                    |r| r.get(0),
                )
                .optional()?
                // Only a registered device holds a token; tests read as others.
                .unwrap_or(i64::MAX);
            let mut page = PageBuilder::new(device_id, known_through, cursor, compacted, served, limit);
            // The cursor a device sends proves what it has applied.
            match page.pulled_mark(cursor) {
                PulledMark::Keep => {}
                PulledMark::Set(v) => {
                    tx.prepare_cached("UPDATE devices SET pulled_seq = ?1 WHERE id = ?2")?
                        .execute(params![v, device])?;
                }
                PulledMark::Raise(v) => {
                    tx.prepare_cached(
                        "UPDATE devices SET pulled_seq = MAX(pulled_seq, ?1) WHERE id = ?2",
                    )?
                    .execute(params![v, device])?;
                }
            }
            for (log, from) in page.logs(store_id) {
                let room = page.room();
                if room == 0 {
                    break;
                }
                let high: i64 = tx
                    .query_row("SELECT last_seq FROM streams WHERE id = ?1", [log], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .unwrap_or(0);
                let mut stmt = tx.prepare_cached(
                    "SELECT seq, device_id, hlc, entity, row_id, op, field, value, base, device_seq FROM changes
                     WHERE stream_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
                )?;
                let rows = stmt
                    .query_map(params![log, from, high, room], |r| {
                        Ok(LogRow {
                            seq: r.get(0)?,
                            device: r
                                .get::<_, Option<String>>(1)?
                                .and_then(|d| Uuid::parse_str(&d).ok()),
                            device_seq: r.get(9)?,
                            change: PulledChange {
                                hlc: r.get(2)?,
                                entity: r.get(3)?,
                                row_id: r.get(4)?,
                                op: r.get(5)?,
                                field: r.get(6)?,
                                // Sent as stored, never parsed here.
                                value: r
                                    .get::<_, Option<String>>(7)?
                                    .and_then(|v| RawValue::from_string(v).ok()),
                                base: r.get(8)?,
                            },
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                page.take(log, from, high, rows);
            }
            tx.prepare_cached("UPDATE devices SET served_seq = MAX(served_seq, ?1) WHERE id = ?2")?
                .execute(params![page.served(), device])?;
            tx.commit()?;
            Ok(page.finish())
        })
        .await
    }

    async fn compact(&self, store_id: i64) -> StorageResult<Compacted> {
        self.in_log_transaction(move |q| drive(log::compact(q, store_id)))
            .await
    }

    async fn append_server_changes(
        &self,
        stream_id: i64,
        changes: Vec<ServerChange>,
        now: DateTime<Utc>,
    ) -> StorageResult<usize> {
        self.in_log_transaction(move |q| {
            drive(log::append_server_changes(q, stream_id, changes, now))
        })
        .await
    }

    async fn customers_owned_by(
        &self,
        store_id: i64,
        owner: &str,
        only: &[String],
    ) -> StorageResult<Vec<(String, String)>> {
        let (owner, only) = (owner.to_string(), only.to_vec());
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT customer_id, hlc FROM customer_owners WHERE stream_id = ?1 AND owner = ?2 ORDER BY customer_id",
            )?;
            let rows = stmt.query_map(params![store_id, owner], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
            let all = rows.collect::<rusqlite::Result<Vec<(String, String)>>>()?;
            Ok(if only.is_empty() { all } else { all.into_iter().filter(|(id, _)| only.contains(id)).collect() })
        })
        .await
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        details: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        let (actor, action, details) = (actor.to_string(), action.to_string(), details.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO audit(at, actor, action, details) VALUES (?1, ?2, ?3, ?4)",
                params![ts(now), actor, action, details],
            )?;
            Ok(())
        })
        .await
    }

    async fn audit_log(&self, limit: u32) -> StorageResult<Vec<AuditEntry>> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, at, actor, action, details FROM audit ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: parse_ts(&r.get::<_, String>(1)?),
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    details: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}

/// The log's queries over one SQLite transaction.
struct SqliteLog<'t> {
    tx: &'t rusqlite::Transaction<'t>,
}

impl log::LogQueries for SqliteLog<'_> {
    async fn pushed_seq(&self, device: Uuid) -> StorageResult<i64> {
        Ok(self.tx.query_row(
            "SELECT pushed_seq FROM devices WHERE id = ?1",
            [device.to_string()],
            |r| r.get(0),
        )?)
    }

    async fn set_pushed_seq(&self, device: Uuid, seq: i64) -> StorageResult<()> {
        self.tx.execute(
            "UPDATE devices SET pushed_seq = ?1 WHERE id = ?2",
            params![seq, device.to_string()],
        )?;
        Ok(())
    }

    async fn digests(&self, range: DeviceRange) -> StorageResult<HashMap<i64, String>> {
        let sql =
            "SELECT seq, digest FROM device_changes WHERE device_id = ?1 AND seq BETWEEN ?2 AND ?3";
        Ok(self.numbered(sql, range)?.into_iter().collect())
    }

    async fn stamps(&self, range: DeviceRange) -> StorageResult<Vec<(i64, String)>> {
        self.numbered(
            "SELECT device_seq, hlc FROM changes WHERE device_id = ?1 AND device_seq BETWEEN ?2 AND ?3",
            range,
        )
    }

    async fn refused(&self, range: DeviceRange) -> StorageResult<Vec<(i64, String, String)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT seq, rejected_code, rejected_message FROM device_changes
             WHERE device_id = ?1 AND seq BETWEEN ?2 AND ?3 AND rejected_code IS NOT NULL",
        )?;
        let rows = stmt.query_map(
            params![range.device.to_string(), range.first, range.last],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn record(&self, device: Uuid, recorded: &[log::Recorded]) -> StorageResult<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO device_changes(device_id, seq, digest, rejected_code, rejected_message)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let device = device.to_string();
        for r in recorded {
            let (code, message) = r.refused.as_ref().map(|(c, m)| (c, m)).unzip();
            stmt.execute(params![device, r.seq, r.digest, code, message])?;
        }
        Ok(())
    }

    async fn lock_log(&self, stream: i64) -> StorageResult<Option<i64>> {
        // The transaction is IMMEDIATE: it holds the one write lock already.
        Ok(self
            .tx
            .query_row(
                "SELECT last_seq FROM streams WHERE id = ?1",
                [stream],
                |r| r.get(0),
            )
            .optional()?)
    }

    async fn set_last_seq(&self, stream: i64, seq: i64) -> StorageResult<()> {
        self.tx.execute(
            "UPDATE streams SET last_seq = ?1 WHERE id = ?2",
            params![seq, stream],
        )?;
        Ok(())
    }

    async fn row_customers(
        &self,
        stream: i64,
        rows: &[log::RowKey],
    ) -> StorageResult<log::RowOwners> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT customer_id FROM row_customers WHERE stream_id = ?1 AND entity = ?2 AND row_id = ?3",
        )?;
        let mut found = HashMap::new();
        for key in rows {
            if let Some(customer) = stmt
                .query_row(params![stream, key.0, key.1], |r| r.get::<_, String>(0))
                .optional()?
            {
                found.insert(key.clone(), customer);
            }
        }
        Ok(found)
    }

    async fn register_rows(
        &self,
        stream: i64,
        rows: &[(log::RowKey, String)],
    ) -> StorageResult<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO row_customers(stream_id, entity, row_id, customer_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for ((entity, row_id), customer) in rows {
            stmt.execute(params![stream, entity, row_id, customer])?;
        }
        Ok(())
    }

    async fn known_customers(
        &self,
        stream: i64,
        ids: &[String],
    ) -> StorageResult<log::CustomerSet> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT 1 FROM changes WHERE stream_id = ?1 AND customer_id = ?2
             UNION ALL SELECT 1 FROM erased WHERE stream_id = ?1 AND customer_id = ?2",
        )?;
        let mut known = log::CustomerSet::new();
        for c in ids {
            if stmt.exists(params![stream, c])? {
                known.insert(c.clone());
            }
        }
        Ok(known)
    }

    async fn erased_customers(
        &self,
        stream: i64,
        ids: &[String],
    ) -> StorageResult<log::CustomerSet> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM erased WHERE stream_id = ?1 AND customer_id = ?2")?;
        let mut erased = log::CustomerSet::new();
        for c in ids {
            if stmt.exists(params![stream, c])? {
                erased.insert(c.clone());
            }
        }
        Ok(erased)
    }

    async fn owners(&self, stream: i64, ids: &[String]) -> StorageResult<log::Owners> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT owner, hlc FROM customer_owners WHERE stream_id = ?1 AND customer_id = ?2",
        )?;
        let mut owners = HashMap::new();
        for c in ids {
            if let Some(o) = stmt
                .query_row(params![stream, c], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                owners.insert(c.clone(), o);
            }
        }
        Ok(owners)
    }

    async fn erase(&self, stream: i64, ids: &[String]) -> StorageResult<()> {
        for c in ids {
            self.tx.execute(
                "INSERT OR IGNORE INTO erased(stream_id, customer_id) VALUES (?1, ?2)",
                params![stream, c],
            )?;
            self.tx.execute(
                "UPDATE changes SET value = NULL WHERE stream_id = ?1 AND customer_id = ?2",
                params![stream, c],
            )?;
            self.tx.execute(
                "DELETE FROM customer_owners WHERE stream_id = ?1 AND customer_id = ?2",
                params![stream, c],
            )?;
        }
        Ok(())
    }

    async fn set_owners(&self, stream: i64, owners: &[log::OwnerRow]) -> StorageResult<()> {
        self.upsert_owners(owners, stream, "")
    }

    async fn set_newer_owners(&self, stream: i64, owners: &[log::OwnerRow]) -> StorageResult<()> {
        self.upsert_owners(owners, stream, "WHERE excluded.hlc > customer_owners.hlc")
    }

    async fn append(
        &self,
        stream: i64,
        entries: &[log::LogEntry],
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO changes(stream_id, seq, device_id, device_seq, hlc, entity, row_id,
                customer_id, op, field, value, base, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let now = ts(now);
        for e in entries {
            let (device, device_seq) = e.device.map(|(d, n)| (d.to_string(), n)).unzip();
            stmt.execute(params![
                stream, e.seq, device, device_seq, e.hlc, e.entity, e.row_id, e.customer, e.op,
                e.field, e.value, e.base, now
            ])?;
        }
        Ok(())
    }

    async fn store_name(&self, store: i64) -> StorageResult<Option<String>> {
        Ok(self
            .tx
            .query_row("SELECT name FROM stores WHERE id = ?1", [store], |r| {
                r.get(0)
            })
            .optional()?)
    }

    async fn lowest_active_pull(&self, store: i64) -> StorageResult<Option<i64>> {
        Ok(self.tx.query_row(
            "SELECT MIN(pulled_seq) FROM devices WHERE store_id = ?1 AND revoked_at IS NULL",
            [store],
            |r| r.get(0),
        )?)
    }

    async fn delete_erased_through(&self, store: i64, horizon: i64) -> StorageResult<u64> {
        Ok(self.tx.execute(
            "DELETE FROM changes WHERE stream_id = ?1 AND seq <= ?2 AND customer_id IN
               (SELECT customer_id FROM changes WHERE stream_id = ?1 AND entity = 'customer'
                  AND op = 'erase' AND seq <= ?2)",
            params![store, horizon],
        )? as u64)
    }

    async fn replaced_edits(
        &self,
        store: i64,
        horizon: i64,
    ) -> StorageResult<Vec<log::ReplacedEdit>> {
        let mut stmt = self.tx.prepare(
            "SELECT s.seq, s.entity, s.row_id, s.field, s.hlc FROM changes s
             WHERE s.stream_id = ?1 AND s.seq <= ?2 AND s.op = 'set' AND EXISTS
               (SELECT 1 FROM changes d WHERE d.stream_id = ?1 AND d.op = 'set' AND d.seq <= ?2
                  AND d.entity = s.entity AND d.row_id = s.row_id AND d.field = s.field
                  AND d.base = s.hlc)
             ORDER BY s.seq",
        )?;
        let rows = stmt.query_map(params![store, horizon], |r| {
            Ok(log::ReplacedEdit {
                seq: r.get(0)?,
                entity: r.get(1)?,
                row_id: r.get(2)?,
                field: r.get(3)?,
                hlc: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn remove_replaced(&self, store: i64, e: &log::ReplacedEdit) -> StorageResult<()> {
        self.tx
            .prepare_cached(
                "UPDATE changes SET base = (SELECT base FROM changes WHERE stream_id = ?1 AND seq = ?2)
                 WHERE stream_id = ?1 AND op = 'set'
                   AND entity = ?3 AND row_id = ?4 AND field = ?5 AND base = ?6",
            )?
            .execute(params![store, e.seq, e.entity, e.row_id, e.field, e.hlc])?;
        self.tx
            .prepare_cached("DELETE FROM changes WHERE stream_id = ?1 AND seq = ?2")?
            .execute(params![store, e.seq])?;
        Ok(())
    }

    async fn mark_compacted(&self, store: i64, horizon: i64) -> StorageResult<()> {
        self.tx.execute(
            "UPDATE streams SET compacted_through = MAX(compacted_through, ?2) WHERE id = ?1",
            params![store, horizon],
        )?;
        Ok(())
    }
}
