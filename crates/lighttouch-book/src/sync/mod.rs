//! Sync with the central server: the book's side of the protocol in
//! `lighttouch-protocol`. The steps here are synchronous and transactional
//! (read a push batch, acknowledge a push, apply a pulled page with its
//! cursor). `lighttouch-sync-client` runs them over the network.

mod apply;
mod conflicts;
mod quarantine;

pub use conflicts::Conflict;
pub use quarantine::QuarantinedChange;

use crate::changes::Entity;
use crate::clock::HlcGenerator;
use crate::error::{BookError, Result};
use crate::search;
use crate::search::SEARCH_DOCS_PENDING;
use crate::store::{deferred_indexes, meta_get, meta_set, Book, SecretStore};
use chrono::{DateTime, Utc};
use lighttouch_protocol::{
    LoginResponse, PullResponse, PushRequest, PushResponse, PushedChange, Restamp, UserInfo,
    MAX_PUSH_BYTES, SKIP_OP,
};
use rusqlite::{params, OptionalExtension};

/// Changes per push request.
pub const PUSH_BATCH: usize = 2_000;
/// Changes asked for per pull request.
pub const PULL_PAGE: u32 = 20_000;
/// A clock difference below this is noise (network delay), not skew.
const CLOCK_SKEW_TOLERANCE_MS: i64 = 30_000;
/// SQLite's page cache during a bulk pull, in KiB (normally 2 MiB).
const BULK_CACHE_KIB: i64 = 64 * 1024;

/// The `meta` value meaning "the token is in the secret store".
const TOKEN_IN_SECRET_STORE: &str = "@secret-store";

/// How this computer appears in the server's device list: its host name.
pub fn default_device_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "Lighttouch".into())
}

/// Who this book syncs as, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncAccount {
    pub server: String,
    pub token: String,
    pub user: UserInfo,
}

/// What the UI and `lighttouch status` show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    pub server: Option<String>,
    pub username: Option<String>,
    pub store: Option<String>,
    pub signed_in: bool,
    /// Local changes the server has not acknowledged yet.
    pub pending: u32,
    /// RFC 3339.
    pub last_success_at: Option<String>,
    pub last_error: Option<SyncErrorInfo>,
    /// Lost values not yet restored or dismissed.
    pub open_conflicts: u32,
    /// Changes kept aside (could not be applied here, or refused by the
    /// server) and not yet dismissed.
    pub quarantined: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncErrorInfo {
    pub code: String,
    pub message: String,
    /// RFC 3339.
    pub at: String,
}

impl Book {
    /// Saves a successful login: the account, and the associate's name and
    /// store as the server knows them. When the server bound the sign-in to
    /// another device ID (the one asked for was someone else's, or revoked),
    /// the book takes that ID in the same transaction: its unsent changes go
    /// out under it, numbered from 1.
    pub fn save_sync_account(&mut self, server: &str, login: &LoginResponse) -> Result<()> {
        self.save_account(server, login, None)
    }

    /// Saves the account, taking the login's device ID if it is new; with
    /// `continue_from` (a local sequence number), the new device's first
    /// change is that one and the unsent stamps move to its node. One
    /// transaction: a book killed half-way still has its old ID and token.
    fn save_account(
        &mut self,
        server: &str,
        login: &LoginResponse,
        continue_from: Option<i64>,
    ) -> Result<()> {
        let new_id = login.device_id.filter(|id| *id != self.device);
        let device = new_id.unwrap_or(self.device);
        // In the OS keyring where there is one; in the book otherwise.
        let key = token_key(device);
        let in_store = self
            .secrets
            .as_ref()
            .is_some_and(|s| s.set(&key, &login.token));
        let stored = if in_store {
            TOKEN_IN_SECRET_STORE
        } else {
            login.token.as_str()
        };
        let tx = self.conn.transaction()?;
        if let Some(id) = new_id {
            let base = match continue_from {
                Some(from) => {
                    move_unsent_stamps(&tx, from, id)?;
                    meta_set(&tx, "sync_pushed_seq", &(from - 1).to_string())?;
                    from - 1
                }
                None => {
                    let pushed = meta_get(&tx, "sync_pushed_seq")?
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    // The old ID's stamps may live on in a copy of this
                    // book: what is still to send takes the new one.
                    move_unsent_stamps(&tx, pushed + 1, id)?;
                    pushed
                }
            };
            meta_set(&tx, "device_id", &id.to_string())?;
            meta_set(&tx, "sync_seq_base", &base.to_string())?;
            // Back to what another copy of the book sent under the old ID.
            if let Some(cursor) = &login.cursor {
                meta_set(&tx, "sync_cursor", cursor)?;
            }
        }
        meta_set(&tx, "sync_server", server)?;
        meta_set(&tx, "server_url", server)?;
        meta_set(&tx, "sync_token", stored)?;
        let user = serde_json::to_string(&login.user)
            .map_err(|e| BookError::InvalidInput(e.to_string()))?;
        meta_set(&tx, "sync_user", &user)?;
        meta_set(&tx, "associate", &login.user.display_name)?;
        meta_set(&tx, "store", &login.user.store)?;
        tx.commit()?;
        if let Some(id) = new_id {
            // The old token belonged to the old ID.
            if let Some(s) = &self.secrets {
                s.delete(&self.token_key());
            }
            let last = meta_get(&self.conn, "hlc_last")?.and_then(|s| s.parse().ok());
            self.device = id;
            self.hlc = HlcGenerator::new(id, last);
        }
        self.adopt_server_time(login.server_time)?;
        Ok(())
    }

