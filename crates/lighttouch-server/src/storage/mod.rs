//! Where the server keeps stores, people, devices and the change log. One
//! trait, two implementations: SQLite (the embedded default) and PostgreSQL
//! (several stateless server processes over one database). Each unit of work
//! is one transaction inside the implementation; the rules that do not need
//! the database (validation, clock bounds) live in `crate::sync`.

mod log;
mod postgres;
mod sqlite;

pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lighttouch_protocol::{DeviceInfo, PulledChange, RawChangeValue, Role};
use std::sync::Arc;
use uuid::Uuid;

/// Stream 0 carries HQ content to every store; stream N is store N's book.
pub const HQ_STREAM: i64 = 0;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("sequence gap: the server expects change {expected} next")]
    Gap { expected: i64 },
    /// A re-sent sequence number carries a change other than the one stored.
    #[error("change {at} differs from the change {at} this device sent before")]
    Diverged { at: i64 },
    #[error("database error: {0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        StorageError::Database(e.to_string())
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Database(e.to_string())
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRow {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub store_id: i64,
    pub store: String,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub store: String,
    pub password_hash: String,
}

impl UserRow {
    /// The user as the protocol shows them.
    pub fn info(&self) -> lighttouch_protocol::UserInfo {
        lighttouch_protocol::UserInfo {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            store: self.store.clone(),
        }
    }
}

/// A token hash nothing can match: the session it replaces has ended.
pub(crate) fn ended_token() -> String {
    format!("ended:{}", crate::auth::new_token())
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuth {
    pub device_id: Uuid,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub store_id: i64,
    pub store: String,
}

/// What becomes of one pushed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Appended to the store's log.
    Log,
    /// Refused on its own: its number is recorded, nothing is handed out.
    Reject { code: String, message: String },
    /// The device sent a placeholder for a change it could not send.
    Skip,
}

impl DeviceAuth {
    /// The device's user as the protocol shows them.
    pub fn user_info(&self) -> lighttouch_protocol::UserInfo {
        lighttouch_protocol::UserInfo {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            store: self.store.clone(),
        }
    }
}

/// A change ready to store: validated, its stamp already bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingChange {
    pub seq: i64,
    /// What the device sent, digested ([`digest`]): a re-sent sequence
    /// number is compared with it.
    pub digest: String,
    pub verdict: Verdict,
    pub hlc: String,
    pub entity: String,
    pub row_id: String,
    pub op: String,
    pub field: Option<String>,
    /// JSON text.
    pub value: Option<String>,
    pub base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    pub applied_through: i64,
    /// (device seq, stored stamp) for every change of the pushed range.
    pub stored_stamps: Vec<(i64, String)>,
    /// (device seq, code, message) for every refused change of the range.
    pub rejected: Vec<(i64, String, String)>,
    /// Ownership this push changed: (customer, from, to), for the audit.
    pub owner_changes: Vec<(String, Option<String>, Option<String>)>,
}

/// A digest of a change as the device sent it: its identity (sequence,
/// stamp, row, operation, field, base) and, apart, its value (`value`, the
/// JSON text the server stores), because an erasure on the device may null
/// a value it sends again later.
pub fn digest(seq: i64, c: &lighttouch_protocol::PushedChange, value: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut key = Sha256::new();
    let seq = seq.to_string();
    let parts = [
        Some(seq.as_str()),
        Some(c.hlc.as_str()),
        Some(c.entity.as_str()),
        Some(c.row_id.as_str()),
        Some(c.op.as_str()),
        c.field.as_deref(),
        c.base.as_deref(),
    ];
    for part in parts {
        // A length before each part: no two changes hash the same bytes.
        match part {
            Some(p) => {
                key.update((p.len() as u64).to_le_bytes());
                key.update(p.as_bytes());
            }
            None => key.update(u64::MAX.to_le_bytes()),
        }
    }
    let key = hex::encode(&key.finalize()[..16]);
    match value.filter(|v| *v != "null") {
        None => format!("{key}:"),
        Some(v) => format!("{key}:{}", hex::encode(&Sha256::digest(v.as_bytes())[..16])),
    }
}

