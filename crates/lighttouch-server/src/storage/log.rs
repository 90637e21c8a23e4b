//! Writing to a store's change log, once for every backend: a push (the
//! device's numbering, re-sent changes, which customer each change belongs
//! to, erasure, ownership), the changes the server writes itself (handovers,
//! HQ content), and compaction. Each backend implements [`LogQueries`] over
//! one of its transactions and only runs the queries; the order of the work
//! and every rule is here.

use super::{
    check_resent, customer_of, name_stored_stamps, needs_known_customer, not_in_store, owner_move,
    owner_set_by, Compacted, CustomerOf, DeviceAuth, IncomingChange, OwnerMove, PushOutcome,
    ServerChange, StorageError, StorageResult, Verdict,
};
use chrono::{DateTime, Utc};
use lighttouch_protocol::codes;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A row a change names, as (entity, row ID).
pub(crate) type RowKey = (String, String);

/// One change as it goes into the log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogEntry {
    pub seq: i64,
    /// The pushing device and its number for the change; None for changes
    /// the server writes.
    pub device: Option<(Uuid, i64)>,
    pub hlc: String,
    pub entity: String,
    pub row_id: String,
    pub customer: Option<String>,
    pub op: String,
    pub field: Option<String>,
    pub value: Option<String>,
    pub base: Option<String>,
}

impl LogEntry {
    fn new(
        seq: i64,
        device: Option<(Uuid, i64)>,
        ch: IncomingChange,
        customer: Option<String>,
    ) -> Self {
        LogEntry {
            seq,
            device,
            hlc: ch.hlc,
            entity: ch.entity,
            row_id: ch.row_id,
            customer,
            op: ch.op,
            field: ch.field,
            value: ch.value,
            base: ch.base,
        }
    }
}

/// What the device sent under one number, for `device_changes`.
pub(crate) struct Recorded {
    pub seq: i64,
    pub digest: String,
    pub refused: Option<(String, String)>,
}

/// A customer's owner as the log holds it: (owner, the stamp that set it).
pub(crate) type Owner = (Option<String>, String);
/// Owners by customer.
pub(crate) type Owners = HashMap<String, Owner>;
/// An owner to set: (customer, owner, stamp).
pub(crate) type OwnerRow = (String, Option<String>, String);
/// Customers by the rows registered under them.
pub(crate) type RowOwners = HashMap<RowKey, String>;
/// A set of customer IDs.
pub(crate) type CustomerSet = HashSet<String>;

/// A device's numbers `first..=last`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeviceRange {
    pub device: Uuid,
    pub first: i64,
    pub last: i64,
}

impl DeviceRange {
    pub fn new(device: Uuid, first: i64, last: i64) -> Self {
        DeviceRange {
            device,
            first,
            last,
        }
    }
}

/// An edit a later edit knowingly replaced, which compaction removes.
pub(crate) struct ReplacedEdit {
    pub seq: i64,
    pub entity: String,
    pub row_id: String,
    pub field: String,
    pub hlc: String,
}

