//! What a synced row may hold: every kind of row, its columns, and the type,
//! nullability and size of each. One definition for the book (which writes
//! and applies changes), the server (which refuses a change that would not
//! apply) and the tests. A change that passes [`check_change`] applies on any
//! book of this version.

use serde_json::Value;

/// Largest JSON value one change may carry, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Longest row ID.
pub const MAX_ID_CHARS: usize = 200;
/// Longest free text (a note, a message, a draft): what the note editor allows.
pub const MAX_LONG_TEXT_CHARS: usize = 20_000;
/// Longest short text (a name, a size, a product).
pub const MAX_SHORT_TEXT_CHARS: usize = 2_000;
/// Largest sequence number a device may use (far beyond any real book, and
/// far enough below `i64::MAX` that no arithmetic on it overflows).
pub const MAX_SEQ: i64 = 1 << 53;

/// Every kind of synced row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Customer,
    Tag,
    CustomerTag,
    Note,
    NoteRevision,
    Purchase,
    Touchpoint,
    ContentItem,
    Draft,
    TalkScript,
    FollowUp,
}

/// How a column's value is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A string of at most this many characters.
    Text(usize),
    /// A whole number.
    Integer,
    /// `true`/`false` (or 0/1).
    Flag,
    /// A JSON array or object, or a string holding one.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: Type,
    /// The book's column is NOT NULL: the value may never be null.
    pub not_null: bool,
    /// An insert must carry it (NOT NULL without a default).
    pub required: bool,
}

const fn col(name: &'static str, ty: Type) -> Column {
    Column {
        name,
        ty,
        not_null: false,
        required: false,
    }
}

/// NOT NULL without a default: every insert carries it.
const fn req(name: &'static str, ty: Type) -> Column {
    Column {
        name,
        ty,
        not_null: true,
        required: true,
    }
}

/// NOT NULL with a default: an insert may leave it out, nothing may null it.
const fn dflt(name: &'static str, ty: Type) -> Column {
    Column {
        name,
        ty,
        not_null: true,
        required: false,
    }
}

const SHORT: Type = Type::Text(MAX_SHORT_TEXT_CHARS);
const LONG: Type = Type::Text(MAX_LONG_TEXT_CHARS);
const ID: Type = Type::Text(MAX_ID_CHARS);
/// Stamps, dates and times.
const STAMP: Type = Type::Text(64);

const CUSTOMER: &[Column] = &[
    req("name", SHORT),
    col("gender", SHORT),
    col("phone", SHORT),
    col("phone2", SHORT),
    col("wechat", SHORT),
    col("email", SHORT),
    col("birthday", STAMP),
    dflt("birthday_calendar", STAMP),
    col("anniversary", STAMP),
    dflt("anniversary_calendar", STAMP),
    col("language", STAMP),
    col("ring_size", SHORT),
    col("wrist_size", SHORT),
    col("clothing_size", SHORT),
    col("shoe_size", SHORT),
    col("preferred_metals", SHORT),
    col("preferred_stones", SHORT),
    col("preferred_styles", SHORT),
    col("preferred_colors", SHORT),
    col("budget", SHORT),
    col("stage", SHORT),
    dflt("consent_marketing", Type::Flag),
    col("consent_at", STAMP),
    col("consent_source", SHORT),
    dflt("do_not_contact", Type::Flag),
    col("owner", SHORT),
    col("store", SHORT),
    req("created_at", STAMP),
    col("merged_into", ID),
];

const TAG: &[Column] = &[
    req("name", SHORT),
    req("name_key", SHORT),
    dflt("tag_group", SHORT),
    dflt("synonyms", Type::Json),
    req("created_at", STAMP),
];

const NOTE: &[Column] = &[
    req("customer_id", ID),
    col("author", SHORT),
    req("created_at", STAMP),
    req("body", LONG),
    col("edited_at", STAMP),
    col("deleted_at", STAMP),
];

const NOTE_REVISION: &[Column] = &[
    req("note_id", ID),
    req("body", LONG),
    col("author", SHORT),
    req("at", STAMP),
];

const PURCHASE: &[Column] = &[
    req("customer_id", ID),
    req("purchased_on", STAMP),
    col("order_ref", SHORT),
    col("sku", SHORT),
    req("product", SHORT),
    col("category", SHORT),
    dflt("quantity", Type::Integer),
    col("amount_cents", Type::Integer),
    dflt("currency", STAMP),
    col("store", SHORT),
    req("created_at", STAMP),
];

const TOUCHPOINT: &[Column] = &[
    req("customer_id", ID),
    req("at", STAMP),
    req("channel", SHORT),
    req("kind", SHORT),
    col("content_id", ID),
    col("message", LONG),
    col("author", SHORT),
    req("created_at", STAMP),
];