/// Whether a re-sent change is the one stored: the same identity, and the
/// same value unless the device has since wiped it.
pub(crate) fn same_change(stored: &str, resent: &str) -> bool {
    let (Some((sk, sv)), Some((rk, rv))) = (stored.split_once(':'), resent.split_once(':')) else {
        return stored == resent;
    };
    sk == rk && (sv == rv || rv.is_empty())
}

/// Compares the re-sent part of a push with what the device sent before.
/// A number with no digest was stored before digests were kept: a duplicate.
pub(crate) fn check_resent(
    stored: &std::collections::HashMap<i64, String>,
    changes: &[IncomingChange],
    pushed: i64,
) -> StorageResult<()> {
    for c in changes.iter().take_while(|c| c.seq <= pushed) {
        if let Some(d) = stored.get(&c.seq) {
            if !same_change(d, &c.digest) {
                return Err(StorageError::Diverged { at: c.seq });
            }
        }
    }
    Ok(())
}

/// What signing in with a device ID does to the devices table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DeviceBinding {
    /// The user's own live device: a new token for it.
    Refresh,
    /// A new row with this ID (the one asked for, or a fresh one).
    Register(Uuid),
}

/// `existing`: the asked-for ID's row, as (store, user, revoked). An ID
/// that belongs to someone else, or was revoked, is never taken over: the
/// device gets `fresh` instead. A book stays with one store.
pub(crate) fn bind_device(
    existing: Option<(i64, i64, bool)>,
    store: i64,
    user: i64,
    asked: Uuid,
    fresh: Uuid,
) -> StorageResult<DeviceBinding> {
    match existing {
        Some((s, _, _)) if s != store => Err(StorageError::Conflict(
            "this book already syncs with another store; use a new book for this account".into(),
        )),
        Some((_, owner, false)) if owner == user => Ok(DeviceBinding::Refresh),
        Some(_) => Ok(DeviceBinding::Register(fresh)),
        None => Ok(DeviceBinding::Register(asked)),
    }
}

/// What a pushed change that sets a customer's owner does.
pub(crate) enum OwnerMove {
    /// An associate moving a colleague's customer: refused.
    Refused(String),
    /// It becomes the owner.
    Moves,
    /// Older than the owner it meets (a change re-sent under a new device
    /// ID, or written offline before a handover): it loses on every book,
    /// so it moves nothing and is no handover.
    Loses,
}

/// `current`: the customer's owner and its stamp, as the server holds them.
pub(crate) fn owner_move(
    pusher: &DeviceAuth,
    current: Option<&(Option<String>, String)>,
    hlc: &str,
    customer: &str,
) -> OwnerMove {
    if current.is_some_and(|(_, stamp)| hlc <= stamp.as_str()) {
        return OwnerMove::Loses;
    }
    let owner = current.and_then(|(o, _)| o.as_deref());
    match owner_change_refused(pusher, owner, customer) {
        Some(message) => OwnerMove::Refused(message),
        None => OwnerMove::Moves,
    }
}

/// A change sent again keeps the stamp the server stored the first time,
/// however `prepare_push` bounded it this time; a later change of the same
/// push that names it (`base`) names the stored stamp, or it would look
/// concurrent with the very value it replaced. `stored`: the stamps of the
/// push's numbers the server already has.
pub(crate) fn name_stored_stamps(
    changes: &mut [IncomingChange],
    stored: &std::collections::HashMap<i64, String>,
) {
    let renamed: std::collections::HashMap<String, String> = changes
        .iter()
        .filter_map(|c| {
            let kept = stored.get(&c.seq)?;
            (*kept != c.hlc).then(|| (c.hlc.clone(), kept.clone()))
        })
        .collect();
    if renamed.is_empty() {
        return;
    }
    for c in changes.iter_mut() {
        if let Some(kept) = c.base.as_ref().and_then(|b| renamed.get(b)) {
            c.base = Some(kept.clone());
        }
    }
}

