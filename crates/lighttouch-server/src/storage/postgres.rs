//! PostgreSQL storage, for brands that outgrow one machine: any number of
//! stateless server processes over one database. Every unit of work is one
//! transaction; a log's sequence numbers are taken under its `streams` row
//! lock, so they commit in order and a pull never skips one.

use super::log::{self, DeviceRange};
use super::*;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde_json::value::RawValue;
use std::collections::HashMap;
use tokio_postgres::{NoTls, Row};

/// Runs one of the log's flows (`$flow`, naming the queries `$q`) in a
/// transaction of its own.
macro_rules! in_log_transaction {
    ($storage:expr, $q:ident => $flow:expr) => {{
        let mut c = $storage.client().await?;
        let tx = c.transaction().await?;
        let $q = PgLog { tx: &tx };
        let out = $flow.await?;
        tx.commit().await?;
        Ok(out)
    }};
}

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/postgres_0001.sql"),
    include_str!("migrations/postgres_0002.sql"),
    include_str!("migrations/postgres_0003.sql"),
];
/// Serialises migrations when several servers start at once.
const MIGRATION_LOCK: i64 = 0x4c54_4d49_4752;

pub struct PostgresStorage {
    pool: Pool,
}

fn db(e: impl std::fmt::Display) -> StorageError {
    StorageError::Database(e.to_string())
}

fn role(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Associate)
}

fn user_row(r: &Row) -> UserRow {
    UserRow {
        id: r.get(0),
        username: r.get(1),
        display_name: r.get(2),
        role: role(r.get(3)),
        store_id: r.get(4),
        store: r.get(5),
        password_hash: r.get(6),
    }
}

const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.store_id, s.name, u.password_hash
     FROM users u JOIN stores s ON s.id = u.store_id";

impl PostgresStorage {
    /// Creates an empty database, uniquely named, on the server of `url`,
    /// and answers its URL: for tests and benchmarks that each need their
    /// own (`url` names any database the user may connect to).
    pub async fn create_database_beside(url: &str) -> StorageResult<String> {
        let (admin, conn) = tokio_postgres::connect(url, NoTls).await?;
        let task = tokio::spawn(conn);
        let name = format!("lt_{}", Uuid::now_v7().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        drop(admin);
        let _ = task.await;
        let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
        Ok(format!("{base}/{name}"))
    }

    pub async fn connect(url: &str) -> StorageResult<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Invalid(format!("database URL: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager).max_size(16).build().map_err(db)?;
        let storage = PostgresStorage { pool };
        storage.migrate().await?;
        Ok(storage)
    }

    async fn client(&self) -> StorageResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(db)
    }

    async fn migrate(&self) -> StorageResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let current: i64 = tx
            .query_opt("SELECT version FROM schema_version", &[])
            .await?
            .map_or(0, |r| r.get(0));
        if current > MIGRATIONS.len() as i64 {
            return Err(StorageError::Invalid(format!(
                "this database was written by a newer server (schema {current}); please update"
            )));
        }
        for sql in MIGRATIONS.iter().skip(current as usize) {
            tx.batch_execute(sql).await?;
        }
        tx.execute("DELETE FROM schema_version", &[]).await?;
        tx.execute(
            "INSERT INTO schema_version(version) VALUES ($1)",
            &[&(MIGRATIONS.len() as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Storage for PostgresStorage {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn create_store(&self, name: &str, now: DateTime<Utc>) -> StorageResult<StoreRow> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                "INSERT INTO stores(name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id",
                &[&name, &now],
            )
            .await?
            .ok_or_else(|| StorageError::Conflict(format!("a store named {name:?} exists")))?;
        let id: i64 = row.get(0);
        tx.execute("INSERT INTO streams(id, last_seq) VALUES ($1, 0)", &[&id])
            .await?;
        tx.commit().await?;
        Ok(StoreRow {
            id,
            name: name.to_string(),
        })
    }

    async fn stores(&self) -> StorageResult<Vec<StoreRow>> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT id, name FROM stores ORDER BY name", &[])
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoreRow {
                id: r.get(0),
                name: r.get(1),
            })
            .collect())
    }