const CONTENT_ITEM: &[Column] = &[
    req("kind", SHORT),
    req("title", SHORT),
    col("body", LONG),
    dflt("tags", Type::Json),
    col("category", SHORT),
    col("price_cents", Type::Integer),
    dflt("currency", STAMP),
    col("language", STAMP),
    col("valid_from", STAMP),
    col("valid_until", STAMP),
    req("created_at", STAMP),
    dflt("translations", Type::Json),
    dflt("skus", Type::Json),
];

const DRAFT: &[Column] = &[
    req("customer_id", ID),
    col("content_id", ID),
    col("language", STAMP),
    req("body", LONG),
    dflt("reasons", Type::Json),
    dflt("status", SHORT),
    col("dismiss_reason", SHORT),
    req("created_at", STAMP),
];

const TALK_SCRIPT: &[Column] = &[
    req("language", STAMP),
    req("purpose", SHORT),
    req("name", SHORT),
    req("body", LONG),
    col("author", SHORT),
    req("created_at", STAMP),
    col("deleted_at", STAMP),
];

const FOLLOW_UP: &[Column] = &[
    req("customer_id", ID),
    req("due_on", STAMP),
    col("note", LONG),
    col("author", SHORT),
    req("created_at", STAMP),
    col("done_at", STAMP),
];

impl Entity {
    pub const ALL: [Entity; 11] = [
        Entity::Customer,
        Entity::Tag,
        Entity::CustomerTag,
        Entity::Note,
        Entity::NoteRevision,
        Entity::Purchase,
        Entity::Touchpoint,
        Entity::ContentItem,
        Entity::Draft,
        Entity::TalkScript,
        Entity::FollowUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Customer => "customer",
            Entity::Tag => "tag",
            Entity::CustomerTag => "customer_tag",
            Entity::Note => "note",
            Entity::NoteRevision => "note_revision",
            Entity::Purchase => "purchase",
            Entity::Touchpoint => "touchpoint",
            Entity::ContentItem => "content_item",
            Entity::Draft => "draft",
            Entity::TalkScript => "talk_script",
            Entity::FollowUp => "follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The book's table for this kind of row.
    pub fn table(self) -> &'static str {
        match self {
            Entity::Customer => "customers",
            Entity::Tag => "tags",
            Entity::CustomerTag => "customer_tags",
            Entity::Note => "notes",
            Entity::NoteRevision => "note_revisions",
            Entity::Purchase => "purchases",
            Entity::Touchpoint => "touchpoints",
            Entity::ContentItem => "content_items",
            Entity::Draft => "drafts",
            Entity::TalkScript => "talk_scripts",
            Entity::FollowUp => "follow_ups",
        }
    }

    /// Columns a change may name. Column names are spliced into SQL, so only
    /// names from these lists ever reach a statement.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Entity::Customer => CUSTOMER,
            Entity::Tag => TAG,
            Entity::CustomerTag => &[],
            Entity::Note => NOTE,
            Entity::NoteRevision => NOTE_REVISION,
            Entity::Purchase => PURCHASE,
            Entity::Touchpoint => TOUCHPOINT,
            Entity::ContentItem => CONTENT_ITEM,
            Entity::Draft => DRAFT,
            Entity::TalkScript => TALK_SCRIPT,
            Entity::FollowUp => FOLLOW_UP,
        }
    }

    pub fn column(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }

    pub fn has_column(self, name: &str) -> bool {
        self.column(name).is_some()
    }

    /// The operations this kind of row accepts.
    pub fn ops(self) -> &'static [&'static str] {
        match self {
            Entity::Customer => &["insert", "set", "erase"],
            Entity::CustomerTag => &["add", "remove"],
            _ => &["insert", "set"],
        }
    }
}

/// What is wrong with a value, for callers that word it themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueProblem {
    /// Null (or absent) where the column needs a value.
    Missing,
    /// Text longer than this many characters.
    TooLong(usize),
    /// Not of the column's type.
    WrongType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub column: &'static str,
    pub problem: ValueProblem,
    /// In words, naming the row kind and column.
    pub message: String,
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Whether a value fits its column.
pub fn check_value(entity: Entity, column: &Column, value: &Value) -> Result<(), ValueError> {
    let fail = |problem: ValueProblem, why: &str| {
        Err(ValueError {
            column: column.name,
            problem,
            message: format!("{}.{} {why}", entity.as_str(), column.name),
        })
    };
    match (column.ty, value) {
        (_, Value::Null) if column.not_null => fail(ValueProblem::Missing, "may not be empty"),
        (_, Value::Null) => Ok(()),
        (Type::Text(max), Value::String(s)) => {
            // Counting stops just past the limit: a huge string costs no more.
            if s.chars().nth(max).is_some() {
                fail(
                    ValueProblem::TooLong(max),
                    &format!("is longer than {max} characters"),
                )
            } else {
                Ok(())
            }
        }
        (Type::Text(_), _) => fail(ValueProblem::WrongType, "must be text"),
        (Type::Integer, Value::Number(n)) if n.is_i64() => Ok(()),
        (Type::Integer, _) => fail(ValueProblem::WrongType, "must be a whole number"),
        (Type::Flag, Value::Bool(_)) => Ok(()),
        (Type::Flag, Value::Number(n)) if matches!(n.as_i64(), Some(0 | 1)) => Ok(()),
        (Type::Flag, _) => fail(ValueProblem::WrongType, "must be true or false"),
        (Type::Json, Value::Array(_) | Value::Object(_)) => Ok(()),
        (Type::Json, Value::String(s))
            if matches!(
                serde_json::from_str::<Value>(s),
                Ok(Value::Array(_) | Value::Object(_))
            ) =>
        {
            Ok(())
        }
        (Type::Json, _) => fail(ValueProblem::WrongType, "must be a JSON list or object"),
    }
}