/// Why an ownership change by `pusher` is refused, if it is: an associate may
/// take an unowned customer or give up their own, never move a colleague's
/// (that is a handover, which a manager makes and the audit records).
pub(crate) fn owner_change_refused(
    pusher: &DeviceAuth,
    current: Option<&str>,
    customer: &str,
) -> Option<String> {
    if pusher.role != Role::Associate {
        return None;
    }
    match current {
        Some(owner) if owner != pusher.display_name => Some(format!(
            "customer {customer} belongs to {owner}; only a store manager can hand a colleague's customer over"
        )),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub store_seq: i64,
    pub hq_seq: i64,
    /// A re-download is under way (the device's own changes come back too).
    pub redownload: bool,
    /// During a re-download: how far the log was compacted when it began.
    pub since_compaction: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        if self.redownload {
            format!(
                "v1.{}.{}.r{}",
                self.store_seq, self.hq_seq, self.since_compaction
            )
        } else {
            format!("v1.{}.{}", self.store_seq, self.hq_seq)
        }
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let mut parts = s.split('.');
        if parts.next()? != "v1" {
            return None;
        }
        let store_seq = parts.next()?.parse().ok()?;
        let hq_seq = parts.next()?.parse().ok()?;
        let (redownload, since_compaction) = match parts.next() {
            None => (false, 0),
            Some(flag) => (true, flag.strip_prefix('r')?.parse().ok()?),
        };
        if parts.next().is_some() || store_seq < 0 || hq_seq < 0 {
            return None;
        }
        Some(Cursor {
            store_seq,
            hq_seq,
            redownload,
            since_compaction,
        })
    }
}

/// What a compaction removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Compacted {
    pub store: String,
    /// Every active device has pulled up to here; nothing above is touched.
    pub horizon: i64,
    pub removed: u64,
}

#[derive(Debug, Clone)]
pub struct PullPage {
    pub changes: Vec<PulledChange<RawChangeValue>>,
    pub cursor: Cursor,
    pub more: bool,
    /// The device's cursor was older than the compacted log: these changes
    /// start again from the beginning.
    pub reset: bool,
}

