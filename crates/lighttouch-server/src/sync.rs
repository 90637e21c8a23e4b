//! The rules of push and pull that do not need the database: what a valid
//! change looks like, and bounding stamps from clocks that run ahead.

use crate::storage::{Cursor, DeviceAuth, IncomingChange, Storage, StorageError, Verdict};
use chrono::{DateTime, Utc};
use lighttouch_protocol::schema::{check_change, check_value_size, MAX_SEQ};
use lighttouch_protocol::scripts::HQ_SCRIPT_PREFIX;
use lighttouch_protocol::{
    codes, ApiError, PullRequest, PullResponse, PushRequest, PushResponse, PushedChange,
    RawChangeValue, Rejected, ReregisterRequest, Restamp, MAX_CLOCK_LEAD_MS, MAX_PULL_CHANGES,
    MAX_PUSH_CHANGES, SKIP_OP,
};
use uuid::Uuid;

/// The server's time, injected so tests can move it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::INVALID, message)
}

pub use lighttouch_protocol::schema::stamp_millis;

pub fn format_stamp(millis: u64, counter: u32, node: &str) -> String {
    format!("{millis:013}-{counter:06}-{node}")
}

/// Whether the server takes one change from a device: it must apply on
/// every book (the shared schema), and be a device's to make.
pub fn validate_change(c: &PushedChange) -> Result<(), ApiError> {
    let at = |code: &str, msg: String| {
        ApiError::new(
            code,
            format!(
                "change {} ({} {}): {msg}",
                c.seq,
                short(&c.entity),
                short(&c.row_id)
            ),
        )
    };
    // HQ content comes from the admin command, never from a device.
    if c.entity == "content_item" {
        return Err(at(
            codes::FORBIDDEN,
            "HQ content is published by HQ only".into(),
        ));
    }
    // HQ's scripts are published by admins; a device cannot rewrite them for its store.
    if c.entity == "talk_script"
        && c.row_id
            .get(..HQ_SCRIPT_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(HQ_SCRIPT_PREFIX))
    {
        return Err(at(
            codes::FORBIDDEN,
            "HQ's talk scripts are published by HQ only".into(),
        ));
    }
    check_change(c.as_change()).map_err(|m| at(codes::INVALID, m))
}

/// At most 40 characters of something a device sent, for a message.
fn short(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Checks a push and turns it into stored changes, bounding stamps that run
/// more than [`MAX_CLOCK_LEAD_MS`] ahead of `now` to `now` (kept in order,
/// never refused, never lost).
pub fn prepare_push(
    request: &PushRequest,
    pusher: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<IncomingChange>, ApiError> {
    if request.changes.is_empty() {
        return Err(invalid("a push carries at least one change"));
    }
    if request.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::new(
            codes::TOO_LARGE,
            format!("at most {MAX_PUSH_CHANGES} changes per push"),
        ));
    }
    let now_ms = now.timestamp_millis().max(0) as u64;
    let first = request.changes[0].seq;
    if !(1..=MAX_SEQ).contains(&first) {
        return Err(invalid(format!(
            "sequence numbers run from 1 to {MAX_SEQ}, not {first}"
        )));
    }
    let mut renamed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(request.changes.len());
    for (expected, c) in (first..).zip(&request.changes) {
        if c.seq != expected {
            return Err(invalid(format!(
                "sequence numbers must be consecutive: expected {expected}, got {}",
                c.seq
            )));
        }
        // Written out once: measured, digested and stored as this text.
        let text = c.value.as_ref().map(|v| v.to_string());
        let digest = crate::storage::digest(c.seq, c, text.as_deref());
        // One wrong change is refused on its own: the rest of the push, and
        // every later one, goes on.
        let verdict = if c.op == SKIP_OP {
            Verdict::Skip
        } else if let Err(m) = text.as_ref().map_or(Ok(()), |t| check_value_size(t.len())) {
            Verdict::Reject {
                code: codes::TOO_LARGE.into(),
                message: format!("change {}: {m}", c.seq),
            }
        } else {
            match validate_change(c) {
                Ok(()) => Verdict::Log,
                Err(e) => Verdict::Reject {
                    code: e.code,
                    message: e.message,
                },
            }
        };
        // A later edit in the same push that knew a bounded stamp names its new form.
        let base = c
            .base
            .as_ref()
            .map(|b| renamed.get(b).cloned().unwrap_or_else(|| b.clone()));
        let millis = stamp_millis(&c.hlc).unwrap_or(0);
        let hlc = if verdict == Verdict::Log && millis > now_ms + MAX_CLOCK_LEAD_MS {
            // Still after the value it replaced (which may sit within the
            // lead, ahead of now), and unique: the pusher's (device, number)
            // names it, even when a copy of the book shares its old stamps.
            let new = server_stamp(now, base.as_deref(), (c.seq % 1_000_000) as u32, pusher);
            renamed.insert(c.hlc.clone(), new.clone());
            new
        } else {
            c.hlc.clone()
        };
        let keep_value = verdict == Verdict::Log;
        out.push(IncomingChange {
            seq: c.seq,
            digest,
            verdict,
            hlc,
            entity: c.entity.clone(),
            row_id: c.row_id.clone(),
            op: c.op.clone(),
            field: c.field.clone(),
            value: text.filter(|_| keep_value),
            base,
        });
    }
    Ok(out)
}