    /// Forgets the token (sign out). Unsent changes stay in the outbox.
    pub fn forget_sync_account(&mut self) -> Result<()> {
        if let Some(s) = &self.secrets {
            s.delete(&self.token_key());
        }
        self.conn.execute(
            "DELETE FROM meta WHERE key IN ('sync_token', 'sync_user')",
            [],
        )?;
        Ok(())
    }

    pub fn sync_account(&self) -> Result<Option<SyncAccount>> {
        let (Some(server), Some(mut token), Some(user)) = (
            meta_get(&self.conn, "sync_server")?,
            meta_get(&self.conn, "sync_token")?,
            meta_get(&self.conn, "sync_user")?,
        ) else {
            return Ok(None);
        };
        if token == TOKEN_IN_SECRET_STORE {
            // The keyring is locked or gone: sign in again.
            match self.secrets.as_ref().and_then(|s| s.get(&self.token_key())) {
                Some(t) => token = t,
                None => return Ok(None),
            }
        }
        let user = serde_json::from_str(&user)
            .map_err(|_| BookError::InvalidInput("corrupt sync account; sign in again".into()))?;
        Ok(Some(SyncAccount {
            server,
            token,
            user,
        }))
    }

    /// Keeps device tokens in `store` (the OS keyring) from now on.
    pub fn use_secret_store(&mut self, store: std::sync::Arc<dyn SecretStore>) {
        self.secrets = Some(store);
    }

    fn token_key(&self) -> String {
        token_key(self.device)
    }

    /// Local sequence numbers are the server's plus this (non-zero once the
    /// book continues as a new device: the new device's first is 1).
    fn seq_base(&self) -> Result<i64> {
        Ok(meta_get(&self.conn, "sync_seq_base")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// The server's sequence number as this book knows it.
    pub fn local_seq(&self, server: i64) -> Result<i64> {
        Ok(server + self.seq_base()?)
    }

    /// The highest change number this book wrote under its current device
    /// ID, as the server numbers them.
    /// Forgets what was pushed after change `seq`, so it goes out again.
    pub fn reset_pushed_seq(&mut self, seq: i64) -> Result<()> {
        meta_set(&self.conn, "sync_pushed_seq", &seq.max(0).to_string())
    }

    pub fn written_through(&self) -> Result<i64> {
        let last: i64 =
            self.conn
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                    r.get(0)
                })?;
        Ok((last.max(self.pushed_seq()?) - self.seq_base()?).max(0))
    }

    fn pushed_seq(&self) -> Result<i64> {
        Ok(meta_get(&self.conn, "sync_pushed_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Outbox entries the server has not acknowledged.
    pub fn pending_changes(&self) -> Result<u32> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM changes WHERE seq > ?1",
            [self.pushed_seq()?],
            |r| r.get(0),
        )?;
        Ok(n as u32)
    }

    /// The next contiguous range of unacknowledged changes, oldest first,
    /// at most `limit` of them and about [`MAX_PUSH_BYTES`] in all. A change
    /// the server would refuse (too large, a value that would not apply) is
    /// sent as a placeholder, so nothing waits behind it, and kept aside.
    pub fn push_batch(&self, limit: usize) -> Result<Option<PushRequest>> {
        use lighttouch_protocol::schema::{check_change, check_value_size, value_len};
        let changes = self.changes_since(self.pushed_seq()?, limit)?;
        if changes.is_empty() {
            return Ok(None);
        }
        let base = self.seq_base()?;
        let now = self
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut bytes = 0usize;
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            let size = c.value.as_ref().map_or(0, value_len) + 200;
            if !out.is_empty() && bytes + size > MAX_PUSH_BYTES {
                break;
            }
            bytes += size;
            let local = c.seq;
            let change = c.into_pushed(local - base);
            let checked = change
                .value
                .as_ref()
                .map_or(Ok(()), |v| check_value_size(value_len(v)))
                .and_then(|()| check_change(change.as_change()));
            let pushed = match checked {
                Ok(()) => change,
                Err(message) => {
                    let whole = serde_json::json!({"entity": change.entity, "row_id": change.row_id,
                        "op": change.op, "field": change.field, "hlc": change.hlc});
                    quarantine::keep_outgoing(
                        &self.conn, local, &whole, "not_sent", &message, &now,
                    )?;
                    PushedChange {
                        op: SKIP_OP.into(),
                        field: None,
                        value: None,
                        base: None,
                        ..change
                    }
                }
            };
            out.push(pushed);
        }
        Ok(Some(PushRequest { changes: out }))
    }