/// The queries a write to the log needs, over one open transaction.
#[allow(async_fn_in_trait)] // Used only by the flows below, never as a boxed trait object.
pub(crate) trait LogQueries {
    /// How far the device's changes are applied; locks the device's row.
    async fn pushed_seq(&self, device: Uuid) -> StorageResult<i64>;
    async fn set_pushed_seq(&self, device: Uuid, seq: i64) -> StorageResult<()>;
    /// The digests stored for the device's numbers `first..=last`.
    async fn digests(&self, range: DeviceRange) -> StorageResult<HashMap<i64, String>>;
    /// (device number, stored stamp) for the device's numbers `first..=last` in the log.
    async fn stamps(&self, range: DeviceRange) -> StorageResult<Vec<(i64, String)>>;
    /// (device number, code, message) for the refused numbers of `first..=last`.
    async fn refused(&self, range: DeviceRange) -> StorageResult<Vec<(i64, String, String)>>;
    async fn record(&self, device: Uuid, recorded: &[Recorded]) -> StorageResult<()>;
    /// The log's last sequence number, taking its lock (numbers are handed
    /// out and committed in order); None when there is no such log.
    async fn lock_log(&self, stream: i64) -> StorageResult<Option<i64>>;
    async fn set_last_seq(&self, stream: i64, seq: i64) -> StorageResult<()>;
    /// The customer each of `rows` was registered under.
    async fn row_customers(&self, stream: i64, rows: &[RowKey]) -> StorageResult<RowOwners>;
    /// Registers rows under their customers; a row registered before keeps its customer.
    async fn register_rows(&self, stream: i64, rows: &[(RowKey, String)]) -> StorageResult<()>;
    /// Which of `ids` the log has a change of, or an erasure.
    async fn known_customers(&self, stream: i64, ids: &[String]) -> StorageResult<CustomerSet>;
    async fn erased_customers(&self, stream: i64, ids: &[String]) -> StorageResult<CustomerSet>;
    async fn owners(&self, stream: i64, ids: &[String]) -> StorageResult<Owners>;
    /// Records the erasures, nulls the values of the customers' changes in
    /// the log and forgets their owners.
    async fn erase(&self, stream: i64, ids: &[String]) -> StorageResult<()>;
    /// Sets owners, in order.
    async fn set_owners(&self, stream: i64, owners: &[OwnerRow]) -> StorageResult<()>;
    /// Sets owners in order, each only over an older stamp.
    async fn set_newer_owners(&self, stream: i64, owners: &[OwnerRow]) -> StorageResult<()>;
    /// Appends to the log, received now.
    async fn append(
        &self,
        stream: i64,
        entries: &[LogEntry],
        now: DateTime<Utc>,
    ) -> StorageResult<()>;
    async fn store_name(&self, store: i64) -> StorageResult<Option<String>>;
    /// The lowest pull mark among the store's active devices, if it has any.
    async fn lowest_active_pull(&self, store: i64) -> StorageResult<Option<i64>>;
    /// Deletes every change up to `horizon` of customers erased up to it; how many.
    async fn delete_erased_through(&self, store: i64, horizon: i64) -> StorageResult<u64>;
    /// Edits up to `horizon` that a later edit up to it names as its base, in log order.
    async fn replaced_edits(&self, store: i64, horizon: i64) -> StorageResult<Vec<ReplacedEdit>>;
    /// Hands `edit`'s base, as it is now, to the edits that name `edit`, and deletes it.
    async fn remove_replaced(&self, store: i64, edit: &ReplacedEdit) -> StorageResult<()>;
    async fn mark_compacted(&self, store: i64, horizon: i64) -> StorageResult<()>;
}

/// What the log already knows about the rows and customers a push names.
#[derive(Default)]
struct Known {
    rows: HashMap<RowKey, String>,
    customers: HashSet<String>,
    erased: HashSet<String>,
    owners: HashMap<String, Owner>,
}

/// Everything a push writes, decided before any of it is written.
#[derive(Default)]
struct PushWrites {
    register: Vec<(RowKey, String)>,
    erased: Vec<String>,
    /// Final owners of the customers whose owner moved: (customer, owner, stamp).
    owners: Vec<(String, Option<String>, String)>,
    recorded: Vec<Recorded>,
    logged: Vec<LogEntry>,
    owner_changes: Vec<(String, Option<String>, Option<String>)>,
    last_seq: i64,
}

/// The rows a push's changes are found through (their customer is in the
/// log), and the rows they register (a row registered before keeps its
/// customer, so the push must know it).
fn rows_to_look_up(changes: &[IncomingChange]) -> Vec<RowKey> {
    let mut rows: Vec<RowKey> = Vec::new();
    for c in changes.iter().filter(|c| c.verdict == Verdict::Log) {
        match customer_of(c) {
            CustomerOf::Row { entity, row_id } => rows.push((entity, row_id)),
            CustomerOf::Note(note) => {
                rows.push(("note".to_string(), note));
                rows.push((c.entity.clone(), c.row_id.clone()));
            }
            CustomerOf::Known { register: true, .. } => {
                rows.push((c.entity.clone(), c.row_id.clone()))
            }
            _ => {}
        }
    }
    rows.sort();
    rows.dedup();
    rows
}