pub fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::Gap { expected } => ApiError {
            expected_seq: Some(expected),
            ..ApiError::new(
                codes::SEQ_GAP,
                format!("changes are missing: the server expects change {expected} next"),
            )
        },
        StorageError::Diverged { at } => ApiError {
            diverged_at: Some(at),
            ..ApiError::new(
                codes::DEVICE_DIVERGED,
                format!(
                    "change {at} differs from the change {at} this device sent before: \
                     the book was restored from a backup or copied; it continues as a new device"
                ),
            )
        },
        StorageError::NotFound(m) => ApiError::new(codes::NOT_FOUND, m),
        StorageError::Conflict(m) | StorageError::Invalid(m) => invalid(m),
        StorageError::Database(_) => ApiError::new(
            codes::INTERNAL,
            "the server could not store this; try again",
        ),
    }
}

pub async fn push(
    storage: &dyn Storage,
    device: &DeviceAuth,
    request: &PushRequest,
    now: DateTime<Utc>,
) -> Result<PushResponse, ApiError> {
    let changes = prepare_push(request, device.device_id, now)?;
    let sent: std::collections::HashMap<i64, &str> = request
        .changes
        .iter()
        .map(|c| (c.seq, c.hlc.as_str()))
        .collect();
    let outcome = storage
        .push(device, changes, now)
        .await
        .map_err(storage_error)?;
    if !outcome.owner_changes.is_empty() {
        // A device moving customers between people is a handover of sorts:
        // it is on record like the manager's.
        let moves: Vec<serde_json::Value> = outcome
            .owner_changes
            .iter()
            .map(|(c, from, to)| serde_json::json!({"customer": c, "from": from, "to": to}))
            .collect();
        let _ = storage
            .audit(
                &device.username,
                "customer.owner",
                &serde_json::json!({"device": device.device_id, "changes": moves}),
                now,
            )
            .await;
    }
    // Also on a retry: the device learns the stamps the server kept.
    let restamped = outcome
        .stored_stamps
        .into_iter()
        .filter(|(seq, hlc)| sent.get(seq).is_some_and(|s| s != hlc))
        .map(|(seq, hlc)| Restamp { seq, hlc })
        .collect();
    Ok(PushResponse {
        applied_through: outcome.applied_through,
        restamped,
        rejected: outcome
            .rejected
            .into_iter()
            .map(|(seq, code, message)| Rejected { seq, code, message })
            .collect(),
        server_time: now,
    })
}