    /// Records what the server stored: rewrites restamped changes to the
    /// server's stamps, keeps refused changes aside and moves the
    /// acknowledged sequence, in one transaction.
    pub fn acknowledge_push(&mut self, response: &PushResponse) -> Result<()> {
        let base = self.seq_base()?;
        let now = self
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let applied_through = response.applied_through + base;
        let tx = self.conn.transaction()?;
        for r in &response.restamped {
            restamp(
                &tx,
                &Restamp {
                    seq: r.seq + base,
                    hlc: r.hlc.clone(),
                },
            )?;
        }
        for r in &response.rejected {
            let seq = r.seq + base;
            let change = crate::changes::read_changes(&tx, seq - 1, 1)?
                .into_iter()
                .next()
                .filter(|c| c.seq == seq);
            let whole = change.map_or(serde_json::Value::Null, |c| {
                serde_json::json!({"entity": c.entity, "row_id": c.row_id, "op": c.op,
                    "field": c.field, "hlc": c.hlc, "value": c.value})
            });
            quarantine::keep_outgoing(&tx, seq, &whole, &r.code, &r.message, &now)?;
        }
        let current: i64 = meta_get(&tx, "sync_pushed_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        meta_set(
            &tx,
            "sync_pushed_seq",
            &applied_through.max(current).to_string(),
        )?;
        let all_sent: bool = !tx
            .prepare("SELECT 1 FROM changes WHERE seq > ?1")?
            .exists([applied_through])?;
        if !response.restamped.is_empty() && all_sent {
            // Every stamp from the too-fast clock now lives only in its
            // bounded form, so the clock may restart from the latest of those.
            let newest: Option<String> =
                tx.query_row("SELECT MAX(hlc) FROM changes", [], |r| r.get(0))?;
            let seen = meta_get(&tx, "hlc_seen_max")?;
            let last = newest.max(seen).and_then(|s| s.parse().ok());
            self.hlc = HlcGenerator::new(self.device, last);
            meta_set(&tx, "hlc_last", &self.hlc.last().to_string())?;
        }
        tx.commit()?;
        self.committed(crate::store::Touched::Everything);
        self.adopt_server_time(response.server_time)?;
        Ok(())
    }

    /// The server holds this book's change `diverged_at` (its numbering)
    /// differently: the book was restored from a backup or copied. Every
    /// change before it the server has; from it on, the book continues as
    /// the new device `login` names, whose first change is that one, with
    /// its stamps moved to the new device's node so that no two books ever
    /// hold one stamp for different changes.
    pub fn continue_as_new_device(
        &mut self,
        diverged_at: i64,
        server: &str,
        login: &LoginResponse,
    ) -> Result<()> {
        if login.device_id.is_none_or(|id| id == self.device) {
            return Err(BookError::InvalidInput(
                "the server did not name a new device".into(),
            ));
        }
        let from = self.local_seq(diverged_at)?.max(1);
        self.save_account(server, login, Some(from))
    }

