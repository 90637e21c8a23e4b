//! The Lighttouch sync protocol: JSON over HTTP, shared by the client (in
//! `lighttouch-book`) and `lighttouch-server`. `docs/sync-protocol.md`
//! describes the exchanges and their guarantees; this crate is the one
//! definition of what travels.
//!
//! Every request carries the [`PROTOCOL_HEADER`] with the client's
//! [`PROTOCOL_VERSION`]. A server refuses versions older than
//! [`OLDEST_SUPPORTED_PROTOCOL`] with `please_update` before touching data.

pub mod content;
pub mod schema;
pub mod scripts;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The oldest client version a server of this build still serves.
pub const OLDEST_SUPPORTED_PROTOCOL: u32 = 1;
/// Request header naming the client's protocol version (also sent back by the server).
pub const PROTOCOL_HEADER: &str = "lighttouch-protocol";

/// Most changes one push may carry.
pub const MAX_PUSH_CHANGES: usize = 5_000;
/// Most changes one pull returns, whatever the client asks for.
pub const MAX_PULL_CHANGES: u32 = 20_000;
/// Largest request body a server accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// What a client puts in one push at most (well under the body limit).
pub const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;
/// Stored values one pull page carries at most, whatever their count: a page
/// of 20,000 changes of 60 KiB each would be more than a gigabyte.
pub const MAX_PULL_BYTES: usize = 8 * 1024 * 1024;
/// Longest username the server reads.
pub const MAX_USERNAME_CHARS: usize = 64;
/// The operation a device sends in place of a change it cannot send (too
/// large, or refused by its own checks): the sequence stays gap-free, the
/// server records the number and hands nothing out.
pub const SKIP_OP: &str = "skip";
/// How far ahead of the server's clock a change's stamp may be before the
/// server bounds it to its own time.
pub const MAX_CLOCK_LEAD_MS: u64 = 5 * 60 * 1000;

pub mod paths {
    pub const HEALTH: &str = "/v1/health";
    pub const LOGIN: &str = "/v1/login";
    pub const LOGOUT: &str = "/v1/logout";
    pub const ME: &str = "/v1/me";
    pub const PUSH: &str = "/v1/sync/push";
    pub const PULL: &str = "/v1/sync/pull";
    pub const REREGISTER: &str = "/v1/device/reregister";
    pub const ADMIN_DEVICES: &str = "/v1/admin/devices";
    pub const ADMIN_REASSIGN: &str = "/v1/admin/reassign";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Associate,
    Manager,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Associate => "associate",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "associate" => Some(Role::Associate),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The book's own ID; it is also the node of its clock stamps.
    pub device_id: Uuid,
    /// Shown to managers in the device list (e.g. the laptop's host name).
    pub device_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub store: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for every later request; the server keeps only its hash.
    pub token: String,
    /// The device ID the token is bound to. It differs from the one asked
    /// for when that ID belongs to someone else or was revoked: the book then
    /// takes this one as its own (and as the node of its clock stamps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
    pub user: UserInfo,
    pub server_time: DateTime<Utc>,
    /// Only after a re-registration: where the book pulls from next. Moved
    /// back to the first change the old device ID holds from `diverged_at`
    /// on, which the book never had (another copy of it sent them, and a
    /// pull leaves out a device's own changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Sent with a device's token after the server answered `device_diverged`:
/// the book continues as a new device with its own ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReregisterRequest {
    pub device_id: Uuid,
    pub device_name: String,
    /// The `diverged_at` of the refusal: the old ID's changes from there on
    /// are not this book's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged_at: Option<i64>,
    /// The book's pull cursor, if it has pulled before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeResponse {
    pub user: UserInfo,
    pub device_id: Uuid,
    pub server_time: DateTime<Utc>,
}

/// One change from a device's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedChange {
    /// The device's gap-free sequence number.
    pub seq: i64,
    /// Hybrid logical clock stamp, `MILLIS-COUNTER-NODE`.
    pub hlc: String,
    pub entity: String,
    pub row_id: String,
    /// `insert`, `set`, `add`, `remove` or `erase`.
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// For `set`: the stamp of the value this edit replaced, so replicas can
    /// tell a knowing overwrite from a concurrent one (a conflict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Consecutive sequence numbers, oldest first.
    pub changes: Vec<PushedChange>,
}