/// Continues a diverged book as the new device `request.device_id` (bound
/// to `token_hash`) and answers where it pulls from next: its own cursor,
/// moved back before the first change the old ID holds from `diverged_at`
/// on. Those came from another copy of the book, and the book's pulls left
/// them out as its own.
pub async fn reregister(
    storage: &dyn Storage,
    device: &DeviceAuth,
    request: &ReregisterRequest,
    name: &str,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, ApiError> {
    let cursor = match &request.cursor {
        None => None,
        Some(s) => Some(Cursor::decode(s).ok_or_else(|| invalid(format!("unknown cursor {s:?}")))?),
    };
    let diverged_at = request.diverged_at.unwrap_or(1).clamp(1, MAX_SEQ);
    let first = storage
        .reregister_device(
            device,
            request.device_id,
            name,
            token_hash,
            now,
            diverged_at,
        )
        .await
        .map_err(storage_error)?;
    Ok(cursor.map(|mut c| {
        if let Some(first) = first {
            c.store_seq = c.store_seq.min(first - 1).max(0);
        }
        c.encode()
    }))
}

pub async fn pull(
    storage: &dyn Storage,
    device: &DeviceAuth,
    request: &PullRequest,
    now: DateTime<Utc>,
) -> Result<PullResponse<RawChangeValue>, ApiError> {
    let cursor = match &request.cursor {
        None => Cursor::default(),
        Some(s) => Cursor::decode(s).ok_or_else(|| invalid(format!("unknown cursor {s:?}")))?,
    };
    let limit = request
        .limit
        .unwrap_or(MAX_PULL_CHANGES)
        .clamp(1, MAX_PULL_CHANGES);
    let page = storage
        .pull(
            device.store_id,
            device.device_id,
            cursor,
            limit,
            request.known_through,
        )
        .await
        .map_err(storage_error)?;
    Ok(PullResponse {
        changes: page.changes,
        cursor: page.cursor.encode(),
        more: page.more,
        reset: page.reset,
        server_time: now,
    })
}

/// A stamp for a change the server writes: after `base` (so it wins over the
/// value it replaces) and never before `now`.
pub fn server_stamp(now: DateTime<Utc>, base: Option<&str>, counter: u32, node: Uuid) -> String {
    let now_ms = now.timestamp_millis().max(0) as u64;
    let after = base.and_then(stamp_millis).map_or(0, |m| m + 1);
    format_stamp(
        now_ms.max(after),
        counter % 1_000_000,
        &node.simple().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn change(seq: i64, millis: u64) -> PushedChange {
        PushedChange {
            seq,
            hlc: format_stamp(millis, 0, "0123456789abcdef0123456789abcdef"),
            entity: "customer".into(),
            row_id: "c1".into(),
            op: "set".into(),
            field: Some("name".into()),
            value: Some(serde_json::json!("张伟")),
            base: None,
        }
    }

    #[test]
    fn stamps_far_ahead_are_bounded_to_server_time_in_order() {
        let now = Utc.timestamp_millis_opt(1_800_000_000_000).unwrap();
        let ahead = 1_800_000_000_000 + 3 * 3600 * 1000;
        let req = PushRequest {
            changes: vec![
                change(1, 1_800_000_000_000 + 1000),
                change(2, ahead),
                change(3, ahead + 5),
            ],
        };
        let pusher = Uuid::from_u128(0xfeed);
        let out = prepare_push(&req, pusher, now).unwrap();
        assert_eq!(out[0].hlc, req.changes[0].hlc, "a small lead stands");
        assert_eq!(stamp_millis(&out[1].hlc), Some(1_800_000_000_000));
        assert!(out[1].hlc < out[2].hlc, "order within the device is kept");
        // Named by the pusher and its change number: a copy of the book
        // that shares the old stamps' node gets other stamps.
        assert!(out[2].hlc.ends_with(&pusher.simple().to_string()));
        assert_ne!(
            prepare_push(&req, Uuid::from_u128(0xbeef), now).unwrap()[2].hlc,
            out[2].hlc
        );
    }

    /// An edit within the lead (ahead of now), then a later edit of the
    /// same field far ahead: the bounded one must still come after the
    /// value it replaced, or every other book would keep the older value.
    #[test]
    fn a_bounded_stamp_stays_after_the_value_it_replaces() {
        let now = Utc.timestamp_millis_opt(1_800_000_000_000).unwrap();
        let first = change(1, 1_800_000_000_000 + 4 * 60 * 1000);
        let mut second = change(2, 1_800_000_000_000 + 3 * 3600 * 1000);
        second.base = Some(first.hlc.clone());
        for changes in [vec![first.clone(), second.clone()], vec![second.clone()]] {
            let seq = changes[0].seq;
            let out = prepare_push(&PushRequest { changes }, Uuid::nil(), now).unwrap();
            let bounded = out.last().unwrap();
            assert!(bounded.hlc > first.hlc, "from seq {seq}: {}", bounded.hlc);
        }
    }

    fn refusal(c: PushedChange) -> String {
        let out = prepare_push(&PushRequest { changes: vec![c] }, Uuid::nil(), Utc::now()).unwrap();
        match &out[0].verdict {
            Verdict::Reject { message, .. } => {
                assert!(out[0].value.is_none(), "a refused value is not kept");
                message.clone()
            }
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn a_malformed_push_is_refused_and_a_wrong_change_alone() {
        let now = Utc::now();
        let gap = PushRequest {
            changes: vec![change(1, 1), change(3, 2)],
        };
        assert!(prepare_push(&gap, Uuid::nil(), now)
            .unwrap_err()
            .message
            .contains("consecutive"));
        assert!(prepare_push(&PushRequest { changes: vec![] }, Uuid::nil(), now).is_err());
        for seq in [0, -1, i64::MAX, MAX_SEQ + 1] {
            assert!(prepare_push(
                &PushRequest {
                    changes: vec![change(seq, 1)]
                },
                Uuid::nil(),
                now
            )
            .is_err());
        }
        let mut bad = change(1, 1);
        bad.entity = "content_item".into();
        assert!(refusal(bad).contains("HQ"));
        for id in ["hq:birthday:zh-Hans", "HQ:birthday:zh-Hans", "Hq:x"] {
            let mut bad = change(1, 1);
            bad.entity = "talk_script".into();
            bad.row_id = id.into();
            assert!(refusal(bad).contains("HQ only"), "{id}");
        }
        let mut bad = change(1, 1);
        bad.field = Some("name; DROP TABLE".into());
        assert!(refusal(bad).contains("no field"));
        let mut bad = change(1, 1);
        bad.hlc = "yesterday".into();
        assert!(refusal(bad).contains("stamp"));
        let mut bad = change(1, 1);
        bad.value = Some(serde_json::Value::Null);
        assert!(refusal(bad).contains("customer.name may not be empty"));
        // One wrong change among good ones: the good ones stand.
        let mut wrong = change(2, 2);
        wrong.value = Some(serde_json::json!(42));
        let out = prepare_push(
            &PushRequest {
                changes: vec![change(1, 1), wrong, change(3, 3)],
            },
            Uuid::nil(),
            now,
        )
        .unwrap();
        let verdicts: Vec<bool> = out.iter().map(|c| c.verdict == Verdict::Log).collect();
        assert_eq!(verdicts, vec![true, false, true]);
    }

    #[test]
    fn server_stamps_come_after_the_value_they_replace() {
        let now = Utc.timestamp_millis_opt(1_000_000_000_000).unwrap();
        let base = format_stamp(1_000_000_100_000, 7, "0123456789abcdef0123456789abcdef");
        let s = server_stamp(now, Some(&base), 0, Uuid::nil());
        assert!(s > base);
        assert_eq!(
            stamp_millis(&server_stamp(now, None, 0, Uuid::nil())),
            Some(1_000_000_000_000)
        );
    }
}