/// Every customer a push's changes name, directly or through a row.
fn customers_named(changes: &[IncomingChange], rows: &HashMap<RowKey, String>) -> Vec<String> {
    let mut customers: Vec<String> = changes
        .iter()
        .filter(|c| c.verdict == Verdict::Log)
        .filter_map(|c| match customer_of(c) {
            CustomerOf::Known { customer, .. } => Some(customer),
            CustomerOf::Row { entity, row_id } => rows.get(&(entity, row_id)).cloned(),
            CustomerOf::Note(note) => rows.get(&("note".to_string(), note)).cloned(),
            CustomerOf::Nobody => None,
        })
        .collect();
    customers.sort();
    customers.dedup();
    customers
}

/// Decides every fresh change of a push in order, as if each were written
/// before the next is read: rows registered, customers created or erased
/// and owners moved earlier in the push count for the later changes.
fn decide(
    pusher: &DeviceAuth,
    fresh: Vec<IncomingChange>,
    mut known: Known,
    mut seq: i64,
) -> PushWrites {
    let mut w = PushWrites::default();
    let mut moved: Vec<String> = Vec::new();
    for mut ch in fresh {
        let mut missing = None;
        let customer = if ch.verdict == Verdict::Log {
            match customer_of(&ch) {
                CustomerOf::Known { customer, .. }
                    if needs_known_customer(&ch) && !known.customers.contains(&customer) =>
                {
                    missing = Some(not_in_store(&ch, "customer", &customer));
                    None
                }
                CustomerOf::Known { customer, register } => {
                    if register {
                        let key = (ch.entity.clone(), ch.row_id.clone());
                        if !known.rows.contains_key(&key) {
                            known.rows.insert(key.clone(), customer.clone());
                            w.register.push((key, customer.clone()));
                        }
                    }
                    Some(customer)
                }
                CustomerOf::Note(note) => {
                    let customer = known.rows.get(&("note".to_string(), note.clone())).cloned();
                    match &customer {
                        None => missing = Some(not_in_store(&ch, "note", &note)),
                        Some(cu) => {
                            let key = (ch.entity.clone(), ch.row_id.clone());
                            if !known.rows.contains_key(&key) {
                                known.rows.insert(key.clone(), cu.clone());
                                w.register.push((key, cu.clone()));
                            }
                        }
                    }
                    customer
                }
                CustomerOf::Row { entity, row_id } => {
                    let customer = known.rows.get(&(entity.clone(), row_id.clone())).cloned();
                    if customer.is_none() {
                        missing = Some(not_in_store(&ch, &entity, &row_id));
                    }
                    customer
                }
                CustomerOf::Nobody => None,
            }
        } else {
            None
        };
        // A change without its value was wiped with an erased customer (the
        // book's outbox too): nothing left to name.
        if let Some(refused) = missing.filter(|_| ch.value.is_some()) {
            ch.verdict = refused;
        }
        if let Some(cu) = &customer {
            if known.erased.contains(cu) {
                // Written offline after the erasure: its personal data goes too.
                ch.value = None;
            } else if ch.op == "erase" && ch.entity == "customer" {
                known.erased.insert(cu.clone());
                w.erased.push(cu.clone());
                // Earlier changes of this same push go with the ones logged before.
                for earlier in w.logged.iter_mut() {
                    if earlier.customer.as_deref() == Some(cu.as_str()) {
                        earlier.value = None;
                    }
                }
                known.owners.remove(cu);
                moved.retain(|m| m != cu);
            } else if let Some(owner) = owner_set_by(&ch) {
                let current = known.owners.get(cu);
                let before = current.and_then(|(o, _)| o.clone());
                match owner_move(pusher, current, &ch.hlc, cu) {
                    OwnerMove::Refused(message) => {
                        ch.verdict = Verdict::Reject {
                            code: codes::FORBIDDEN.into(),
                            message,
                        };
                    }
                    OwnerMove::Loses => {}
                    OwnerMove::Moves => {
                        known
                            .owners
                            .insert(cu.clone(), (owner.clone(), ch.hlc.clone()));
                        if !moved.contains(cu) {
                            moved.push(cu.clone());
                        }
                        if before != owner {
                            w.owner_changes.push((cu.clone(), before, owner));
                        }
                    }
                }
            }
        }
        let refused = match &ch.verdict {
            Verdict::Reject { code, message } => Some((code.clone(), message.clone())),
            _ => None,
        };
        w.recorded.push(Recorded {
            seq: ch.seq,
            digest: ch.digest.clone(),
            refused,
        });
        if ch.verdict != Verdict::Log {
            continue;
        }
        if let Some(cu) = &customer {
            // A customer with a change in the log is one the store has.
            known.customers.insert(cu.clone());
        }
        seq += 1;
        let device = Some((pusher.device_id, ch.seq));
        w.logged.push(LogEntry::new(seq, device, ch, customer));
    }
    w.owners = moved
        .into_iter()
        .filter_map(|cu| {
            let (owner, hlc) = known.owners.get(&cu)?.clone();
            Some((cu, owner, hlc))
        })
        .collect();
    w.last_seq = seq;
    w
}