    /// Applies one pulled page and saves its cursor in the same transaction,
    /// so an interrupted pull resumes exactly where it stopped.
    pub fn apply_pull(&mut self, page: &PullResponse) -> Result<usize> {
        // A first sync or a re-download applies a whole store's history:
        // search keys are then built once at the end, for every customer
        // together, with a larger page cache meanwhile. The pending mark
        // commits with the pages, so a pull cut short still ends with keys
        // (see `Book::ensure_search_docs`).
        let bulk = page.reset
            || meta_get(&self.conn, "sync_cursor")?.is_none()
            || meta_get(&self.conn, SEARCH_DOCS_PENDING)?.is_some();
        if bulk {
            // Room for a page's index pages: spilling them mid-transaction
            // rewrote each many times. Given back when the pull ends.
            self.conn
                .pragma_update(None, "cache_size", -BULK_CACHE_KIB)?;
            // A history is mostly new pages, which a rollback journal writes
            // once and the write-ahead log twice (to the log, then the book).
            // Each commit is as safe either way. If another connection holds
            // the book, the mode stays as it is; it is WAL again at the end
            // of the load, and at every open.
            let _ = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "TRUNCATE", |r| {
                    r.get::<_, String>(0)
                });
        }
        let finished_bulk = bulk && !page.more;
        let applied = self.apply_page(page, bulk, finished_bulk);
        if finished_bulk {
            self.conn.pragma_update(None, "cache_size", -2000)?;
            self.conn.execute_batch("PRAGMA shrink_memory")?;
            crate::store::use_write_ahead_log(&self.conn)?;
        }
        let applied = applied?;
        // Pulled changes can touch tags and content: views rebuild, not patch.
        self.committed(if !page.changes.is_empty() || page.reset {
            crate::store::Touched::Everything
        } else {
            crate::store::Touched::none()
        });
        if bulk {
            // Rebuilt from search_docs at the next search.
            self.index = None;
        } else if let Some(index) = self.index.as_mut() {
            search::refresh(&self.conn, index, &applied.touched, applied.tags_changed)?;
        }
        self.adopt_server_time(page.server_time)?;
        Ok(page.changes.len())
    }

    /// One pulled page and its cursor, in one transaction. A change that
    /// will not apply is kept aside and the rest goes on: the page is first
    /// applied straight through, and only if some change fails is it applied
    /// again change by change (each in a savepoint).
    fn apply_page(
        &mut self,
        page: &PullResponse,
        bulk: bool,
        finished_bulk: bool,
    ) -> Result<apply::Applied> {
        match self.apply_page_with(page, bulk, finished_bulk, false) {
            Err(e) if quarantine::is_the_changes_fault(&e) => {
                self.apply_page_with(page, bulk, finished_bulk, true)
            }
            other => other,
        }
    }

    fn apply_page_with(
        &mut self,
        page: &PullResponse,
        bulk: bool,
        finished_bulk: bool,
        one_by_one: bool,
    ) -> Result<apply::Applied> {
        let now = self
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut tx = self.conn.transaction()?;
        if bulk {
            deferred_indexes::defer(&tx, SYNCED_TABLES)?;
        }
        let mut applied = apply::Applied::new(bulk);
        if page.reset {
            // The server no longer has every change since our cursor: start
            // over from its log. The outbox stays; unsent changes go back on
            // top when the re-download ends.
            forget_synced_data(&tx)?;
            meta_set(&tx, "sync_redownload", "1")?;
        }
        for change in &page.changes {
            apply_or_keep(&mut tx, change, &now, &mut applied, one_by_one)?;
        }
        if !page.more && meta_get(&tx, "sync_redownload")?.is_some() {
            let pushed: i64 = meta_get(&tx, "sync_pushed_seq")?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            // This book's unsent changes, replayed on top of the store's.
            for c in crate::changes::read_changes(&tx, pushed, usize::MAX)? {
                let c: lighttouch_protocol::PulledChange = c.into();
                apply_or_keep(&mut tx, &c, &now, &mut applied, one_by_one)?;
            }
            tx.execute("DELETE FROM meta WHERE key = 'sync_redownload'", [])?;
        }
        if !page.changes.is_empty() {
            // What a kept-aside change named may have arrived with this page.
            quarantine::retry_incoming(&mut tx, &now, &mut applied)?;
        }
        if finished_bulk {
            // The book's indexes are built while the search keys are computed;
            // search_docs' own after its rows are written.
            search::rebuild_docs_alongside(&tx, || {
                deferred_indexes::restore_except(&tx, &["search_docs"]).map(|_| ())
            })?;
            deferred_indexes::restore(&tx)?;
            tx.execute("DELETE FROM meta WHERE key = ?1", [SEARCH_DOCS_PENDING])?;
        } else if bulk {
            meta_set(&tx, SEARCH_DOCS_PENDING, "1")?;
        } else {
            for customer in &applied.touched {
                search::write_doc(&tx, customer)?;
            }
        }
        meta_set(&tx, "sync_cursor", &page.cursor)?;
        if let Some(max) = &applied.max_hlc {
            if let Ok(h) = max.parse() {
                self.hlc.observe(&h);
            }
            let seen = meta_get(&tx, "hlc_seen_max")?;
            if seen.as_deref() < Some(max.as_str()) {
                meta_set(&tx, "hlc_seen_max", max)?;
            }
            meta_set(&tx, "hlc_last", &self.hlc.last().to_string())?;
        }
        tx.commit()?;
        Ok(applied)
    }

    pub fn sync_cursor(&self) -> Result<Option<String>> {
        meta_get(&self.conn, "sync_cursor")
    }

    /// Corrects this device's clock by the server's, when they differ by more
    /// than network delay could explain.
    fn adopt_server_time(&mut self, server_time: DateTime<Utc>) -> Result<()> {
        let diff = (server_time - self.clock.now()).num_milliseconds();
        let offset = if diff.abs() > CLOCK_SKEW_TOLERANCE_MS {
            diff
        } else {
            0
        };
        if offset != self.clock_offset_ms {
            meta_set(&self.conn, "clock_offset_ms", &offset.to_string())?;
            self.clock_offset_ms = offset;
        }
        Ok(())
    }

    pub fn record_sync_success(&mut self) -> Result<()> {
        let now = self.now().to_rfc3339();
        meta_set(&self.conn, "sync_last_success", &now)?;
        self.conn
            .execute("DELETE FROM meta WHERE key = 'sync_last_error'", [])?;
        Ok(())
    }

    pub fn record_sync_error(&mut self, code: &str, message: &str) -> Result<()> {
        let info = SyncErrorInfo {
            code: code.to_string(),
            message: message.to_string(),
            at: self.now().to_rfc3339(),
        };
        let json =
            serde_json::to_string(&info).map_err(|e| BookError::InvalidInput(e.to_string()))?;
        meta_set(&self.conn, "sync_last_error", &json)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let account = self.sync_account()?;
        let open_conflicts: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(SyncStatus {
            server: meta_get(&self.conn, "sync_server")?,
            username: account.as_ref().map(|a| a.user.username.clone()),
            store: account.as_ref().map(|a| a.user.store.clone()),
            signed_in: account.is_some(),
            pending: self.pending_changes()?,
            last_success_at: meta_get(&self.conn, "sync_last_success")?,
            last_error: meta_get(&self.conn, "sync_last_error")?
                .and_then(|s| serde_json::from_str(&s).ok()),
            open_conflicts: open_conflicts as u32,
            quarantined: self.quarantined_count()?,
        })
    }
}