/// A change the server itself writes (a reassignment, HQ content).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerChange {
    pub hlc: String,
    pub entity: String,
    pub row_id: String,
    pub op: String,
    pub field: Option<String>,
    pub value: Option<String>,
    /// The stamp of the value this change knowingly replaces.
    pub base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub details: serde_json::Value,
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// A short name for logs and benchmark tables.
    fn kind(&self) -> &'static str;

    async fn create_store(&self, name: &str, now: DateTime<Utc>) -> StorageResult<StoreRow>;
    async fn stores(&self) -> StorageResult<Vec<StoreRow>>;
    async fn create_user(&self, user: &NewUser, now: DateTime<Utc>) -> StorageResult<UserRow>;
    async fn user(&self, username: &str) -> StorageResult<Option<UserRow>>;
    async fn users(&self) -> StorageResult<Vec<UserRow>>;
    /// Sets a password and ends every session of the user (their devices
    /// sign in again), except the one whose token hash is `keep`.
    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep: Option<&str>,
    ) -> StorageResult<()>;

    /// Counts a sign-in attempt against each key (an account, an address)
    /// before the password is checked, in one transaction shared by every
    /// server process. `Err(wait)` when some key must still wait; nothing is
    /// counted then.
    async fn begin_login_attempt(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StorageResult<Result<(), std::time::Duration>>;

    /// After a good password: clears `clear` (the account) and takes the
    /// provisional count back from `undo` (the address).
    async fn finish_good_login(&self, clear: &str, undo: &str) -> StorageResult<()>;

    /// Registers a device for a user, or gives the user's own device a new
    /// token. A device ID that belongs to another user or was revoked is
    /// never taken over: the device is registered as `fresh_id` instead.
    /// Returns the ID registered. A device bound to another store is refused.
    async fn register_device(
        &self,
        device_id: Uuid,
        fresh_id: Uuid,
        user_id: i64,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Uuid>;
    async fn device_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<DeviceAuth>>;
    async fn devices(&self, store_id: Option<i64>) -> StorageResult<Vec<DeviceInfo>>;
    /// Returns false when no such device exists.
    async fn revoke_device(&self, device_id: Uuid, now: DateTime<Utc>) -> StorageResult<bool>;
    /// Ends one session (sign out): the token stops working, the device
    /// stays registered and may sign in again.
    async fn end_session(&self, token_hash: &str) -> StorageResult<()>;

    /// Stores a device's consecutive changes exactly once, in one
    /// transaction. A re-sent number whose digest differs from the stored
    /// one is `Diverged`; refused changes are recorded, not logged.
    async fn push(
        &self,
        pusher: &DeviceAuth,
        changes: Vec<IncomingChange>,
        now: DateTime<Utc>,
    ) -> StorageResult<PushOutcome>;

    /// Gives the user of `old` a new device `new_id` with its own token,
    /// which inherits what `old` was served (its pull cursor stays good).
    /// `old` keeps its own token. Fails when `new_id` is taken. Answers the
    /// store position of the first change `old` holds with a device number
    /// of `diverged_at` or more (the book asking never had those).
    async fn reregister_device(
        &self,
        old: &DeviceAuth,
        new_id: Uuid,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        diverged_at: i64,
    ) -> StorageResult<Option<i64>>;

    /// Changes of the store and of HQ after `cursor`, below the committed
    /// high-water mark, leaving out the asking device's own up to
    /// `known_through` (all of them when `None`; none during a re-download). Records that the device has applied everything up to
    /// `cursor`. A cursor older than the compacted log starts a re-download.
    async fn pull(
        &self,
        store_id: i64,
        device_id: Uuid,
        cursor: Cursor,
        limit: u32,
        known_through: Option<i64>,
    ) -> StorageResult<PullPage>;

    /// Appends server-written changes to a stream, in one transaction.
    async fn append_server_changes(
        &self,
        stream_id: i64,
        changes: Vec<ServerChange>,
        now: DateTime<Utc>,
    ) -> StorageResult<usize>;

    /// Customers of a store whose current owner is `owner` (all of them, or
    /// those among `only`), with the stamp of that ownership.
    async fn customers_owned_by(
        &self,
        store_id: i64,
        owner: &str,
        only: &[String],
    ) -> StorageResult<Vec<(String, String)>>;

    /// Clears what every active device of the store has synced past: the
    /// changes of erased customers (tombstones included) and edits replaced
    /// by newer ones. Never by age.
    async fn compact(&self, store_id: i64) -> StorageResult<Compacted>;

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        details: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;
    async fn audit_log(&self, limit: u32) -> StorageResult<Vec<AuditEntry>>;
}

/// Opens the storage a URL names: `sqlite:PATH` (or a bare path) or
/// `postgres://…`. Any other scheme is an error, never a new empty database.
pub async fn open(url: &str) -> Result<Arc<dyn Storage>, StorageError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStorage::connect(url).await?));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if url.contains("://")
        || url
            .split_once(':')
            .is_some_and(|(s, _)| s.len() > 1 && !s.contains('/'))
    {
        return Err(StorageError::Invalid(format!(
            "unsupported database URL {url:?}: use sqlite:PATH or postgres://USER@HOST/DB"
        )));
    } else {
        url
    };
    Ok(Arc::new(SqliteStorage::open(std::path::Path::new(path))?))
}

/// How to find the customer a change belongs to (erasure and ownership are per customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CustomerOf {
    /// Known from the change itself; `register` when a new child row names it.
    Known { customer: String, register: bool },
    /// A row registered earlier: look it up.
    Row { entity: String, row_id: String },
    /// A note revision: the customer of its note.
    Note(String),
    /// Not a customer's row (tags, content).
    Nobody,
}

pub(crate) fn customer_of(c: &IncomingChange) -> CustomerOf {
    let value: Option<serde_json::Value> = c
        .value
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok());
    let named = |key: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match c.entity.as_str() {
        "customer" => CustomerOf::Known {
            customer: c.row_id.clone(),
            register: false,
        },
        "customer_tag" => match c.row_id.split_once('/') {
            Some((customer, _)) => CustomerOf::Known {
                customer: customer.to_string(),
                register: false,
            },
            None => CustomerOf::Nobody,
        },
        "note" | "purchase" | "touchpoint" | "draft" | "follow_up" => {
            match (c.op.as_str(), named("customer_id")) {
                ("insert", Some(customer)) => CustomerOf::Known {
                    customer,
                    register: true,
                },
                _ => CustomerOf::Row {
                    entity: c.entity.clone(),
                    row_id: c.row_id.clone(),
                },
            }
        }
        "note_revision" => match (c.op.as_str(), named("note_id")) {
            ("insert", Some(note)) => CustomerOf::Note(note),
            _ => CustomerOf::Row {
                entity: c.entity.clone(),
                row_id: c.row_id.clone(),
            },
        },
        _ => CustomerOf::Nobody,
    }
}