/// A clock stamp's wall-clock part, if it is a well-formed
/// `MILLIS-COUNTER-NODE` (13 digits, 6 digits, 32 lowercase hex).
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

/// A change as both sides see it, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct ChangeRef<'a> {
    pub hlc: &'a str,
    pub entity: &'a str,
    pub row_id: &'a str,
    pub op: &'a str,
    pub field: Option<&'a str>,
    pub value: Option<&'a Value>,
    pub base: Option<&'a str>,
}

/// Whether a change would apply on a book of this version: known kind and
/// operation, well-formed stamps and IDs, known columns, values of the right
/// type and size, required fields present. `Err` says what is wrong.
/// A value erased on the server (`None` where one is expected) is fine:
/// books skip it.
pub fn check_change(c: ChangeRef<'_>) -> Result<(), String> {
    check(c, Strictness::Refuse)
}

/// How a check treats kinds of rows, operations and columns it does not
/// know: the server refuses them; a book skips them, because a newer
/// version of the app may have sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Refuse,
    Skip,
}

/// [`check_change`] for a book applying what it pulled: what this version
/// does not know passes (and is skipped when applied), the rest is checked
/// as strictly.
pub fn check_pulled(c: ChangeRef<'_>) -> Result<(), String> {
    check(c, Strictness::Skip)
}

fn check(c: ChangeRef<'_>, unknown: Strictness) -> Result<(), String> {
    let lenient = unknown == Strictness::Skip;
    if stamp_millis(c.hlc).is_none() {
        return Err(format!("malformed clock stamp {:?}", shorten(c.hlc)));
    }
    let Some(entity) = Entity::parse(c.entity) else {
        if lenient {
            return Ok(());
        }
        return Err(format!("unknown kind of row {:?}", shorten(c.entity)));
    };
    if !entity.ops().contains(&c.op) {
        if lenient {
            return Ok(());
        }
        return Err(format!(
            "{:?} is not an operation on {}",
            shorten(c.op),
            c.entity
        ));
    }
    if c.row_id.is_empty() || c.row_id.chars().nth(MAX_ID_CHARS).is_some() {
        return Err(format!(
            "the row id is empty or longer than {MAX_ID_CHARS} characters"
        ));
    }
    if c.row_id.chars().any(char::is_control) {
        return Err("the row id contains control characters".into());
    }
    if entity == Entity::CustomerTag && !c.row_id.contains('/') {
        return Err("a tag link's id is CUSTOMER/TAG".into());
    }
    if let Some(base) = c.base {
        if stamp_millis(base).is_none() {
            return Err(format!("malformed base stamp {:?}", shorten(base)));
        }
    }
    match c.op {
        "insert" => match c.value {
            None => Ok(()),
            Some(Value::Object(fields)) => {
                for (name, value) in fields {
                    let Some(column) = entity.column(name) else {
                        if lenient {
                            continue;
                        }
                        return Err(format!(
                            "{} has no field {:?}",
                            entity.as_str(),
                            shorten(name)
                        ));
                    };
                    check_value(entity, column, value).map_err(|e| e.message)?;
                }
                for column in entity.columns().iter().filter(|c| c.required) {
                    if !fields.contains_key(column.name) {
                        return Err(format!(
                            "{}.{} is required in a new row",
                            entity.as_str(),
                            column.name
                        ));
                    }
                }
                Ok(())
            }
            Some(_) => Err("an insert carries an object of fields".into()),
        },
        "set" => {
            let Some(field) = c.field else {
                return Err("a set names its field".into());
            };
            let Some(column) = entity.column(field) else {
                if lenient {
                    return Ok(());
                }
                return Err(format!(
                    "{} has no field {:?}",
                    entity.as_str(),
                    shorten(field)
                ));
            };
            match c.value {
                None => Ok(()),
                Some(v) => check_value(entity, column, v).map_err(|e| e.message),
            }
        }
        // The newest add the remove saw.
        "remove" => match c.value {
            None => Ok(()),
            Some(Value::String(s)) if stamp_millis(s).is_some() => Ok(()),
            Some(_) => Err("a tag removal names the stamp of the add it saw".into()),
        },
        _ => Ok(()),
    }
}