/// Applies one pulled change, or keeps it aside when it will not apply: its
/// values fail the shared schema, or (`one_by_one`, inside a savepoint) the
/// book refuses it.
fn apply_or_keep(
    tx: &mut rusqlite::Transaction<'_>,
    change: &lighttouch_protocol::PulledChange,
    now: &str,
    applied: &mut apply::Applied,
    one_by_one: bool,
) -> Result<()> {
    let check = lighttouch_protocol::schema::check_pulled(change.as_change());
    if let Err(message) = check {
        return quarantine::keep_incoming(tx, change, "invalid", &message, now);
    }
    if !one_by_one {
        return apply::apply_change(tx, change, now, applied);
    }
    let sp = tx.savepoint()?;
    match apply::apply_change(&sp, change, now, applied) {
        Ok(()) => Ok(sp.commit()?),
        Err(e) if quarantine::is_the_changes_fault(&e) => {
            drop(sp); // rolled back: nothing of the change stays
            applied.forget_lookups();
            quarantine::keep_incoming(tx, change, e.code(), &e.to_string(), now)
        }
        Err(e) => Err(e),
    }
}

/// The tables a pull writes, whose secondary indexes a bulk pull sets aside.
const SYNCED_TABLES: &[&str] = &[
    "customers",
    "notes",
    "note_revisions",
    "purchases",
    "touchpoints",
    "drafts",
    "follow_ups",
    "customer_tags",
    "search_docs",
    "tags",
    "content_items",
    "talk_scripts",
];

/// Where a device's token is kept in the OS keyring.
fn token_key(device: uuid::Uuid) -> String {
    format!("lighttouch-sync-token-{device}")
}

/// Gives this book's changes from `from` on the stamps of `device`'s node,
/// keeping their time and counter.
fn move_unsent_stamps(tx: &rusqlite::Transaction<'_>, from: i64, device: uuid::Uuid) -> Result<()> {
    let node = device.simple().to_string();
    let unsent: Vec<(i64, String)> = tx
        .prepare("SELECT seq, hlc FROM changes WHERE seq >= ?1 ORDER BY seq")?
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (seq, hlc) in unsent {
        if let Some((time, _)) = hlc.rsplit_once('-') {
            restamp(
                tx,
                &Restamp {
                    seq,
                    hlc: format!("{time}-{node}"),
                },
            )?;
        }
    }
    Ok(())
}

/// Empties the synced tables (not the outbox, not this book's own records).
fn forget_synced_data(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM note_revisions; DELETE FROM notes; DELETE FROM purchases;
         DELETE FROM touchpoints; DELETE FROM drafts; DELETE FROM customer_tags;
         DELETE FROM search_docs; DELETE FROM customers; DELETE FROM tags;
         DELETE FROM content_items; DELETE FROM field_clocks;",
    )?;
    Ok(())
}