/// Whether a change needs its customer to be in the store already: every
/// change about a customer but the one that creates them.
pub(crate) fn needs_known_customer(c: &IncomingChange) -> bool {
    !(c.entity == "customer" && c.op == "insert")
}

/// The refusal of a change that names a row the store never had: no book
/// could apply it, and one that held it back until the row came would
/// lose the edits made meanwhile (only a buggy client sends it).
pub(crate) fn not_in_store(c: &IncomingChange, kind: &str, id: &str) -> Verdict {
    Verdict::Reject {
        code: lighttouch_protocol::codes::NOT_FOUND.into(),
        message: format!(
            "change {}: names {kind} {id}, which this store does not have",
            c.seq
        ),
    }
}

/// The owner a change sets, if it sets one: `Some(Some(name))`, or `Some(None)` when cleared.
pub(crate) fn owner_set_by(c: &IncomingChange) -> Option<Option<String>> {
    if c.entity != "customer" {
        return None;
    }
    let value: Option<serde_json::Value> = c
        .value
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok());
    match c.op.as_str() {
        "insert" => value.map(|v| v.get("owner").and_then(|o| o.as_str()).map(str::to_string)),
        "set" if c.field.as_deref() == Some("owner") => {
            Some(value.and_then(|v| v.as_str().map(str::to_string)))
        }
        _ => None,
    }
}

/// The bookkeeping of one pull page, shared by the storages: whether the
/// cursor starts a re-download, which logs to read from where, with how much
/// room left, and the cursor to hand back. The storage only runs the queries.
pub(crate) struct PageBuilder {
    device: Uuid,
    known_through: Option<i64>,
    start: Cursor,
    next: Cursor,
    budget: i64,
    /// Bytes of the page so far (values dominate).
    bytes: usize,
    more: bool,
    reset: bool,
    changes: Vec<PulledChange<RawChangeValue>>,
}

pub(crate) enum PulledMark {
    Keep,
    Set(i64),
    Raise(i64),
}

/// One row of a log, as a storage read it.
pub(crate) struct LogRow {
    pub seq: i64,
    pub device: Option<Uuid>,
    pub device_seq: Option<i64>,
    pub change: PulledChange<RawChangeValue>,
}

impl PageBuilder {
    /// `compacted`: how far the store's log has been compacted; `served`:
    /// the furthest store sequence this device was ever handed. A cursor
    /// beyond it was not the server's: it is not believed (nor allowed to
    /// move the compaction horizon), and the device starts again.
    pub fn new(
        device: Uuid,
        known_through: Option<i64>,
        cursor: Cursor,
        compacted: i64,
        served: i64,
        limit: u32,
    ) -> Self {
        let behind_compaction = if cursor.redownload {
            // A compaction since the re-download began may have cleared
            // what it has not reached yet: start it again.
            compacted > cursor.since_compaction
        } else {
            cursor.store_seq < compacted
        };
        let reset = cursor.store_seq > served || (cursor.store_seq > 0 && behind_compaction);
        let start = if reset {
            Cursor {
                store_seq: 0,
                hq_seq: 0,
                redownload: true,
                since_compaction: compacted,
            }
        } else {
            cursor
        };
        PageBuilder {
            device,
            known_through,
            start,
            next: start,
            budget: limit as i64,
            bytes: 0,
            more: false,
            reset,
            changes: Vec::new(),
        }
    }

    /// What the device's pull mark becomes: the highest store sequence it has
    /// applied the equivalent of. A re-download starts it again from zero
    /// (so no compaction overtakes what it has not reached yet).
    pub fn pulled_mark(&self, sent: Cursor) -> PulledMark {
        if self.reset {
            PulledMark::Set(0)
        } else if sent.redownload {
            PulledMark::Set(sent.store_seq)
        } else if sent.store_seq > 0 {
            PulledMark::Raise(sent.store_seq)
        } else {
            PulledMark::Keep
        }
    }