    async fn create_user(&self, user: &NewUser, now: DateTime<Utc>) -> StorageResult<UserRow> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let store: i64 = tx
            .query_opt("SELECT id FROM stores WHERE name = $1", &[&user.store])
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("no store named {:?}", user.store)))?
            .get(0);
        let inserted = tx
            .execute(
                "INSERT INTO users(username, display_name, store_id, role, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING",
                &[&user.username, &user.display_name, &store, &user.role.as_str(), &user.password_hash, &now],
            )
            .await?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!(
                "user {:?} exists",
                user.username
            )));
        }
        let row = tx
            .query_one(
                &format!("SELECT {USER_COLUMNS} WHERE u.username = $1"),
                &[&user.username],
            )
            .await?;
        tx.commit().await?;
        Ok(user_row(&row))
    }

    async fn user(&self, username: &str) -> StorageResult<Option<UserRow>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            &format!("SELECT {USER_COLUMNS} WHERE u.username = $1"),
            &[&username],
        )
        .await?
        .map(|r| user_row(&r)))
    }

    async fn users(&self) -> StorageResult<Vec<UserRow>> {
        let c = self.client().await?;
        let rows = c
            .query(&format!("SELECT {USER_COLUMNS} ORDER BY u.username"), &[])
            .await?;
        Ok(rows.iter().map(user_row).collect())
    }

    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep: Option<&str>,
    ) -> StorageResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $1 WHERE username = $2",
                &[&password_hash, &username],
            )
            .await?;
        if n == 0 {
            return Err(StorageError::NotFound(format!("no user {username:?}")));
        }
        // Every other session ends: its token can no longer match anything.
        tx.execute(
            "UPDATE devices SET token_hash = 'ended:' || md5(random()::text) || md5(id::text || random()::text)
             WHERE user_id = (SELECT id FROM users WHERE username = $1)
               AND ($2::TEXT IS NULL OR token_hash <> $2)",
            &[&username, &keep],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin_login_attempt(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StorageResult<Result<(), std::time::Duration>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mut counts = Vec::with_capacity(keys.len());
        for key in keys {
            // The row lock serialises concurrent attempts on one key across
            // every server process; a first attempt creates the row to lock.
            tx.execute(
                "INSERT INTO login_failures(key, failures, last_at) VALUES ($1, 0, $2)
                 ON CONFLICT (key) DO NOTHING",
                &[key, &now],
            )
            .await?;
            let r = tx
                .query_one(
                    "SELECT failures, last_at FROM login_failures WHERE key = $1 FOR UPDATE",
                    &[key],
                )
                .await?;
            // A row just made holds no failure yet.
            let (failures, last): (i64, DateTime<Utc>) = (r.get(0), r.get(1));
            match count_attempt(key, failures, last, now) {
                Ok(n) => counts.push(n),
                Err(wait) => return Ok(Err(wait)),
            }
        }
        for (key, n) in keys.iter().zip(counts) {
            tx.execute(
                "UPDATE login_failures SET failures = $2, last_at = $3 WHERE key = $1",
                &[key, &n, &now],
            )
            .await?;
        }
        tx.execute(
            "DELETE FROM login_failures WHERE last_at < $1",
            &[&(now - chrono::Duration::hours(LOGIN_MEMORY_HOURS))],
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn finish_good_login(&self, clear: &str, undo: &str) -> StorageResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("DELETE FROM login_failures WHERE key = $1", &[&clear])
            .await?;
        tx.execute(
            "UPDATE login_failures SET failures = GREATEST(failures - 1, 0) WHERE key = $1",
            &[&undo],
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let store: i64 = tx
            .query_one("SELECT store_id FROM users WHERE id = $1", &[&user_id])
            .await?
            .get(0);
        let existing = tx
            .query_opt(
                "SELECT store_id, user_id, revoked_at IS NOT NULL FROM devices WHERE id = $1 FOR UPDATE",
                &[&device_id],
            )
            .await?
            .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, bool>(2)));
        let id = match bind_device(existing, store, user_id, device_id, fresh_id)? {
            DeviceBinding::Refresh => {
                tx.execute(
                    "UPDATE devices SET name = $1, token_hash = $2, last_seen_at = $3 WHERE id = $4",
                    &[&name, &token_hash, &now, &device_id],
                )
                .await?;
                device_id
            }
            DeviceBinding::Register(id) => {
                tx.execute(
                    "INSERT INTO devices(id, user_id, store_id, name, token_hash, created_at, last_seen_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    &[&id, &user_id, &store, &name, &token_hash, &now],
                )
                .await?;
                id
            }
        };
        tx.commit().await?;
        Ok(id)
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
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let revoked = tx
            .query_opt(
                "SELECT 1 FROM devices WHERE id = $1 AND revoked_at IS NULL",
                &[&old.device_id],
            )
            .await?
            .is_none();
        if revoked {
            return Err(StorageError::NotFound("this device was revoked".into()));
        }
        // Two books asking for one ID at once: the second finds it taken.
        let n = tx
            .execute(
                "INSERT INTO devices(id, user_id, store_id, name, token_hash, created_at, last_seen_at,
                                     pulled_seq, served_seq)
                 SELECT $1, $2, $3, $4, $5, $6, $6, pulled_seq, served_seq FROM devices
                 WHERE id = $7 ON CONFLICT (id) DO NOTHING",
                &[
                    &new_id,
                    &old.user_id,
                    &old.store_id,
                    &name,
                    &token_hash,
                    &now,
                    &old.device_id,
                ],
            )
            .await?;
        if n == 0 {
            return Err(StorageError::Conflict(
                "that device ID is taken; choose another".into(),
            ));
        }
        let first: Option<i64> = tx
            .query_one(
                "SELECT MIN(seq) FROM changes
                 WHERE stream_id = $1 AND device_id = $2 AND device_seq >= $3",
                &[&old.store_id, &old.device_id, &diverged_at],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(first)
    }

    async fn device_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<DeviceAuth>> {
        let c = self.client().await?;
        let Some(r) = c
            .query_opt(
                "SELECT d.id, u.id, u.username, u.display_name, u.role, d.store_id, s.name, d.last_seen_at
                 FROM devices d JOIN users u ON u.id = d.user_id JOIN stores s ON s.id = d.store_id
                 WHERE d.token_hash = $1 AND d.revoked_at IS NULL",
                &[&token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        let auth = DeviceAuth {
            device_id: r.get(0),
            user_id: r.get(1),
            username: r.get(2),
            display_name: r.get(3),
            role: role(r.get(4)),
            store_id: r.get(5),
            store: r.get(6),
        };
        let last_seen: Option<DateTime<Utc>> = r.get(7);
        if last_seen.is_none_or(|s| (now - s).num_seconds() >= 60) {
            c.execute(
                "UPDATE devices SET last_seen_at = $1 WHERE id = $2",
                &[&now, &auth.device_id],
            )
            .await?;
        }
        Ok(Some(auth))
    }

    async fn devices(&self, store_id: Option<i64>) -> StorageResult<Vec<DeviceInfo>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT d.id, d.name, u.username, s.name, d.created_at, d.last_seen_at, d.revoked_at, d.pushed_seq
                 FROM devices d JOIN users u ON u.id = d.user_id JOIN stores s ON s.id = d.store_id
                 WHERE $1::BIGINT IS NULL OR d.store_id = $1 ORDER BY s.name, u.username, d.created_at",
                &[&store_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeviceInfo {
                device_id: r.get(0),
                name: r.get(1),
                username: r.get(2),
                store: r.get(3),
                created_at: r.get(4),
                last_seen_at: r.get(5),
                revoked_at: r.get(6),
                pushed_seq: r.get(7),
            })
            .collect())
    }

    async fn revoke_device(&self, device_id: Uuid, now: DateTime<Utc>) -> StorageResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
                &[&now, &device_id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn end_session(&self, token_hash: &str) -> StorageResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE devices SET token_hash = $1 WHERE token_hash = $2",
            &[&ended_token(), &token_hash],
        )
        .await?;
        Ok(())
    }

    async fn push(
        &self,
        pusher: &DeviceAuth,
        changes: Vec<IncomingChange>,
        now: DateTime<Utc>,
    ) -> StorageResult<PushOutcome> {
        in_log_transaction!(self, q => log::push(&q, pusher, changes, now))
    }

    async fn pull(
        &self,
        store_id: i64,
        device_id: Uuid,
        cursor: Cursor,
        limit: u32,
        known_through: Option<i64>,
    ) -> StorageResult<PullPage> {
        let mut c = self.client().await?;
        // One snapshot for the whole page: high-water marks and rows agree.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let compacted: i64 = tx
            .query_opt(
                "SELECT compacted_through FROM streams WHERE id = $1",
                &[&store_id],
            )
            .await?
            .map_or(0, |r| r.get(0));
        let served: i64 = tx
            .query_opt(
                "SELECT served_seq FROM devices WHERE id = $1",
                &[&device_id],
            )
            .await?
            // Only a registered device holds a token; tests read as others.
            .map_or(i64::MAX, |r| r.get(0));
        let mut page = PageBuilder::new(device_id, known_through, cursor, compacted, served, limit);
        let mark = page.pulled_mark(cursor);
        for (log, from) in page.logs(store_id) {
            let room = page.room();
            if room == 0 {
                break;
            }
            let high: i64 = tx
                .query_opt("SELECT last_seq FROM streams WHERE id = $1", &[&log])
                .await?
                .map_or(0, |r| r.get(0));
            let rows = tx
                .query(
                    "SELECT seq, device_id, hlc, entity, row_id, op, field, value, base, device_seq FROM changes
                     WHERE stream_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
                    &[&log, &from, &high, &room],
                )
                .await?
                .iter()
                .map(|r| LogRow {
                    seq: r.get(0),
                    device: r.get(1),
                    device_seq: r.get(9),
                    change: PulledChange {
                        hlc: r.get(2),
                        entity: r.get(3),
                        row_id: r.get(4),
                        op: r.get(5),
                        field: r.get(6),
                        // Sent as stored, never parsed here.
                        value: r
                            .get::<_, Option<String>>(7)
                            .and_then(|v| RawValue::from_string(v).ok()),
                        base: r.get(8),
                    },
                })
                .collect();
            page.take(log, from, high, rows);
        }
        tx.commit().await?;
        // Before the cursor is handed out, so it is believed when it comes back.
        c.execute(
            "UPDATE devices SET served_seq = GREATEST(served_seq, $1) WHERE id = $2",
            &[&page.served(), &device_id],
        )
        .await?;
        // The cursor a device sends proves what it has applied. Outside the
        // snapshot, so a concurrent push by the same device cannot make the
        // page fail; a compaction slipping in between is caught by the next
        // pull (its cursor is then behind the compaction and starts again).
        match mark {
            PulledMark::Keep => {}
            PulledMark::Set(v) => {
                c.execute(
                    "UPDATE devices SET pulled_seq = $1 WHERE id = $2",
                    &[&v, &device_id],
                )
                .await?;
            }
            PulledMark::Raise(v) => {
                c.execute(
                    "UPDATE devices SET pulled_seq = GREATEST(pulled_seq, $1) WHERE id = $2",
                    &[&v, &device_id],
                )
                .await?;
            }
        }
        Ok(page.finish())
    }

    async fn compact(&self, store_id: i64) -> StorageResult<Compacted> {
        in_log_transaction!(self, q => log::compact(&q, store_id))
    }

    async fn append_server_changes(
        &self,
        stream_id: i64,
        changes: Vec<ServerChange>,
        now: DateTime<Utc>,
    ) -> StorageResult<usize> {
        in_log_transaction!(self, q => log::append_server_changes(&q, stream_id, changes, now))
    }

    async fn customers_owned_by(
        &self,
        store_id: i64,
        owner: &str,
        only: &[String],
    ) -> StorageResult<Vec<(String, String)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT customer_id, hlc FROM customer_owners WHERE stream_id = $1 AND owner = $2
                 AND (cardinality($3::TEXT[]) = 0 OR customer_id = ANY($3)) ORDER BY customer_id",
                &[&store_id, &owner, &only],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        details: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO audit(at, actor, action, details) VALUES ($1, $2, $3, $4)",
            &[&now, &actor, &action, &details.to_string()],
        )
        .await?;
        Ok(())
    }

    async fn audit_log(&self, limit: u32) -> StorageResult<Vec<AuditEntry>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, at, actor, action, details FROM audit ORDER BY id DESC LIMIT $1",
                &[&(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                details: serde_json::from_str(r.get::<_, &str>(4)).unwrap_or_default(),
            })
            .collect())
    }
}

