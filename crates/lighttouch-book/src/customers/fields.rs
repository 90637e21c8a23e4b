//! The customer's editable fields: their names (the same in `edit --set`,
//! imports and the JSON export) and how raw text becomes a stored value.

use crate::error::{BookError, Result};
use lighttouch_text::dates::{parse_date, Calendar};
use lighttouch_text::phone::normalize_phone;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Text(usize),
    Phone,
    WeChat,
    Email,
    Date(&'static str),
    Calendar,
    Gender,
    Language,
    List,
    Budget,
    Stage,
    Bool,
}

/// Every field a person may set, in display order.
const FIELDS: &[(&str, Kind)] = &[
    ("name", Kind::Name),
    ("gender", Kind::Gender),
    ("phone", Kind::Phone),
    ("phone2", Kind::Phone),
    ("wechat", Kind::WeChat),
    ("email", Kind::Email),
    ("birthday", Kind::Date("birthday_calendar")),
    ("birthday_calendar", Kind::Calendar),
    ("anniversary", Kind::Date("anniversary_calendar")),
    ("anniversary_calendar", Kind::Calendar),
    ("language", Kind::Language),
    ("ring_size", Kind::Text(16)),
    ("wrist_size", Kind::Text(16)),
    ("clothing_size", Kind::Text(16)),
    ("shoe_size", Kind::Text(16)),
    ("preferred_metals", Kind::List),
    ("preferred_stones", Kind::List),
    ("preferred_styles", Kind::List),
    ("preferred_colors", Kind::List),
    ("budget", Kind::Budget),
    ("stage", Kind::Stage),
    ("consent_marketing", Kind::Bool),
    ("consent_source", Kind::Text(200)),
    ("do_not_contact", Kind::Bool),
    ("owner", Kind::Text(100)),
    ("store", Kind::Text(100)),
];

pub fn editable_fields() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|(n, _)| *n)
}

/// Budget bands, with the price range each one covers (in yuan).
pub const BUDGETS: &[(&str, u32, Option<u32>)] = &[
    ("entry", 0, Some(2_000)),
    ("mid", 2_000, Some(8_000)),
    ("premium", 8_000, Some(30_000)),
    ("luxury", 30_000, None),
];

/// The 5A path from first awareness to advocacy.
pub const STAGES: &[&str] = &["aware", "appeal", "ask", "act", "advocate"];

use lighttouch_text::LANGUAGES;

/// The closed value lists of the profile, for pickers in the UI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldOptions {
    pub genders: Vec<String>,
    pub stages: Vec<String>,
    pub budgets: Vec<String>,
    pub languages: Vec<String>,
    pub calendars: Vec<String>,
    pub channels: Vec<String>,
    pub touchpoint_kinds: Vec<String>,
    /// What a column of a customer import can be mapped to.
    pub import_fields: Vec<String>,
}

/// Fields a customer import can fill: the profile, plus tags and a note.
pub fn customer_import_fields() -> Vec<&'static str> {
    editable_fields().chain(["tags", "note"]).collect()
}

pub fn field_options() -> FieldOptions {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    FieldOptions {
        genders: own(&["female", "male", "unknown"]),
        stages: own(STAGES),
        budgets: BUDGETS.iter().map(|b| b.0.to_string()).collect(),
        languages: own(LANGUAGES),
        calendars: own(&["solar", "lunar"]),
        channels: own(crate::history::CHANNELS),
        touchpoint_kinds: own(crate::history::TOUCHPOINT_KINDS),
        import_fields: own(&customer_import_fields()),
    }
}