/// Applies a device's push: numbers in order and exactly once, a re-sent
/// number checked against what was sent before, each fresh change logged
/// or refused alone.
pub(crate) async fn push<Q: LogQueries>(
    q: &Q,
    pusher: &DeviceAuth,
    changes: Vec<IncomingChange>,
    now: DateTime<Utc>,
) -> StorageResult<PushOutcome> {
    let (device, store) = (pusher.device_id, pusher.store_id);
    let pushed = q.pushed_seq(device).await?;
    let first = changes.first().map_or(pushed + 1, |c| c.seq);
    let last = changes.last().map_or(pushed, |c| c.seq);
    if first > pushed + 1 {
        return Err(StorageError::Gap {
            expected: pushed + 1,
        });
    }
    let stored = q
        .digests(DeviceRange::new(device, first, last.min(pushed)))
        .await?;
    check_resent(&stored, &changes, pushed)?;
    let mut changes = changes;
    if first <= pushed {
        let kept: HashMap<i64, String> = q
            .stamps(DeviceRange::new(device, first, pushed))
            .await?
            .into_iter()
            .collect();
        name_stored_stamps(&mut changes, &kept);
    }
    let fresh: Vec<IncomingChange> = changes.into_iter().filter(|c| c.seq > pushed).collect();
    let mut owner_changes = Vec::new();
    if !fresh.is_empty() {
        let seq = q
            .lock_log(store)
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("no store {store}")))?;
        let rows = q.row_customers(store, &rows_to_look_up(&fresh)).await?;
        let customers = customers_named(&fresh, &rows);
        let known = Known {
            rows,
            customers: q.known_customers(store, &customers).await?,
            erased: q.erased_customers(store, &customers).await?,
            owners: q.owners(store, &customers).await?,
        };
        let w = decide(pusher, fresh, known, seq);
        q.register_rows(store, &w.register).await?;
        // Before this push's changes go in: its own were nulled above.
        q.erase(store, &w.erased).await?;
        q.set_owners(store, &w.owners).await?;
        q.record(device, &w.recorded).await?;
        q.append(store, &w.logged, now).await?;
        q.set_last_seq(store, w.last_seq).await?;
        owner_changes = w.owner_changes;
    }
    q.set_pushed_seq(device, last.max(pushed)).await?;
    Ok(PushOutcome {
        // The book's next number follows the last one it sent.
        applied_through: last,
        stored_stamps: q.stamps(DeviceRange::new(device, first, last)).await?,
        rejected: q.refused(DeviceRange::new(device, first, last)).await?,
        owner_changes,
    })
}