impl PgLog<'_> {
    /// (number, text) rows of a query over a device's numbers.
    async fn numbered(&self, sql: &str, range: DeviceRange) -> StorageResult<Vec<(i64, String)>> {
        let rows = self
            .tx
            .query(sql, &[&range.device, &range.first, &range.last])
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn upsert_owners(
        &self,
        owners: &[log::OwnerRow],
        stream: i64,
        only: &str,
    ) -> StorageResult<()> {
        if owners.is_empty() {
            return Ok(());
        }
        let stmt = self
            .tx
            .prepare(&format!(
                "INSERT INTO customer_owners(stream_id, customer_id, owner, hlc) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (stream_id, customer_id) DO UPDATE
                 SET owner = excluded.owner, hlc = excluded.hlc {only}"
            ))
            .await?;
        for (customer, owner, hlc) in owners {
            self.tx
                .execute(&stmt, &[&stream, customer, owner, hlc])
                .await?;
        }
        Ok(())
    }
}

/// The log's queries over one PostgreSQL transaction. Lookups for a whole
/// push go in one query each (arrays), so a push costs a few round trips,
/// not a few per change.
struct PgLog<'t> {
    tx: &'t deadpool_postgres::Transaction<'t>,
}

impl log::LogQueries for PgLog<'_> {
    async fn pushed_seq(&self, device: Uuid) -> StorageResult<i64> {
        // The device's row lock makes a device's concurrent retries wait for each other.
        Ok(self
            .tx
            .query_one(
                "SELECT pushed_seq FROM devices WHERE id = $1 FOR UPDATE",
                &[&device],
            )
            .await?
            .get(0))
    }

    async fn set_pushed_seq(&self, device: Uuid, seq: i64) -> StorageResult<()> {
        self.tx
            .execute(
                "UPDATE devices SET pushed_seq = $1 WHERE id = $2",
                &[&seq, &device],
            )
            .await?;
        Ok(())
    }

    async fn digests(&self, range: DeviceRange) -> StorageResult<HashMap<i64, String>> {
        let sql =
            "SELECT seq, digest FROM device_changes WHERE device_id = $1 AND seq BETWEEN $2 AND $3";
        Ok(self.numbered(sql, range).await?.into_iter().collect())
    }

    async fn stamps(&self, range: DeviceRange) -> StorageResult<Vec<(i64, String)>> {
        self.numbered(
            "SELECT device_seq, hlc FROM changes WHERE device_id = $1 AND device_seq BETWEEN $2 AND $3",
            range,
        )
        .await
    }

    async fn refused(&self, range: DeviceRange) -> StorageResult<Vec<(i64, String, String)>> {
        let rows = self
            .tx
            .query(
                "SELECT seq, rejected_code, rejected_message FROM device_changes
                 WHERE device_id = $1 AND seq BETWEEN $2 AND $3 AND rejected_code IS NOT NULL",
                &[&range.device, &range.first, &range.last],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn record(&self, device: Uuid, recorded: &[log::Recorded]) -> StorageResult<()> {
        let seqs: Vec<i64> = recorded.iter().map(|r| r.seq).collect();
        let digests: Vec<&str> = recorded.iter().map(|r| r.digest.as_str()).collect();
        let codes: Vec<Option<&str>> = recorded
            .iter()
            .map(|r| r.refused.as_ref().map(|(c, _)| c.as_str()))
            .collect();
        let messages: Vec<Option<&str>> = recorded
            .iter()
            .map(|r| r.refused.as_ref().map(|(_, m)| m.as_str()))
            .collect();
        self.tx
            .execute(
                "INSERT INTO device_changes(device_id, seq, digest, rejected_code, rejected_message)
                 SELECT $1, * FROM unnest($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])",
                &[&device, &seqs, &digests, &codes, &messages],
            )
            .await?;
        Ok(())
    }

    async fn lock_log(&self, stream: i64) -> StorageResult<Option<i64>> {
        // The log's row lock: sequence numbers are taken and committed in order.
        Ok(self
            .tx
            .query_opt(
                "SELECT last_seq FROM streams WHERE id = $1 FOR UPDATE",
                &[&stream],
            )
            .await?
            .map(|r| r.get(0)))
    }

    async fn set_last_seq(&self, stream: i64, seq: i64) -> StorageResult<()> {
        self.tx
            .execute(
                "UPDATE streams SET last_seq = $1 WHERE id = $2",
                &[&seq, &stream],
            )
            .await?;
        Ok(())
    }

    async fn row_customers(
        &self,
        stream: i64,
        rows: &[log::RowKey],
    ) -> StorageResult<log::RowOwners> {
        if rows.is_empty() {
            return Ok(HashMap::new());
        }
        let (entities, ids): (Vec<&str>, Vec<&str>) =
            rows.iter().map(|(e, r)| (e.as_str(), r.as_str())).unzip();
        let found = self
            .tx
            .query(
                "SELECT r.entity, r.row_id, r.customer_id FROM row_customers r
                 JOIN unnest($2::TEXT[], $3::TEXT[]) AS k(entity, row_id)
                   ON r.entity = k.entity AND r.row_id = k.row_id
                 WHERE r.stream_id = $1",
                &[&stream, &entities, &ids],
            )
            .await?;
        Ok(found
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect())
    }

    async fn register_rows(
        &self,
        stream: i64,
        rows: &[(log::RowKey, String)],
    ) -> StorageResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let entities: Vec<&str> = rows.iter().map(|((e, _), _)| e.as_str()).collect();
        let ids: Vec<&str> = rows.iter().map(|((_, r), _)| r.as_str()).collect();
        let customers: Vec<&str> = rows.iter().map(|(_, c)| c.as_str()).collect();
        self.tx
            .execute(
                "INSERT INTO row_customers(stream_id, entity, row_id, customer_id)
                 SELECT $1, * FROM unnest($2::TEXT[], $3::TEXT[], $4::TEXT[])
                 ON CONFLICT DO NOTHING",
                &[&stream, &entities, &ids, &customers],
            )
            .await?;
        Ok(())
    }

    async fn known_customers(
        &self,
        stream: i64,
        ids: &[String],
    ) -> StorageResult<log::CustomerSet> {
        let rows = self
            .tx
            .query(
                "SELECT c FROM unnest($2::TEXT[]) AS c
                 WHERE EXISTS (SELECT 1 FROM changes WHERE stream_id = $1 AND customer_id = c)
                    OR EXISTS (SELECT 1 FROM erased WHERE stream_id = $1 AND customer_id = c)",
                &[&stream, &ids],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn erased_customers(
        &self,
        stream: i64,
        ids: &[String],
    ) -> StorageResult<log::CustomerSet> {
        let rows = self
            .tx
            .query(
                "SELECT customer_id FROM erased WHERE stream_id = $1 AND customer_id = ANY($2)",
                &[&stream, &ids],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn owners(&self, stream: i64, ids: &[String]) -> StorageResult<log::Owners> {
        let rows = self
            .tx
            .query(
                "SELECT customer_id, owner, hlc FROM customer_owners
                 WHERE stream_id = $1 AND customer_id = ANY($2)",
                &[&stream, &ids],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect())
    }

    async fn erase(&self, stream: i64, ids: &[String]) -> StorageResult<()> {
        for c in ids {
            self.tx
                .execute(
                    "INSERT INTO erased(stream_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&stream, c],
                )
                .await?;
            self.tx
                .execute(
                    "UPDATE changes SET value = NULL WHERE stream_id = $1 AND customer_id = $2",
                    &[&stream, c],
                )
                .await?;
            self.tx
                .execute(
                    "DELETE FROM customer_owners WHERE stream_id = $1 AND customer_id = $2",
                    &[&stream, c],
                )
                .await?;
        }
        Ok(())
    }

    async fn set_owners(&self, stream: i64, owners: &[log::OwnerRow]) -> StorageResult<()> {
        self.upsert_owners(owners, stream, "").await
    }

    async fn set_newer_owners(&self, stream: i64, owners: &[log::OwnerRow]) -> StorageResult<()> {
        self.upsert_owners(owners, stream, "WHERE excluded.hlc > customer_owners.hlc")
            .await
    }

    async fn append(
        &self,
        stream: i64,
        entries: &[log::LogEntry],
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        // One multi-row insert per chunk: round trips, not rows, cost on a network.
        for chunk in entries.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO changes(stream_id, seq, device_id, device_seq, hlc, entity, row_id,
                    customer_id, op, field, value, base, received_at) VALUES ",
            );
            let devices: Vec<(Option<Uuid>, Option<i64>)> =
                chunk.iter().map(|e| e.device.unzip()).collect();
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                Vec::with_capacity(chunk.len() * 11 + 2);
            params.push(&stream);
            params.push(&now);
            for (i, (e, (device, device_seq))) in chunk.iter().zip(&devices).enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                let slots: Vec<String> = (0..11).map(|n| format!("${}", 3 + i * 11 + n)).collect();
                sql.push_str(&format!("($1, {}, $2)", slots.join(", ")));
                params.extend([
                    &e.seq as &(dyn tokio_postgres::types::ToSql + Sync),
                    device,
                    device_seq,
                    &e.hlc,
                    &e.entity,
                    &e.row_id,
                    &e.customer,
                    &e.op,
                    &e.field,
                    &e.value,
                    &e.base,
                ]);
            }
            self.tx.execute(sql.as_str(), &params).await?;
        }
        Ok(())
    }

    async fn store_name(&self, store: i64) -> StorageResult<Option<String>> {
        Ok(self
            .tx
            .query_opt("SELECT name FROM stores WHERE id = $1", &[&store])
            .await?
            .map(|r| r.get(0)))
    }

    async fn lowest_active_pull(&self, store: i64) -> StorageResult<Option<i64>> {
        Ok(self
            .tx
            .query_one(
                "SELECT MIN(pulled_seq) FROM devices WHERE store_id = $1 AND revoked_at IS NULL",
                &[&store],
            )
            .await?
            .get(0))
    }

    async fn delete_erased_through(&self, store: i64, horizon: i64) -> StorageResult<u64> {
        Ok(self
            .tx
            .execute(
                "DELETE FROM changes WHERE stream_id = $1 AND seq <= $2 AND customer_id IN
                   (SELECT customer_id FROM changes WHERE stream_id = $1 AND entity = 'customer'
                      AND op = 'erase' AND seq <= $2)",
                &[&store, &horizon],
            )
            .await?)
    }

    async fn replaced_edits(
        &self,
        store: i64,
        horizon: i64,
    ) -> StorageResult<Vec<log::ReplacedEdit>> {
        let rows = self
            .tx
            .query(
                "SELECT s.seq, s.entity, s.row_id, s.field, s.hlc FROM changes s
                 WHERE s.stream_id = $1 AND s.seq <= $2 AND s.op = 'set' AND EXISTS
                   (SELECT 1 FROM changes d WHERE d.stream_id = $1 AND d.op = 'set' AND d.seq <= $2
                      AND d.entity = s.entity AND d.row_id = s.row_id AND d.field = s.field
                      AND d.base = s.hlc)
                 ORDER BY s.seq",
                &[&store, &horizon],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| log::ReplacedEdit {
                seq: r.get(0),
                entity: r.get(1),
                row_id: r.get(2),
                field: r.get(3),
                hlc: r.get(4),
            })
            .collect())
    }

    async fn remove_replaced(&self, store: i64, e: &log::ReplacedEdit) -> StorageResult<()> {
        self.tx
            .execute(
                "UPDATE changes SET base = (SELECT base FROM changes WHERE stream_id = $1 AND seq = $2)
                 WHERE stream_id = $1 AND op = 'set'
                   AND entity = $3 AND row_id = $4 AND field = $5 AND base = $6",
                &[&store, &e.seq, &e.entity, &e.row_id, &e.field, &e.hlc],
            )
            .await?;
        self.tx
            .execute(
                "DELETE FROM changes WHERE stream_id = $1 AND seq = $2",
                &[&store, &e.seq],
            )
            .await?;
        Ok(())
    }

    async fn mark_compacted(&self, store: i64, horizon: i64) -> StorageResult<()> {
        self.tx
            .execute(
                "UPDATE streams SET compacted_through = GREATEST(compacted_through, $2) WHERE id = $1",
                &[&store, &horizon],
            )
            .await?;
        Ok(())
    }
}