/// Parses `raw` for `field`. Returns the column values to write: usually one,
/// but a date that names its calendar (农历八月十五) sets the calendar too.
/// Empty text clears an optional field.
pub fn parse_field(field: &str, raw: &str) -> Result<Vec<(&'static str, Value)>> {
    let (name, kind) = FIELDS
        .iter()
        .find(|(n, _)| *n == field)
        .copied()
        .ok_or_else(|| {
            BookError::invalid(
                field,
                format!(
                    "unknown field; the fields are {}",
                    editable_fields().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
    let raw = raw.trim();
    let err = |reason: String| BookError::invalid(name, reason);
    if raw.is_empty() {
        return match kind {
            Kind::Name => Err(BookError::missing(name, "a customer needs a name")),
            Kind::Bool => Ok(vec![(name, Value::Bool(false))]),
            Kind::Calendar => Ok(vec![(name, Value::String("solar".into()))]),
            _ => Ok(vec![(name, Value::Null)]),
        };
    }
    let text = |s: &str| Value::String(s.to_string());
    let value = match kind {
        Kind::Name => {
            if raw.chars().count() > 100 {
                return Err(BookError::too_long(name, 100));
            }
            if raw.chars().any(char::is_control) {
                return Err(err("contains control characters".into()));
            }
            text(raw)
        }
        Kind::Text(max) => {
            if raw.chars().count() > max {
                return Err(BookError::too_long(name, max));
            }
            text(raw)
        }
        Kind::Phone => text(&normalize_phone(raw).map_err(err)?),
        Kind::WeChat => {
            if raw.chars().count() > 64 || raw.chars().any(char::is_whitespace) {
                return Err(err(format!(
                    "{raw:?} is not a WeChat ID (no spaces, at most 64 characters)"
                )));
            }
            text(raw)
        }
        Kind::Email => {
            let ok = raw.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }) && !raw.chars().any(char::is_whitespace);
            if !ok {
                return Err(err(format!("{raw:?} is not an email address")));
            }
            text(&raw.to_lowercase())
        }
        Kind::Date(calendar_field) => {
            let parsed = parse_date(raw).map_err(err)?;
            let mut out = vec![(name, text(&parsed.text))];
            if let Some(cal) = parsed.calendar {
                out.push((calendar_field, text(cal.as_str())));
            }
            return Ok(out);
        }
        Kind::Calendar => text(Calendar::parse(raw).map_err(err)?.as_str()),
        Kind::Gender => text(
            parse_gender(raw)
                .ok_or_else(|| err(format!("{raw:?} is not a gender (female, male or unknown)")))?,
        ),
        Kind::Language => text(parse_language(raw).ok_or_else(|| {
            err(format!(
                "{raw:?} is not a language (zh-Hans, zh-Hant or en)"
            ))
        })?),
        Kind::List => {
            let items: Vec<Value> = raw
                .split([';', ',', '，', '；', '、', '|'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(text)
                .collect();
            Value::String(Value::Array(items).to_string())
        }
        Kind::Budget => text(parse_budget(raw).ok_or_else(|| {
            err(format!(
                "{raw:?} is not a budget band (entry, mid, premium or luxury)"
            ))
        })?),
        Kind::Stage => text(parse_stage(raw).ok_or_else(|| {
            err(format!(
                "{raw:?} is not a 5A stage (aware, appeal, ask, act or advocate)"
            ))
        })?),
        Kind::Bool => Value::Bool(
            parse_bool(raw).ok_or_else(|| err(format!("{raw:?} is not true or false")))?,
        ),
    };
    Ok(vec![(name, value)])
}

pub fn parse_gender(raw: &str) -> Option<&'static str> {
    Some(match raw.trim().to_lowercase().as_str() {
        "female" | "f" | "woman" | "女" | "女士" | "女性" | "小姐" => "female",
        "male" | "m" | "man" | "男" | "先生" | "男性" => "male",
        "unknown" | "u" | "未知" | "保密" | "other" | "其他" => "unknown",
        _ => return None,
    })
}

pub fn parse_language(raw: &str) -> Option<&'static str> {
    Some(match raw.trim().to_lowercase().replace('_', "-").as_str() {
        "zh-hans" | "zh-cn" | "zh-sg" | "zh" | "简体" | "简体中文" | "普通话" | "中文" => {
            "zh-Hans"
        }
        "zh-hant" | "zh-tw" | "zh-hk" | "zh-mo" | "繁体" | "繁體" | "繁體中文" | "粤语"
        | "粵語" => "zh-Hant",
        "en" | "en-us" | "en-gb" | "english" | "英文" | "英语" => "en",
        _ => return None,
    })
}

fn parse_budget(raw: &str) -> Option<&'static str> {
    Some(match raw.trim().to_lowercase().as_str() {
        "entry" | "入门" | "低" => "entry",
        "mid" | "middle" | "中" | "中端" => "mid",
        "premium" | "high" | "高" | "高端" => "premium",
        "luxury" | "奢华" | "顶级" => "luxury",
        _ => return None,
    })
}

fn parse_stage(raw: &str) -> Option<&'static str> {
    let lower = raw.trim().to_lowercase();
    Some(match lower.as_str() {
        "aware" | "a1" | "了解" | "认知" => "aware",
        "appeal" | "a2" | "吸引" => "appeal",
        "ask" | "a3" | "问询" | "咨询" => "ask",
        "act" | "a4" | "行动" | "购买" => "act",
        "advocate" | "a5" | "拥护" | "推荐" => "advocate",
        _ => return None,
    })
}

pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "是" | "同意" | "已同意" | "on" => Some(true),
        "false" | "no" | "n" | "0" | "否" | "不同意" | "未同意" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(field: &str, raw: &str) -> Value {
        let mut v = parse_field(field, raw).unwrap();
        assert_eq!(v.len(), 1, "{field}={raw}");
        v.remove(0).1
    }

    #[test]
    fn values_are_normalised() {
        assert_eq!(one("phone", "+86 138-0013-8000"), "13800138000");
        assert_eq!(one("gender", "女"), "female");
        assert_eq!(one("language", "zh_TW"), "zh-Hant");
        assert_eq!(one("stage", "A4"), "act");
        assert_eq!(one("consent_marketing", "是"), true);
        assert_eq!(one("email", "Chloe@Example.COM"), "chloe@example.com");
        assert_eq!(
            one("preferred_metals", "玫瑰金、铂金; rose gold"),
            r#"["玫瑰金","铂金","rose gold"]"#
        );
        assert_eq!(one("wechat", ""), Value::Null);
    }

    #[test]
    fn a_lunar_birthday_sets_its_calendar() {
        let v = parse_field("birthday", "农历八月十五").unwrap();
        assert_eq!(
            v,
            vec![
                ("birthday", "--08-15".into()),
                ("birthday_calendar", "lunar".into())
            ]
        );
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        let e = parse_field("phone", "12ab").unwrap_err();
        assert_eq!(e.code(), "invalid_field");
        assert!(e.to_string().starts_with("phone: "), "{e}");
        let e = parse_field("shoe", "37").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        assert!(parse_field("name", "  ").is_err());
        assert!(parse_field("budget", "cheap").is_err());
    }
}