    /// The logs to read, each with the sequence to read after: HQ content
    /// first, because a store's drafts may name content items.
    pub fn logs(&self, store_id: i64) -> [(i64, i64); 2] {
        [
            (HQ_STREAM, self.start.hq_seq),
            (store_id, self.start.store_seq),
        ]
    }

    /// How many rows the next read may return; 0 means the page is full.
    pub fn room(&mut self) -> i64 {
        if self.budget == 0 {
            self.more = true;
        }
        self.budget
    }

    /// Takes the rows read from `log` (at most `room()`, in order) below its
    /// committed high-water mark `high`.
    pub fn take(&mut self, log: i64, from: i64, high: i64, rows: Vec<LogRow>) {
        let read = rows.len() as i64;
        let mut last = from;
        let mut cut = false;
        for r in rows {
            // Bounded by bytes too; at least one row, however large, moves on.
            if self.bytes >= lighttouch_protocol::MAX_PULL_BYTES {
                cut = true;
                break;
            }
            last = r.seq;
            self.bytes +=
                r.change.value.as_ref().map_or(0, |v| v.get().len()) + r.change.row_id.len() + 160;
            // A device does not get its own changes back, except in a
            // re-download, or those another copy of its book wrote.
            let known = match (r.device_seq, self.known_through) {
                (Some(seq), Some(through)) => seq <= through,
                _ => true,
            };
            if !self.start.redownload && r.device == Some(self.device) && known {
                continue;
            }
            self.changes.push(r.change);
        }
        if cut {
            self.budget = 0;
        } else {
            // A short read reached the mark (compaction leaves gaps in sequences).
            if read < self.budget {
                last = high;
            }
            self.budget -= read;
        }
        if log == HQ_STREAM {
            self.next.hq_seq = last;
        } else {
            self.next.store_seq = last;
        }
        if last < high {
            self.more = true;
        }
    }

    /// The furthest store sequence this page hands out.
    pub fn served(&self) -> i64 {
        self.next.store_seq
    }

    pub fn finish(mut self) -> PullPage {
        if !self.more {
            self.next.redownload = false;
            self.next.since_compaction = 0;
        }
        PullPage {
            changes: self.changes,
            cursor: self.next,
            more: self.more,
            reset: self.reset,
        }
    }
}

/// Sign-in attempts each account may fail before it must wait.
pub const FREE_ACCOUNT_FAILURES: i64 = 5;
/// Sign-in attempts each address may fail before it must wait (a store's
/// associates may share one address).
pub const FREE_ADDRESS_FAILURES: i64 = 30;
/// The longest wait between two attempts: an account is slowed, never shut.
pub const MAX_LOGIN_WAIT_SECS: i64 = 300;
/// Failures older than this are forgotten.
pub const LOGIN_MEMORY_HOURS: i64 = 24;

/// One more attempt against a key holding `failures`, the last at `last`:
/// the count to store, or how long the key must still wait (nothing counted).
pub(crate) fn count_attempt(
    key: &str,
    failures: i64,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, std::time::Duration> {
    if let Some(wait) = login_wait(key, failures, last, now) {
        return Err(wait);
    }
    let forgotten = (now - last).num_hours() >= LOGIN_MEMORY_HOURS;
    Ok(if forgotten { 1 } else { failures + 1 })
}

/// How long a key with `failures` counted, the last at `last`, must still
/// wait at `now`: nothing for the first few, then 1 s, 2 s, 4 s … up to
/// [`MAX_LOGIN_WAIT_SECS`].
fn login_wait(
    key: &str,
    failures: i64,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<std::time::Duration> {
    if (now - last).num_hours() >= LOGIN_MEMORY_HOURS {
        return None;
    }
    let free = if key.starts_with("a:") {
        FREE_ACCOUNT_FAILURES
    } else {
        FREE_ADDRESS_FAILURES
    };
    if failures < free {
        return None;
    }
    let exp = (failures - free).min(20) as u32;
    let delay = (1i64 << exp).min(MAX_LOGIN_WAIT_SECS);
    let until = last + chrono::Duration::seconds(delay);
    (until > now).then(|| (until - now).to_std().unwrap_or_default())
}
