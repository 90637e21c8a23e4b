//! HQ talk scripts (话术), published by the server's `admin scripts import`
//! to every store: CSV with the headers purpose, language, name, body — or
//! the same records as a JSON array. The placeholders and purposes are the
//! app's, so a script HQ sends always fills in.

use crate::content::{read_records, text, ContentFileError, LANGUAGES};
use serde_json::{json, Value};

/// What a script is for; each has a default in every language in the app.
pub const PURPOSES: &[&str] = &[
    "recommend",
    "birthday",
    "anniversary",
    "aftercare",
    "care_month",
    "quiet",
    "followup",
    "festival",
    // On the day itself: wished today, not announced as coming.
    "birthday_today",
    "anniversary_today",
    "festival_today",
];

/// What a script may say in braces; each is filled in per customer.
pub const PLACEHOLDERS: &[&str] = &[
    "{name}",
    "{product}",
    "{reason}",
    "{occasion}",
    "{associate}",
];

/// The prefix of row IDs of scripts HQ published (an associate's own have UUIDs).
pub const HQ_SCRIPT_PREFIX: &str = "hq:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRecord {
    pub purpose: String,
    pub language: String,
    pub name: String,
    pub body: String,
}

impl ScriptRecord {
    /// One row per purpose and language, so publishing again replaces it.
    pub fn row_id(&self) -> String {
        format!("{HQ_SCRIPT_PREFIX}{}:{}", self.purpose, self.language)
    }

    /// The row as the books store it (`talk_scripts`).
    pub fn fields(&self, created_at: &str) -> Value {
        json!({
            "language": self.language,
            "purpose": self.purpose,
            "name": self.name,
            "body": self.body,
            "author": "HQ",
            "created_at": created_at,
            "deleted_at": Value::Null,
        })
    }
}

/// The first `{…}` in a script that is not a known placeholder.
pub fn unknown_placeholder(body: &str) -> Option<String> {
    let mut rest = body;
    while let Some(start) = rest.find('{') {
        let tail = &rest[start..];
        let end = tail.find('}').map_or(tail.len(), |e| e + 1);
        let ph = &tail[..end];
        if !PLACEHOLDERS.contains(&ph) {
            return Some(ph.to_string());
        }
        rest = &tail[end..];
    }
    None
}

fn script(
    n: usize,
    rec: &serde_json::Map<String, Value>,
) -> Result<ScriptRecord, ContentFileError> {
    let bad = |field: &str, why: String| ContentFileError(format!("record {n}, {field}: {why}"));
    let purpose = text(rec.get("purpose")).ok_or_else(|| bad("purpose", "missing".into()))?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(bad(
            "purpose",
            format!("must be one of {}", PURPOSES.join(", ")),
        ));
    }
    let language = text(rec.get("language")).ok_or_else(|| bad("language", "missing".into()))?;
    let language = LANGUAGES
        .iter()
        .find(|l| l.eq_ignore_ascii_case(&language))
        .ok_or_else(|| bad("language", "must be zh-Hans, zh-Hant or en".into()))?
        .to_string();
    let body = text(rec.get("body")).ok_or_else(|| bad("body", "missing".into()))?;
    if let Some(ph) = unknown_placeholder(&body) {
        return Err(bad(
            "body",
            format!("{ph} is not a placeholder (use {})", PLACEHOLDERS.join(" ")),
        ));
    }
    let name = text(rec.get("name")).unwrap_or_else(|| format!("HQ · {purpose}"));
    Ok(ScriptRecord {
        purpose,
        language,
        name,
        body,
    })
}

/// Reads a scripts file (JSON when it starts with `[`, CSV otherwise).
pub fn parse_scripts(bytes: &[u8]) -> Result<Vec<ScriptRecord>, ContentFileError> {
    let records = read_records(bytes)?;
    let mut out: Vec<ScriptRecord> = Vec::with_capacity(records.len());
    for (i, rec) in records.iter().enumerate() {
        let s = script(i + 1, rec)?;
        if out.iter().any(|o| o.row_id() == s.row_id()) {
            return Err(ContentFileError(format!(
                "record {}: a second {} script in {}",
                i + 1,
                s.purpose,
                s.language
            )));
        }
        out.push(s);
    }
    if out.is_empty() {
        return Err(ContentFileError("the file has no records".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_give_the_same_scripts() {
        let csv = "purpose,language,name,body\n\
                   birthday,zh-hant,生日,{name}您好，{occasion}快到了！\n";
        let json = r#"[{"purpose":"birthday","language":"zh-Hant","name":"生日","body":"{name}您好，{occasion}快到了！"}]"#;
        let a = parse_scripts(csv.as_bytes()).unwrap();
        assert_eq!(a, parse_scripts(json.as_bytes()).unwrap());
        assert_eq!(a[0].language, "zh-Hant");
        assert_eq!(a[0].row_id(), "hq:birthday:zh-Hant");
    }

    #[test]
    fn every_problem_names_its_record_and_field() {
        let err = |s: &str| parse_scripts(s.as_bytes()).unwrap_err().0;
        assert!(err("purpose,language,body\nblast,en,hi\n").contains("record 1, purpose"));
        assert!(err("purpose,language,body\nbirthday,fr,hi\n").contains("record 1, language"));
        assert!(err("purpose,language,body\nbirthday,en,hi {nmae}\n").contains("{nmae}"));
        assert!(err("purpose,language,body\nbirthday,en,a\nbirthday,en,b\n").contains("record 2"));
        assert!(err("purpose,language,body\n").contains("no records"));
        assert_eq!(
            unknown_placeholder("hi {name}, {product"),
            Some("{product".into())
        );
    }
}