/// Rewrites one change's stamp everywhere this book holds it.
fn restamp(tx: &rusqlite::Transaction<'_>, r: &Restamp) -> Result<()> {
    let row: Option<(String, String, String, String, Option<String>)> = tx
        .prepare_cached("SELECT hlc, entity, row_id, op, field FROM changes WHERE seq = ?1")?
        .query_row([r.seq], |x| {
            Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?, x.get(4)?))
        })
        .optional()?;
    let Some((old, entity, row_id, op, field)) = row else {
        return Ok(());
    };
    if old == r.hlc {
        return Ok(());
    }
    let new = &r.hlc;
    tx.execute(
        "UPDATE changes SET hlc = ?1 WHERE seq = ?2",
        params![new, r.seq],
    )?;
    tx.execute(
        "UPDATE changes SET base = ?1 WHERE entity = ?2 AND row_id = ?3 AND base = ?4",
        params![new, entity, row_id, old],
    )?;
    tx.execute(
        "UPDATE field_clocks SET base = ?1 WHERE entity = ?2 AND row_id = ?3 AND base = ?4",
        params![new, entity, row_id, old],
    )?;
    tx.execute(
        "UPDATE conflicts SET lost_hlc = ?1 WHERE entity = ?2 AND row_id = ?3 AND lost_hlc = ?4",
        params![new, entity, row_id, old],
    )?;
    tx.execute(
        "UPDATE conflicts SET won_hlc = ?1 WHERE entity = ?2 AND row_id = ?3 AND won_hlc = ?4",
        params![new, entity, row_id, old],
    )?;
    let Some(kind) = Entity::parse(&entity) else {
        return Ok(());
    };
    match (op.as_str(), kind) {
        ("insert", _) | ("erase", _) => {
            tx.execute(
                &format!(
                    "UPDATE {} SET hlc = ?1 WHERE id = ?2 AND hlc = ?3",
                    kind.table()
                ),
                params![new, row_id, old],
            )?;
        }
        ("set", _) => {
            tx.execute(
                "UPDATE field_clocks SET hlc = ?1
                 WHERE entity = ?2 AND row_id = ?3 AND field = ?4 AND hlc = ?5",
                params![new, entity, row_id, field, old],
            )?;
        }
        ("add", Entity::CustomerTag) => {
            if let Some((customer, tag)) = row_id.split_once('/') {
                tx.execute(
                    "UPDATE customer_tags SET added_hlc = ?1
                     WHERE customer_id = ?2 AND tag_id = ?3 AND added_hlc = ?4",
                    params![new, customer, tag, old],
                )?;
                tx.execute(
                    "UPDATE customer_tags SET removed_hlc = ?1
                     WHERE customer_id = ?2 AND tag_id = ?3 AND removed_hlc = ?4",
                    params![new, customer, tag, old],
                )?;
                // A later remove names the add it saw.
                tx.execute(
                    "UPDATE changes SET value = ?1
                     WHERE entity = 'customer_tag' AND row_id = ?2 AND op = 'remove' AND value = ?3",
                    params![
                        serde_json::Value::String(new.clone()).to_string(),
                        row_id,
                        serde_json::Value::String(old).to_string()
                    ],
                )?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::TimeZone;
    use lighttouch_protocol::Role;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct MemoryKeyring {
        entries: Mutex<HashMap<String, String>>,
        available: bool,
    }

    impl SecretStore for MemoryKeyring {
        fn set(&self, key: &str, secret: &str) -> bool {
            if self.available {
                self.entries
                    .lock()
                    .unwrap()
                    .insert(key.into(), secret.into());
            }
            self.available
        }
        fn get(&self, key: &str) -> Option<String> {
            self.entries.lock().unwrap().get(key).cloned()
        }
        fn delete(&self, key: &str) {
            self.entries.lock().unwrap().remove(key);
        }
    }

    fn login() -> LoginResponse {
        LoginResponse {
            token: "secret-token".into(),
            device_id: None,
            user: UserInfo {
                username: "xiaolin".into(),
                display_name: "小林".into(),
                role: Role::Associate,
                store: "静安嘉里".into(),
            },
            server_time: Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
            cursor: None,
        }
    }

    fn book() -> Book {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
        ));
        Book::open_in_memory(clock).unwrap()
    }

    #[test]
    fn the_token_lives_in_the_keyring_when_there_is_one_and_in_the_book_otherwise() {
        let keyring = Arc::new(MemoryKeyring {
            available: true,
            ..Default::default()
        });
        let mut b = book();
        b.use_secret_store(keyring.clone());
        b.save_sync_account("http://s", &login()).unwrap();
        assert_eq!(
            meta_get(&b.conn, "sync_token").unwrap().as_deref(),
            Some(TOKEN_IN_SECRET_STORE),
            "not in the book file"
        );
        assert_eq!(b.sync_account().unwrap().unwrap().token, "secret-token");
        keyring.entries.lock().unwrap().clear();
        assert!(
            b.sync_account().unwrap().is_none(),
            "a lost keyring entry means signing in again"
        );
        b.save_sync_account("http://s", &login()).unwrap();
        b.forget_sync_account().unwrap();
        assert!(keyring.entries.lock().unwrap().is_empty());

        let mut plain = book();
        plain.use_secret_store(Arc::new(MemoryKeyring::default()));
        plain.save_sync_account("http://s", &login()).unwrap();
        assert_eq!(
            plain.sync_account().unwrap().unwrap().token,
            "secret-token",
            "no keyring service: kept in the book"
        );
    }

    /// A varied book of `n` customers (names in both scripts and Latin,
    /// phones, tags, notes, purchases), for loading a first sync from.
    fn fill(book: &mut Book, n: usize, seed: u64) {
        const FAMILY: &[&str] = &["王", "張", "李", "陈", "劉", "赵", "Smith", "欧阳"];
        const GIVEN: &[&str] = &["伟", "芳", "丽娜", "靜", "Anna", "明", "秀英"];
        const TAGS: &[&str] = &["VIP", "古法金", "珍珠", "喜欢玫瑰金", "生日"];
        let mut rng = fastrand::Rng::with_seed(seed);
        for i in 0..n {
            let name = format!(
                "{}{}",
                FAMILY[rng.usize(..FAMILY.len())],
                GIVEN[rng.usize(..GIVEN.len())]
            );
            let phone = format!("139{:08}", seed * 10_000 + i as u64);
            let id = book
                .add_customer(&[("name", name.as_str()), ("phone", phone.as_str())], true)
                .unwrap();
            for _ in 0..rng.usize(0..3) {
                book.tag_customer(&id, TAGS[rng.usize(..TAGS.len())])
                    .unwrap();
            }
            if rng.bool() {
                book.add_note(&id, &format!("喜欢简洁款 {i}")).unwrap();
            }
            if rng.bool() {
                let p = crate::history::NewPurchase {
                    purchased_on: "2026-10-01".into(),
                    order_ref: Some(format!("O{i}")),
                    sku: None,
                    product: "古法金手镯".into(),
                    category: None,
                    quantity: 1,
                    amount_cents: Some(1_280_000),
                    store: None,
                };
                book.add_purchase(&id, &p).unwrap();
            }
        }
    }

    fn pulled(source: &Book) -> Vec<lighttouch_protocol::PulledChange> {
        source
            .changes_since(0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    fn page(
        changes: &[lighttouch_protocol::PulledChange],
        cursor: usize,
        more: bool,
    ) -> PullResponse {
        PullResponse {
            reset: false,
            changes: changes.to_vec(),
            cursor: cursor.to_string(),
            more,
            server_time: Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
        }
    }

    fn docs(b: &Book) -> Vec<(String, String, String, String, String)> {
        b.conn
            .prepare("SELECT customer_id, sort_key, pinyin, others, notes FROM search_docs ORDER BY customer_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_first_sync_builds_search_keys_once_and_they_equal_keys_written_one_by_one() {
        let mut source = book();
        fill(&mut source, 60, 7);
        let changes = pulled(&source);
        let mut fresh = book();
        let half = changes.len() / 2;
        fresh.apply_pull(&page(&changes[..half], 1, true)).unwrap();
        assert!(meta_get(&fresh.conn, SEARCH_DOCS_PENDING)
            .unwrap()
            .is_some());
        fresh.apply_pull(&page(&changes[half..], 2, false)).unwrap();
        assert!(meta_get(&fresh.conn, SEARCH_DOCS_PENDING)
            .unwrap()
            .is_none());
        assert_eq!(index_names(&fresh), index_names(&source));
        let bulk = docs(&fresh);
        let live: i64 = fresh
            .conn
            .query_row(
                "SELECT COUNT(*) FROM customers WHERE erased_at IS NULL AND merged_into IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bulk.len() as i64, live);
        let ids: Vec<String> = bulk.iter().map(|d| d.0.clone()).collect();
        for id in &ids {
            search::write_doc(&fresh.conn, id).unwrap();
        }
        assert_eq!(docs(&fresh), bulk);
        // Later pulls write keys customer by customer again.
        let name = source.customer(&ids[0]).unwrap().name;
        let found = fresh.search(&name, 20).unwrap();
        assert!(found.iter().any(|r| r.id == ids[0]), "{name}: {found:?}");
    }

    fn index_names(b: &Book) -> Vec<String> {
        b.conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_first_sync_sets_indexes_aside_and_a_book_cut_short_gets_them_back_when_opened() {
        let mut source = book();
        fill(&mut source, 30, 5);
        let all_indexes = index_names(&source);
        assert!(all_indexes.contains(&"notes_customer".to_string()));
        let changes = pulled(&source);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.sqlite3");
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
        ));
        let open = || Book::open(&path, crate::OpenMode::CreateIfMissing, clock.clone()).unwrap();
        let mut fresh = open();
        let half = changes.len() / 2;
        fresh.apply_pull(&page(&changes[..half], 1, true)).unwrap();
        assert!(
            !index_names(&fresh).contains(&"notes_customer".to_string()),
            "set aside while the history loads"
        );
        let mode = |b: &Book| -> String {
            b.conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(mode(&fresh), "truncate", "a rollback journal while loading");
        drop(fresh); // the app is closed (or killed) mid-sync
        let mut reopened = open();
        assert_eq!(index_names(&reopened), all_indexes, "back when opened");
        assert_eq!(mode(&reopened), "wal");
        reopened
            .apply_pull(&page(&changes[half..], 2, false))
            .unwrap();
        assert_eq!(index_names(&reopened), all_indexes, "back at the end");
        assert_eq!(mode(&reopened), "wal");
        assert_eq!(docs(&reopened).len(), docs(&source).len());
    }

    #[test]
    fn a_first_sync_cut_short_is_searchable_all_the_same() {
        let mut source = book();
        fill(&mut source, 40, 3);
        let changes = pulled(&source);
        let mut fresh = book();
        fresh
            .apply_pull(&page(&changes[..changes.len() / 2], 1, true))
            .unwrap();
        let arrived = docs(&source)
            .into_iter()
            .map(|d| d.0)
            .find(|id| fresh.customer(id).is_ok())
            .expect("the first half brings customers");
        let name = source.customer(&arrived).unwrap().name;
        let hits: Vec<String> = fresh
            .search(&name, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert!(hits.contains(&arrived), "{name} not found: {hits:?}");
        assert!(
            meta_get(&fresh.conn, SEARCH_DOCS_PENDING)
                .unwrap()
                .is_none(),
            "built at the first search"
        );
        fresh
            .apply_pull(&page(&changes[changes.len() / 2..], 2, false))
            .unwrap();
        assert_eq!(docs(&fresh).len(), docs(&source).len());
    }

    fn stamp(n: u32) -> String {
        format!("1795000000000-{n:06}-000000000000000000000000000000ee")
    }

    fn insert(
        n: u32,
        entity: &str,
        id: &str,
        value: serde_json::Value,
    ) -> lighttouch_protocol::PulledChange {
        lighttouch_protocol::PulledChange {
            hlc: stamp(n),
            entity: entity.into(),
            row_id: id.into(),
            op: "insert".into(),
            field: None,
            value: Some(value),
            base: None,
        }
    }

    #[test]
    fn a_change_the_database_refuses_is_kept_aside_and_the_rest_of_the_page_applies() {
        let mut b = book();
        let t = "2026-11-24T10:00:00.000Z";
        let changes = vec![
            insert(
                1,
                "customer",
                "c1",
                serde_json::json!({"name": "王芳", "created_at": t}),
            ),
            // Fits the schema, but names content this book does not have:
            // the foreign key refuses it, mid-page.
            insert(
                2,
                "draft",
                "d1",
                serde_json::json!({"customer_id": "c1", "content_id": "nope",
                "body": "您好", "created_at": t}),
            ),
            insert(
                3,
                "note",
                "n1",
                serde_json::json!({"customer_id": "c1", "body": "喜欢珍珠",
                "created_at": t}),
            ),
            insert(
                4,
                "customer",
                "c2",
                serde_json::json!({"name": "李娜", "created_at": t}),
            ),
        ];
        b.apply_pull(&page(&changes, 1, false)).unwrap();
        assert_eq!(b.customer_count().unwrap(), 2);
        assert_eq!(b.notes("c1").unwrap().len(), 1);
        let drafts: i64 = b
            .conn
            .query_row("SELECT COUNT(*) FROM drafts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(drafts, 0, "nothing of the refused change stays");
        let kept = b.quarantined_changes().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (
                kept[0].direction.as_str(),
                kept[0].entity.as_str(),
                kept[0].row_id.as_str()
            ),
            ("in", "draft", "d1")
        );
        assert_eq!(kept[0].code, "database");
        assert_eq!(
            kept[0].customer_name.as_deref(),
            Some("王芳"),
            "named for the person"
        );
        assert_eq!(b.sync_status().unwrap().quarantined, 1);
        assert_eq!(
            b.sync_cursor().unwrap().as_deref(),
            Some("1"),
            "the cursor moved past it"
        );
        // Pulled again (a re-download brings the whole log back): kept once.
        b.apply_pull(&page(&changes, 2, false)).unwrap();
        assert_eq!(b.quarantined_changes().unwrap().len(), 1);
        b.dismiss_quarantined(kept[0].id).unwrap();
        assert_eq!(b.sync_status().unwrap().quarantined, 0);
        assert!(b.dismiss_quarantined(kept[0].id).is_err());
    }

    #[test]
    fn a_value_the_server_would_refuse_is_refused_where_it_is_written() {
        let mut b = book();
        let c = b.add_customer(&[("name", "王芳")], false).unwrap();
        // Within the editor's 20,000 characters, but over 64 KiB on the wire.
        let err = b.add_note(&c, &"😀".repeat(19_000)).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(err.to_string().contains("too large to sync"), "{err}");
        assert_eq!(b.pending_changes().unwrap(), 1, "only the customer waits");
        assert!(b
            .push_batch(10)
            .unwrap()
            .unwrap()
            .changes
            .iter()
            .all(|c| c.op != "skip"));
    }

    /// A copy of a book sends a customer's creation again under a later
    /// stamp (the server bounded it at a later push) after an edit the other
    /// copy made: every book keeps the edit, whichever arrives first.
    #[test]
    fn an_edit_outlives_its_customers_creation_sent_again() {
        use lighttouch_protocol::PulledChange;
        let node = "0000000000000000000000000000000a";
        let insert = |millis: u64| PulledChange {
            hlc: format!("{millis:013}-000000-{node}"),
            entity: "customer".into(),
            row_id: "c1".into(),
            op: "insert".into(),
            field: None,
            value: Some(serde_json::json!({"name": "王芳", "created_at": "2026-11-24T10:00:00Z"})),
            base: None,
        };
        let early = insert(1_795_000_000_000);
        let again = insert(1_795_000_900_000);
        let edit = PulledChange {
            hlc: format!("1795000000001-000000-{node}"),
            op: "set".into(),
            field: Some("ring_size".into()),
            value: Some(serde_json::json!("12")),
            base: Some(early.hlc.clone()),
            ..early.clone()
        };
        for order in [
            vec![early.clone(), edit.clone(), again.clone()],
            vec![again.clone(), edit.clone(), early.clone()],
            vec![again.clone(), early.clone(), edit.clone()],
        ] {
            let mut b = book();
            for (i, c) in order.iter().enumerate() {
                b.apply_pull(&page(std::slice::from_ref(c), i + 1, false))
                    .unwrap();
            }
            let c = b.customer("c1").unwrap();
            assert_eq!(c.ring_size.as_deref(), Some("12"), "{order:?}");
            assert_eq!(c.name, "王芳");
        }
    }
}