/// A change whose stamp the server bounded to its own clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restamp {
    pub seq: i64,
    pub hlc: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Every change up to this sequence number is stored (also on a retry).
    pub applied_through: i64,
    /// Changes of the pushed range whose stamp was too far ahead; the device
    /// rewrites its own copies to these stamps.
    pub restamped: Vec<Restamp>,
    /// Changes of the pushed range the server refused one by one (a value
    /// that would not apply, a rule of the store). They are counted as
    /// pushed, so nothing waits behind them; the device keeps them aside.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
    pub server_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub seq: i64,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PullRequest {
    /// Opaque; `None` on a device's first pull.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    /// The highest change number this book wrote under its device ID. The
    /// device's changes past it were written by another copy of the book
    /// (a backup restored, a book copied to a second laptop): they come back
    /// in the pull like a colleague's. `None`: none of its own come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_through: Option<i64>,
}

/// A change as other devices of the store see it: no device or sequence.
/// `V` is how its value is held: parsed (the client), or as the server
/// stored it, passed through without parsing ([`RawChangeValue`]): the wire
/// is the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
pub struct PulledChange<V = Value> {
    pub hlc: String,
    pub entity: String,
    pub row_id: String,
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<V>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

impl PushedChange {
    /// The change as the shared schema checks it.
    pub fn as_change(&self) -> schema::ChangeRef<'_> {
        schema::ChangeRef {
            hlc: &self.hlc,
            entity: &self.entity,
            row_id: &self.row_id,
            op: &self.op,
            field: self.field.as_deref(),
            value: self.value.as_ref(),
            base: self.base.as_deref(),
        }
    }
}

impl PulledChange {
    /// The change as the shared schema checks it.
    pub fn as_change(&self) -> schema::ChangeRef<'_> {
        schema::ChangeRef {
            hlc: &self.hlc,
            entity: &self.entity,
            row_id: &self.row_id,
            op: &self.op,
            field: self.field.as_deref(),
            value: self.value.as_ref(),
            base: self.base.as_deref(),
        }
    }
}

/// A change's value as JSON text, for the server to send without parsing.
pub type RawChangeValue = Box<serde_json::value::RawValue>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
pub struct PullResponse<V = Value> {
    pub changes: Vec<PulledChange<V>>,
    /// Save it with these changes, in the same transaction.
    pub cursor: String,
    /// More changes wait after this page.
    pub more: bool,
    /// The cursor sent was older than what the server still keeps (every
    /// other device had synced past changes it has since cleared): these
    /// changes start again from the beginning, and the device replaces its
    /// copy of the store's data with them, then replays its unsent changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    pub server_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub device_id: Uuid,
    pub name: String,
    pub username: String,
    pub store: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub pushed_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignRequest {
    pub from: String,
    pub to: String,
    /// Empty: every customer `from` owns.
    #[serde(default)]
    pub customers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignResponse {
    pub reassigned: usize,
}

/// Machine-readable error codes; callers branch on these, never on messages.
pub mod codes {
    pub const INVALID: &str = "invalid";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const FORBIDDEN: &str = "forbidden";
    pub const NOT_FOUND: &str = "not_found";
    pub const PLEASE_UPDATE: &str = "please_update";
    pub const SEQ_GAP: &str = "seq_gap";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const TOO_LARGE: &str = "too_large";
    pub const INTERNAL: &str = "internal";
    /// A re-sent sequence number carries a different change than the server
    /// stored: the book was restored from a backup or copied. It continues
    /// as a new device (`ReregisterRequest`) from `diverged_at` on.
    pub const DEVICE_DIVERGED: &str = "device_diverged";
    /// The client speaks a newer protocol than this server.
    pub const UNSUPPORTED_PROTOCOL: &str = "unsupported_protocol";
    /// The server is busy checking other passwords; try again shortly.
    pub const BUSY: &str = "busy";
}

/// Every error response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// With `seq_gap`: the sequence number the server expects next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<i64>,
    /// With `device_diverged`: the first sequence number the server holds
    /// differently; everything before it the server has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged_at: Option<i64>,
    /// With `rate_limited` and `busy`: seconds to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: code.to_string(),
            message: message.into(),
            expected_seq: None,
            diverged_at: None,
            retry_after_secs: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_optional_fields_stay_off_the_wire_and_read_back() {
        let c = PushedChange {
            seq: 3,
            hlc: "0000000001000-000000-00000000000000000000000000000001".into(),
            entity: "customer".into(),
            row_id: "r".into(),
            op: "erase".into(),
            field: None,
            value: None,
            base: None,
        };
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("field") && !json.contains("base"), "{json}");
        assert_eq!(serde_json::from_str::<PushedChange>(&json).unwrap(), c);
    }

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused() {
        for r in [Role::Associate, Role::Manager, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}