/// Appends changes the server writes itself (a handover, HQ content) to a
/// log; an owner they set takes effect only over an older one.
pub(crate) async fn append_server_changes<Q: LogQueries>(
    q: &Q,
    stream: i64,
    changes: Vec<ServerChange>,
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    let mut seq = q
        .lock_log(stream)
        .await?
        .ok_or_else(|| StorageError::NotFound(format!("no stream {stream}")))?;
    let mut owners = Vec::new();
    let mut entries = Vec::with_capacity(changes.len());
    for ch in changes {
        seq += 1;
        let incoming = IncomingChange {
            seq,
            digest: String::new(),
            verdict: Verdict::Log,
            hlc: ch.hlc,
            entity: ch.entity,
            row_id: ch.row_id,
            op: ch.op,
            field: ch.field,
            value: ch.value,
            base: ch.base,
        };
        let customer = match customer_of(&incoming) {
            CustomerOf::Known { customer, .. } => Some(customer),
            _ => None,
        };
        if let (Some(cu), Some(owner)) = (&customer, owner_set_by(&incoming)) {
            owners.push((cu.clone(), owner, incoming.hlc.clone()));
        }
        entries.push(LogEntry::new(seq, None, incoming, customer));
    }
    q.set_newer_owners(stream, &owners).await?;
    q.append(stream, &entries, now).await?;
    q.set_last_seq(stream, seq).await?;
    Ok(entries.len())
}

