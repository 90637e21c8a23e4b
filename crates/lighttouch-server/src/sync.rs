//! The rules of push and pull that do not need the database: what a valid
//! change looks like, and bounding stamps from clocks that run ahead.

use crate::storage::{Cursor, DeviceAuth, IncomingChange, Storage, StorageError};
use chrono::{DateTime, Utc};
use lighttouch_protocol::{
    codes, ApiError, PullRequest, PullResponse, PushRequest, PushResponse, PushedChange,
    RawChangeValue, Restamp, MAX_CLOCK_LEAD_MS, MAX_PULL_CHANGES, MAX_PUSH_CHANGES,
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

/// Largest JSON value one change may carry.
const MAX_VALUE_BYTES: usize = 64 * 1024;
const MAX_ID_CHARS: usize = 200;

/// Which operations each kind of row accepts.
fn ops_for(entity: &str) -> Option<&'static [&'static str]> {
    Some(match entity {
        "customer" => &["insert", "set", "erase"],
        "customer_tag" => &["add", "remove"],
        "tag" | "note" | "note_revision" | "purchase" | "touchpoint" | "draft" | "follow_up"
        | "talk_script" => &["insert", "set"],
        // HQ content comes from the admin command, never from a device.
        _ => return None,
    })
}

pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::INVALID, message)
}

/// A stamp's wall-clock part, if it is a well-formed `MILLIS-COUNTER-NODE`.
pub fn stamp_millis(hlc: &str) -> Option<u64> {
    let mut parts = hlc.splitn(3, '-');
    let (millis, counter, node) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = millis.len() == 13
        && counter.len() == 6
        && node.len() == 32
        && millis.bytes().all(|b| b.is_ascii_digit())
        && counter.bytes().all(|b| b.is_ascii_digit())
        && node
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    if ok {
        millis.parse().ok()
    } else {
        None
    }
}

pub fn format_stamp(millis: u64, counter: u32, node: &str) -> String {
    format!("{millis:013}-{counter:06}-{node}")
}

fn node_of(hlc: &str) -> &str {
    hlc.rsplit('-').next().unwrap_or_default()
}

pub fn validate_change(c: &PushedChange) -> Result<(), ApiError> {
    let at = |msg: String| invalid(format!("change {}: {msg}", c.seq));
    if stamp_millis(&c.hlc).is_none() {
        return Err(at(format!("malformed clock stamp {:?}", c.hlc)));
    }
    let Some(ops) = ops_for(&c.entity) else {
        return Err(at(format!("unknown kind of row {:?}", c.entity)));
    };
    if !ops.contains(&c.op.as_str()) {
        return Err(at(format!(
            "{:?} is not an operation on {}",
            c.op, c.entity
        )));
    }
    if c.row_id.is_empty() || c.row_id.chars().count() > MAX_ID_CHARS {
        return Err(at("row id is empty or too long".into()));
    }
    if c.entity == "customer_tag" && !c.row_id.contains('/') {
        return Err(at("a tag link's id is CUSTOMER/TAG".into()));
    }
    // HQ's scripts are published by admins; a device cannot rewrite them for its store.
    if c.entity == "talk_script"
        && c.row_id
            .starts_with(lighttouch_protocol::scripts::HQ_SCRIPT_PREFIX)
    {
        return Err(at("HQ's talk scripts are published by HQ only".into()));
    }
    match (c.op.as_str(), &c.field) {
        ("set", None) => return Err(at("a set names its field".into())),
        (_, Some(f))
            if f.is_empty()
                || f.len() > 64
                || !f
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()) =>
        {
            return Err(at(format!("bad field name {f:?}")))
        }
        _ => {}
    }
    if c.op == "insert" && !matches!(c.value, Some(serde_json::Value::Object(_)) | None) {
        return Err(at("an insert carries an object of fields".into()));
    }
    if let Some(base) = &c.base {
        if stamp_millis(base).is_none() {
            return Err(at(format!("malformed base stamp {base:?}")));
        }
    }
    Ok(())
}

