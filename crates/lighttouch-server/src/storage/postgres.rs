//! PostgreSQL storage, for brands that outgrow one machine: any number of
//! stateless server processes over one database. Every unit of work is one
//! transaction; a log's sequence numbers are taken under its `streams` row
//! lock, so they commit in order and a pull never skips one.

use super::*;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use lighttouch_protocol::codes;
use serde_json::value::RawValue;
use tokio_postgres::{NoTls, Row};

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
        let (device_id, store_id) = (pusher.device_id, pusher.store_id);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The device's row lock makes a device's concurrent retries wait for each other.
        let pushed: i64 = tx
            .query_one(
                "SELECT pushed_seq FROM devices WHERE id = $1 FOR UPDATE",
                &[&device_id],
            )
            .await?
            .get(0);
        let first = changes.first().map_or(pushed + 1, |c| c.seq);
        let last = changes.last().map_or(pushed, |c| c.seq);
        if first > pushed + 1 {
            return Err(StorageError::Gap {
                expected: pushed + 1,
            });
        }
        let stored: std::collections::HashMap<i64, String> = tx
            .query(
                "SELECT seq, digest FROM device_changes WHERE device_id = $1 AND seq BETWEEN $2 AND $3",
                &[&device_id, &first, &last.min(pushed)],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        check_resent(&stored, &changes, pushed)?;
        let mut changes = changes;
        if first <= pushed {
            let kept: std::collections::HashMap<i64, String> = tx
                .query(
                    "SELECT device_seq, hlc FROM changes WHERE device_id = $1 AND device_seq BETWEEN $2 AND $3",
                    &[&device_id, &first, &pushed],
                )
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            name_stored_stamps(&mut changes, &kept);
        }
        let fresh: Vec<IncomingChange> = changes.into_iter().filter(|c| c.seq > pushed).collect();
        let mut owner_changes = Vec::new();
        if !fresh.is_empty() {
            // The log's row lock: sequence numbers are taken and committed in order.
            let mut seq: i64 = tx
                .query_one(
                    "SELECT last_seq FROM streams WHERE id = $1 FOR UPDATE",
                    &[&store_id],
                )
                .await?
                .get(0);
            let lookup = tx
                .prepare(
                    "SELECT customer_id FROM row_customers WHERE stream_id = $1 AND entity = $2 AND row_id = $3",
                )
                .await?;
            let register = tx
                .prepare(
                    "INSERT INTO row_customers(stream_id, entity, row_id, customer_id) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            let is_erased = tx
                .prepare("SELECT 1 FROM erased WHERE stream_id = $1 AND customer_id = $2")
                .await?;
            let known_customer = tx
                .prepare(
                    "SELECT 1 FROM changes WHERE stream_id = $1 AND customer_id = $2
                     UNION ALL SELECT 1 FROM erased WHERE stream_id = $1 AND customer_id = $2 LIMIT 1",
                )
                .await?;
            let set_owner = tx
                .prepare(
                    "INSERT INTO customer_owners(stream_id, customer_id, owner, hlc) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (stream_id, customer_id) DO UPDATE
                     SET owner = excluded.owner, hlc = excluded.hlc",
                )
                .await?;
            let current_owner = tx
                .prepare(
                    "SELECT owner, hlc FROM customer_owners WHERE stream_id = $1 AND customer_id = $2",
                )
                .await?;
            let record = tx
                .prepare(
                    "INSERT INTO device_changes(device_id, seq, digest, rejected_code, rejected_message)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            let mut rows: Vec<(i64, IncomingChange, Option<String>)> =
                Vec::with_capacity(fresh.len());
            // Written to the log after the loop: customers created in this push.
            let mut created = std::collections::HashSet::new();
            for mut ch in fresh {
                let mut missing = None;
                let customer: Option<String> = if ch.verdict != Verdict::Log {
                    None
                } else {
                    match customer_of(&ch) {
                        CustomerOf::Known { customer, .. }
                            if needs_known_customer(&ch)
                                && !created.contains(&customer)
                                && tx
                                    .query_opt(&known_customer, &[&store_id, &customer])
                                    .await?
                                    .is_none() =>
                        {
                            missing = Some(not_in_store(&ch, "customer", &customer));
                            None
                        }
                        CustomerOf::Known {
                            customer,
                            register: reg,
                        } => {
                            if reg {
                                tx.execute(
                                    &register,
                                    &[&store_id, &ch.entity, &ch.row_id, &customer],
                                )
                                .await?;
                            }
                            Some(customer)
                        }
                        CustomerOf::Note(note) => {
                            let cu: Option<String> = tx
                                .query_opt(&lookup, &[&store_id, &"note", &note])
                                .await?
                                .map(|r| r.get(0));
                            if cu.is_none() {
                                missing = Some(not_in_store(&ch, "note", &note));
                            }
                            if let Some(cu) = &cu {
                                tx.execute(&register, &[&store_id, &ch.entity, &ch.row_id, cu])
                                    .await?;
                            }
                            cu
                        }
                        CustomerOf::Row { entity, row_id } => {
                            let cu = tx
                                .query_opt(&lookup, &[&store_id, &entity, &row_id])
                                .await?
                                .map(|r| r.get(0));
                            if cu.is_none() {
                                missing = Some(not_in_store(&ch, &entity, &row_id));
                            }
                            cu
                        }
                        CustomerOf::Nobody => None,
                    }
                };
                // A change without its value was wiped with an erased
                // customer (the book's outbox too): nothing left to name.
                if let Some(refused) = missing.filter(|_| ch.value.is_some()) {
                    ch.verdict = refused;
                }
                if ch.verdict == Verdict::Log && !needs_known_customer(&ch) {
                    created.insert(ch.row_id.clone());
                }
                if let Some(cu) = &customer {
                    if tx.query_opt(&is_erased, &[&store_id, cu]).await?.is_some() {
                        ch.value = None;
                    } else if ch.op == "erase" && ch.entity == "customer" {
                        tx.execute(
                            "INSERT INTO erased(stream_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&store_id, cu],
                        )
                        .await?;
                        tx.execute(
                            "UPDATE changes SET value = NULL WHERE stream_id = $1 AND customer_id = $2",
                            &[&store_id, cu],
                        )
                        .await?;
                        // Earlier changes of this same push are still in `rows`.
                        for (_, earlier, c) in rows.iter_mut() {
                            if c.as_deref() == Some(cu.as_str()) {
                                earlier.value = None;
                            }
                        }
                        tx.execute(
                            "DELETE FROM customer_owners WHERE stream_id = $1 AND customer_id = $2",
                            &[&store_id, cu],
                        )
                        .await?;
                    } else if let Some(owner) = owner_set_by(&ch) {
                        let current = tx
                            .query_opt(&current_owner, &[&store_id, cu])
                            .await?
                            .map(|r| (r.get::<_, Option<String>>(0), r.get::<_, String>(1)));
                        let before = current.as_ref().and_then(|(o, _)| o.clone());
                        match owner_move(pusher, current.as_ref(), &ch.hlc, cu) {
                            OwnerMove::Refused(message) => {
                                ch.verdict = Verdict::Reject {
                                    code: codes::FORBIDDEN.into(),
                                    message,
                                };
                            }
                            OwnerMove::Loses => {}
                            OwnerMove::Moves => {
                                tx.execute(&set_owner, &[&store_id, cu, &owner, &ch.hlc])
                                    .await?;
                                if before != owner {
                                    owner_changes.push((cu.clone(), before, owner));
                                }
                            }
                        }
                    }
                }
                let (code, message) = match &ch.verdict {
                    Verdict::Reject { code, message } => {
                        (Some(code.clone()), Some(message.clone()))
                    }
                    _ => (None, None),
                };
                tx.execute(&record, &[&device_id, &ch.seq, &ch.digest, &code, &message])
                    .await?;
                if ch.verdict != Verdict::Log {
                    continue;
                }
                seq += 1;
                rows.push((seq, ch, customer));
            }
            // One multi-row insert per chunk: round trips, not rows, cost on a network.
            for chunk in rows.chunks(500) {
                let mut sql = String::from(
                    "INSERT INTO changes(stream_id, seq, device_id, device_seq, hlc, entity, row_id,
                        customer_id, op, field, value, base, received_at) VALUES ",
                );
                let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    Vec::with_capacity(chunk.len() * 11 + 3);
                params.push(&store_id);
                params.push(&device_id);
                params.push(&now);
                for (i, (seq, ch, customer)) in chunk.iter().enumerate() {
                    let b = 4 + i * 10;
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "($1, ${}, $2, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $3)",
                        b,
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 8,
                        b + 9
                    ));
                    params.push(seq);
                    params.push(&ch.seq);
                    params.push(&ch.hlc);
                    params.push(&ch.entity);
                    params.push(&ch.row_id);
                    params.push(customer);
                    params.push(&ch.op);
                    params.push(&ch.field);
                    params.push(&ch.value);
                    params.push(&ch.base);
                }
                tx.execute(sql.as_str(), &params).await?;
            }
            tx.execute(
                "UPDATE streams SET last_seq = $1 WHERE id = $2",
                &[&seq, &store_id],
            )
            .await?;
        }
        let applied = last.max(pushed);
        tx.execute(
            "UPDATE devices SET pushed_seq = $1 WHERE id = $2",
            &[&applied, &device_id],
        )
        .await?;
        let stored_stamps = tx
            .query(
                "SELECT device_seq, hlc FROM changes WHERE device_id = $1 AND device_seq BETWEEN $2 AND $3",
                &[&device_id, &first, &last],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let rejected = tx
            .query(
                "SELECT seq, rejected_code, rejected_message FROM device_changes
                 WHERE device_id = $1 AND seq BETWEEN $2 AND $3 AND rejected_code IS NOT NULL",
                &[&device_id, &first, &last],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        tx.commit().await?;
        // The book's next number follows the last one it sent.
        let _ = applied;
        Ok(PushOutcome {
            applied_through: last,
            stored_stamps,
            rejected,
            owner_changes,
        })
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
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let store: String = tx
            .query_opt("SELECT name FROM stores WHERE id = $1", &[&store_id])
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("no store {store_id}")))?
            .get(0);
        // The log's row lock: no push lands in the middle of a compaction.
        tx.execute(
            "SELECT last_seq FROM streams WHERE id = $1 FOR UPDATE",
            &[&store_id],
        )
        .await?;
        let horizon: i64 = tx
            .query_one(
                "SELECT COALESCE((SELECT MIN(pulled_seq) FROM devices WHERE store_id = $1 AND revoked_at IS NULL),
                                 (SELECT last_seq FROM streams WHERE id = $1))",
                &[&store_id],
            )
            .await?
            .get(0);
        let erased = tx
            .execute(
                "DELETE FROM changes WHERE stream_id = $1 AND seq <= $2 AND customer_id IN
                   (SELECT customer_id FROM changes WHERE stream_id = $1 AND entity = 'customer'
                      AND op = 'erase' AND seq <= $2)",
                &[&store_id, &horizon],
            )
            .await?;
        // Only edits a later edit knowingly replaced (its base): a value that
        // lost to a concurrent edit stays, so a device re-downloading still
        // records it as a conflict. The successors take over the replaced
        // edit's base, so the chain of knowledge stays whole.
        let replaced = tx
            .query(
                "SELECT s.seq, s.entity, s.row_id, s.field, s.hlc FROM changes s
                 WHERE s.stream_id = $1 AND s.seq <= $2 AND s.op = 'set' AND EXISTS
                   (SELECT 1 FROM changes d WHERE d.stream_id = $1 AND d.op = 'set' AND d.seq <= $2
                      AND d.entity = s.entity AND d.row_id = s.row_id AND d.field = s.field
                      AND d.base = s.hlc)
                 ORDER BY s.seq",
                &[&store_id, &horizon],
            )
            .await?;
        let pass_base = tx
            .prepare(
                "UPDATE changes SET base = (SELECT base FROM changes WHERE stream_id = $1 AND seq = $2)
                 WHERE stream_id = $1 AND op = 'set'
                   AND entity = $3 AND row_id = $4 AND field = $5 AND base = $6",
            )
            .await?;
        let remove = tx
            .prepare("DELETE FROM changes WHERE stream_id = $1 AND seq = $2")
            .await?;
        // In log order, reading the replaced edit's base as it is now (an
        // earlier removal may have rewritten it).
        for r in &replaced {
            let (seq, entity, row_id, field, hlc): (i64, String, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            tx.execute(
                &pass_base,
                &[&store_id, &seq, &entity, &row_id, &field, &hlc],
            )
            .await?;
            tx.execute(&remove, &[&store_id, &seq]).await?;
        }
        let replaced = replaced.len() as u64;
        tx.execute(
            "UPDATE streams SET compacted_through = GREATEST(compacted_through, $2) WHERE id = $1",
            &[&store_id, &horizon],
        )
        .await?;
        tx.commit().await?;
        Ok(Compacted {
            store,
            horizon,
            removed: erased + replaced,
        })
    }

    async fn append_server_changes(
        &self,
        stream_id: i64,
        changes: Vec<ServerChange>,
        now: DateTime<Utc>,
    ) -> StorageResult<usize> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mut seq: i64 = tx
            .query_opt(
                "SELECT last_seq FROM streams WHERE id = $1 FOR UPDATE",
                &[&stream_id],
            )
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("no stream {stream_id}")))?
            .get(0);
        let n = changes.len();
        for ch in changes {
            seq += 1;
            let incoming = IncomingChange {
                seq,
                digest: String::new(),
                verdict: Verdict::Log,
                hlc: ch.hlc.clone(),
                entity: ch.entity.clone(),
                row_id: ch.row_id.clone(),
                op: ch.op.clone(),
                field: ch.field.clone(),
                value: ch.value.clone(),
                base: None,
            };
            let customer = match customer_of(&incoming) {
                CustomerOf::Known { customer, .. } => Some(customer),
                _ => None,
            };
            if let (Some(cu), Some(owner)) = (&customer, owner_set_by(&incoming)) {
                tx.execute(
                    "INSERT INTO customer_owners(stream_id, customer_id, owner, hlc) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (stream_id, customer_id) DO UPDATE
                     SET owner = excluded.owner, hlc = excluded.hlc WHERE excluded.hlc > customer_owners.hlc",
                    &[&stream_id, cu, &owner, &ch.hlc],
                )
                .await?;
            }
            tx.execute(
                "INSERT INTO changes(stream_id, seq, hlc, entity, row_id, customer_id, op, field, value, base, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[&stream_id, &seq, &ch.hlc, &ch.entity, &ch.row_id, &customer, &ch.op, &ch.field, &ch.value, &ch.base, &now],
            )
            .await?;
        }
        tx.execute(
            "UPDATE streams SET last_seq = $1 WHERE id = $2",
            &[&seq, &stream_id],
        )
        .await?;
        tx.commit().await?;
        Ok(n)
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