/// Compacts a store's log up to what every active device has pulled (never
/// by age): erased customers' changes go, and so do edits a later edit
/// knowingly replaced (its base). A value that lost to a concurrent edit
/// stays, so a device re-downloading still records it as a conflict; the
/// successors take over a removed edit's base, so the chain of knowledge
/// stays whole.
pub(crate) async fn compact<Q: LogQueries>(q: &Q, store: i64) -> StorageResult<Compacted> {
    let name = q
        .store_name(store)
        .await?
        .ok_or_else(|| StorageError::NotFound(format!("no store {store}")))?;
    // No push lands in the middle of a compaction.
    let last = q
        .lock_log(store)
        .await?
        .ok_or_else(|| StorageError::NotFound(format!("no store {store}")))?;
    let horizon = q.lowest_active_pull(store).await?.unwrap_or(last);
    let erased = q.delete_erased_through(store, horizon).await?;
    let replaced = q.replaced_edits(store, horizon).await?;
    // In log order: a removal reads the base as an earlier one left it.
    for edit in &replaced {
        q.remove_replaced(store, edit).await?;
    }
    q.mark_compacted(store, horizon).await?;
    Ok(Compacted {
        store: name,
        horizon,
        removed: erased + replaced.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lighttouch_protocol::Role;

    fn pusher(role: Role) -> DeviceAuth {
        DeviceAuth {
            device_id: Uuid::nil(),
            user_id: 1,
            username: "xiaolin".into(),
            display_name: "小林".into(),
            role,
            store_id: 1,
            store: "静安嘉里".into(),
        }
    }

    fn change(
        seq: i64,
        entity: &str,
        row: &str,
        op: &str,
        field: Option<&str>,
        value: Option<&str>,
    ) -> IncomingChange {
        IncomingChange {
            seq,
            digest: format!("d{seq}"),
            verdict: Verdict::Log,
            hlc: format!("2026-12-01T10:00:00.{seq:03}Z-0000-dev"),
            entity: entity.into(),
            row_id: row.into(),
            op: op.into(),
            field: field.map(str::to_string),
            value: value.map(str::to_string),
            base: None,
        }
    }

    #[test]
    fn a_push_counts_what_its_earlier_changes_created_and_an_erasure_takes_them_all() {
        let fresh = vec![
            change(
                1,
                "customer",
                "c1",
                "insert",
                None,
                Some(r#"{"name":"王芳","owner":"小林"}"#),
            ),
            change(
                2,
                "note",
                "n1",
                "insert",
                None,
                Some(r#"{"customer_id":"c1","body":"喜欢珍珠"}"#),
            ),
            change(
                3,
                "note_revision",
                "r1",
                "insert",
                None,
                Some(r#"{"note_id":"n1","body":"喜欢珍珠耳钉"}"#),
            ),
            change(
                4,
                "note",
                "n1",
                "set",
                Some("body"),
                Some(r#""喜欢珍珠耳钉""#),
            ),
            change(5, "customer", "c1", "erase", None, None),
            change(
                6,
                "customer",
                "c1",
                "set",
                Some("phone"),
                Some(r#""13800000000""#),
            ),
        ];
        let w = decide(&pusher(Role::Associate), fresh, Known::default(), 10);
        assert_eq!(w.logged.len(), 6, "every change is logged");
        assert_eq!(
            w.logged.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (11..=16).collect::<Vec<_>>()
        );
        assert!(w.logged.iter().all(|e| e.customer.as_deref() == Some("c1")));
        assert!(
            w.logged.iter().all(|e| e.value.is_none()),
            "the erasure nulls what came before it and what came after: {:?}",
            w.logged
        );
        assert_eq!(w.erased, vec!["c1".to_string()]);
        assert!(
            w.owners.is_empty(),
            "no owner outlives the erasure: {:?}",
            w.owners
        );
        let registered: Vec<&RowKey> = w.register.iter().map(|(k, _)| k).collect();
        assert_eq!(
            registered,
            vec![
                &("note".to_string(), "n1".to_string()),
                &("note_revision".to_string(), "r1".to_string())
            ]
        );
        assert!(w.recorded.iter().all(|r| r.refused.is_none()));
        assert_eq!(w.last_seq, 16);
    }

    #[test]
    fn changes_naming_what_the_store_never_had_are_refused_alone() {
        let fresh = vec![
            change(
                1,
                "customer",
                "ghost",
                "set",
                Some("name"),
                Some(r#""某人""#),
            ),
            change(
                2,
                "note_revision",
                "r9",
                "insert",
                None,
                Some(r#"{"note_id":"n9","body":"x"}"#),
            ),
            // Wiped with an erased customer: nothing left to name, so it passes.
            change(3, "purchase", "p9", "set", Some("amount_cents"), None),
            change(4, "tag", "t1", "insert", None, Some(r#"{"name":"VIP"}"#)),
        ];
        let w = decide(&pusher(Role::Associate), fresh, Known::default(), 0);
        let refused: Vec<(i64, &str)> = w
            .recorded
            .iter()
            .filter_map(|r| r.refused.as_ref().map(|(c, _)| (r.seq, c.as_str())))
            .collect();
        assert_eq!(refused, vec![(1, codes::NOT_FOUND), (2, codes::NOT_FOUND)]);
        assert_eq!(
            w.logged
                .iter()
                .map(|e| e.device.map(|d| d.1))
                .collect::<Vec<_>>(),
            vec![Some(3), Some(4)]
        );
        assert_eq!(w.last_seq, 2);
    }

    #[test]
    fn an_associate_cannot_move_a_colleagues_customer_but_a_manager_can() {
        let known = || Known {
            customers: HashSet::from(["c1".to_string()]),
            owners: HashMap::from([(
                "c1".to_string(),
                (Some("小王".to_string()), "2026-01-01".to_string()),
            )]),
            ..Known::default()
        };
        let take = || {
            vec![change(
                1,
                "customer",
                "c1",
                "set",
                Some("owner"),
                Some(r#""小林""#),
            )]
        };
        let w = decide(&pusher(Role::Associate), take(), known(), 0);
        assert!(matches!(&w.recorded[0].refused, Some((c, _)) if c == codes::FORBIDDEN));
        assert!(w.logged.is_empty() && w.owners.is_empty() && w.owner_changes.is_empty());
        let w = decide(&pusher(Role::Manager), take(), known(), 0);
        assert_eq!(
            w.owners,
            vec![(
                "c1".to_string(),
                Some("小林".to_string()),
                take()[0].hlc.clone()
            )]
        );
        assert_eq!(
            w.owner_changes,
            vec![(
                "c1".to_string(),
                Some("小王".to_string()),
                Some("小林".to_string())
            )]
        );
    }
}