/// Whether a value of `bytes` bytes (as JSON text) may travel. Apart from
/// [`check_change`], because a caller that has the text counts it for free.
pub fn check_value_size(bytes: usize) -> Result<(), String> {
    if bytes > MAX_VALUE_BYTES {
        Err(format!("its value is larger than {MAX_VALUE_BYTES} bytes"))
    } else {
        Ok(())
    }
}

/// The length of a value as JSON text, without writing it out.
pub fn value_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// At most 40 characters of something quoted in an error.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STAMP: &str = "1800000000000-000000-0123456789abcdef0123456789abcdef";

    fn insert<'a>(entity: &'a str, value: &'a Value) -> ChangeRef<'a> {
        ChangeRef {
            hlc: STAMP,
            entity,
            row_id: "r1",
            op: "insert",
            field: None,
            value: Some(value),
            base: None,
        }
    }

    fn set<'a>(entity: &'a str, field: &'a str, value: &'a Value) -> ChangeRef<'a> {
        ChangeRef {
            op: "set",
            field: Some(field),
            ..insert(entity, value)
        }
    }

    #[test]
    fn values_that_would_not_apply_are_named() {
        let null_name = json!({"name": null, "created_at": "2026-01-01"});
        assert!(check_change(insert("customer", &null_name))
            .unwrap_err()
            .contains("customer.name may not be empty"));
        let no_name = json!({"created_at": "2026-01-01"});
        assert!(check_change(insert("customer", &no_name))
            .unwrap_err()
            .contains("required"));
        let real = json!(1.5);
        assert!(check_change(set("purchase", "quantity", &real))
            .unwrap_err()
            .contains("whole number"));
        let text = json!("lots");
        assert!(check_change(set("purchase", "quantity", &text)).is_err());
        let unknown = json!("x");
        assert!(check_change(set("customer", "password", &unknown))
            .unwrap_err()
            .contains("no field"));
        let long = json!("字".repeat(MAX_LONG_TEXT_CHARS + 1));
        assert!(check_change(set("note", "body", &long))
            .unwrap_err()
            .contains("longer than 20000"));
        let flag = json!(2);
        assert!(check_change(set("customer", "do_not_contact", &flag)).is_err());
        let not_json = json!("plain");
        assert!(check_change(set("tag", "synonyms", &not_json)).is_err());
    }

    #[test]
    fn values_a_book_writes_pass() {
        let customer = json!({"name": "張偉", "created_at": "2026-01-01T00:00:00.000Z",
            "consent_marketing": true, "do_not_contact": 0, "phone": null});
        check_change(insert("customer", &customer)).unwrap();
        check_change(set("customer", "phone", &Value::Null)).unwrap();
        check_change(set("tag", "synonyms", &json!("[\"pearl\"]"))).unwrap();
        check_change(set("tag", "synonyms", &json!(["pearl"]))).unwrap();
        let note = json!("字".repeat(MAX_LONG_TEXT_CHARS));
        check_change(set("note", "body", &note)).unwrap();
        // Erased on the server: no value left, which books skip.
        check_change(ChangeRef {
            value: None,
            ..set("customer", "name", &Value::Null)
        })
        .unwrap();
    }

    #[test]
    fn a_book_skips_what_a_newer_version_may_send_but_not_wrong_values() {
        let future = json!({"name": "x", "created_at": "t", "hologram": "on"});
        assert!(check_change(insert("customer", &future)).is_err());
        check_pulled(insert("customer", &future)).unwrap();
        check_pulled(insert("showroom", &future)).unwrap();
        let null_name = json!({"name": null, "created_at": "t"});
        assert!(check_pulled(insert("customer", &null_name)).is_err());
    }

    #[test]
    fn oversized_values_are_refused_before_anything_else_reads_them() {
        let big = json!("😀".repeat(MAX_LONG_TEXT_CHARS));
        assert!(value_len(&big) > MAX_VALUE_BYTES);
        assert!(check_value_size(value_len(&big))
            .unwrap_err()
            .contains("larger than"));
        check_value_size(MAX_VALUE_BYTES).unwrap();
    }

    #[test]
    fn every_kind_round_trips_and_fits_a_column_mask() {
        for e in Entity::ALL {
            assert_eq!(Entity::parse(e.as_str()), Some(e));
            // The book keys its insert statements by a 64-bit set of columns.
            assert!(e.columns().len() <= 64);
        }
        assert_eq!(Entity::parse("HQ"), None);
    }
}