/// Checks a push and turns it into stored changes, bounding stamps that run
/// more than [`MAX_CLOCK_LEAD_MS`] ahead of `now` to `now` (kept in order,
/// never refused, never lost).
pub fn prepare_push(
    request: &PushRequest,
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
    if first < 1 {
        return Err(invalid("sequence numbers start at 1"));
    }
    let mut bounded = 0u32;
    let mut renamed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(request.changes.len());
    for (expected, c) in (first..).zip(&request.changes) {
        if c.seq != expected {
            return Err(invalid(format!(
                "sequence numbers must be consecutive: expected {expected}, got {}",
                c.seq
            )));
        }
        validate_change(c)?;
        let value = c.value.as_ref().map(|v| v.to_string());
        if value.as_ref().is_some_and(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(ApiError::new(
                codes::TOO_LARGE,
                format!(
                    "change {}: value larger than {MAX_VALUE_BYTES} bytes",
                    c.seq
                ),
            ));
        }
        let millis = stamp_millis(&c.hlc).unwrap_or(0);
        let hlc = if millis > now_ms + MAX_CLOCK_LEAD_MS {
            bounded += 1;
            let new = format_stamp(now_ms, bounded, node_of(&c.hlc));
            renamed.insert(c.hlc.clone(), new.clone());
            new
        } else {
            c.hlc.clone()
        };
        // A later edit in the same push that knew a bounded stamp names its new form.
        let base = c
            .base
            .as_ref()
            .map(|b| renamed.get(b).cloned().unwrap_or_else(|| b.clone()));
        out.push(IncomingChange {
            seq: c.seq,
            hlc,
            entity: c.entity.clone(),
            row_id: c.row_id.clone(),
            op: c.op.clone(),
            field: c.field.clone(),
            value,
            base,
        });
    }
    Ok(out)
}

pub fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::Gap { expected } => ApiError {
            code: codes::SEQ_GAP.into(),
            message: format!("changes are missing: the server expects change {expected} next"),
            expected_seq: Some(expected),
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
    let changes = prepare_push(request, now)?;
    let sent: std::collections::HashMap<i64, &str> = request
        .changes
        .iter()
        .map(|c| (c.seq, c.hlc.as_str()))
        .collect();
    let outcome = storage
        .push(device.device_id, device.store_id, changes, now)
        .await
        .map_err(storage_error)?;
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
        server_time: now,
    })
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
        .pull(device.store_id, device.device_id, cursor, limit)
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
        let out = prepare_push(&req, now).unwrap();
        assert_eq!(out[0].hlc, req.changes[0].hlc, "a small lead stands");
        assert_eq!(stamp_millis(&out[1].hlc), Some(1_800_000_000_000));
        assert!(out[1].hlc < out[2].hlc, "order within the device is kept");
        assert!(out[2].hlc.ends_with("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn malformed_pushes_are_refused_with_the_reason() {
        let now = Utc::now();
        let gap = PushRequest {
            changes: vec![change(1, 1), change(3, 2)],
        };
        assert!(prepare_push(&gap, now)
            .unwrap_err()
            .message
            .contains("consecutive"));
        let mut bad = change(1, 1);
        bad.entity = "content_item".into();
        assert!(prepare_push(&PushRequest { changes: vec![bad] }, now)
            .unwrap_err()
            .message
            .contains("unknown kind"));
        let mut bad = change(1, 1);
        bad.entity = "talk_script".into();
        bad.row_id = "hq:birthday:zh-Hans".into();
        assert!(prepare_push(&PushRequest { changes: vec![bad] }, now)
            .unwrap_err()
            .message
            .contains("HQ only"));
        let mut bad = change(1, 1);
        bad.field = Some("name; DROP TABLE".into());
        assert!(prepare_push(&PushRequest { changes: vec![bad] }, now)
            .unwrap_err()
            .message
            .contains("field"));
        let mut bad = change(1, 1);
        bad.hlc = "yesterday".into();
        assert!(prepare_push(&PushRequest { changes: vec![bad] }, now)
            .unwrap_err()
            .message
            .contains("stamp"));
        assert!(prepare_push(&PushRequest { changes: vec![] }, now).is_err());
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
