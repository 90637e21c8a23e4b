//! HQ content files, read the same way by the server's `admin content import`
//! and the app's local `content import`: CSV with the headers id, kind, title,
//! body, tags (split on semicolons), category, price, valid_from, valid_until,
//! skus (the SKUs the item stands for, split on semicolons: what ties it to
//! the stores' purchases)
//! — or the same records as a JSON array. Texts in other languages come as
//! `title:en`, `body:zh-Hant` columns (or a `translations` object in JSON).
//! Every problem names its record and field.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What is wrong with a content file, naming the record and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentFileError(pub String);

impl std::fmt::Display for ContentFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ContentFileError {}

/// The languages a text can be given in besides the record's own.
pub const LANGUAGES: [&str; 3] = ["zh-Hans", "zh-Hant", "en"];

/// A title and body in one language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Translation {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContentItem {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub price_cents: Option<i64>,
    pub language: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    /// Title and body in other languages, by language tag.
    pub translations: BTreeMap<String, Translation>,
    /// The SKUs (POS item codes) the item stands for: a product's variants,
    /// a collection's pieces. Empty when the item's id is its SKU or it
    /// stands for none.
    pub skus: Vec<String>,
}

/// SKUs one content item may name at most.
pub const MAX_SKUS: usize = 500;
/// The longest SKU a POS writes, in characters.
pub const MAX_SKU_CHARS: usize = 64;

impl ContentItem {
    /// The row as the books store it (`content_items`).
    pub fn fields(&self, created_at: &str) -> Value {
        json!({
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "tags": Value::from(self.tags.clone()).to_string(),
            "category": self.category,
            "price_cents": self.price_cents,
            "currency": "CNY",
            "language": self.language,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "translations": serde_json::to_string(&self.translations).unwrap_or_default(),
            "skus": Value::from(self.skus.clone()).to_string(),
            "created_at": created_at,
        })
    }
}

pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_price(s: &str) -> Option<i64> {
    let s = s.trim().trim_start_matches(['¥', '￥']).replace(',', "");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents = format!("{frac:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?)
}

fn parse_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn item(n: usize, rec: &serde_json::Map<String, Value>) -> Result<ContentItem, ContentFileError> {
    let bad = |field: &str, why: &str| ContentFileError(format!("record {n}, {field}: {why}"));
    let id = text(rec.get("id")).ok_or_else(|| bad("id", "missing"))?;
    let kind = text(rec.get("kind"))
        .ok_or_else(|| bad("kind", "missing"))?
        .to_lowercase();
    if kind != "product" && kind != "story" {
        return Err(bad("kind", "must be product or story"));
    }
    let title = text(rec.get("title")).ok_or_else(|| bad("title", "missing"))?;
    let tags = list(rec.get("tags"));
    if matches!(rec.get("skus"), Some(Value::Object(_) | Value::Bool(_))) {
        return Err(bad(
            "skus",
            "must be SKUs separated by ; or a JSON list of them",
        ));
    }
    let mut skus: Vec<String> = Vec::new();
    for sku in list(rec.get("skus")) {
        if sku.chars().count() > MAX_SKU_CHARS || sku.chars().any(char::is_control) {
            return Err(bad(
                "skus",
                &format!("{sku:?} is not a SKU (at most {MAX_SKU_CHARS} characters, no control characters)"),
            ));
        }
        if !skus.contains(&sku) {
            skus.push(sku);
        }
    }
    if skus.len() > MAX_SKUS {
        return Err(bad("skus", &format!("more than {MAX_SKUS} SKUs")));
    }
    let price_cents = match text(rec.get("price")) {
        None => None,
        Some(p) => Some(
            parse_price(&p).ok_or_else(|| bad("price", "not an amount like 1299 or 1299.50"))?,
        ),
    };
    let mut dates = [None, None];
    for (i, f) in ["valid_from", "valid_until"].into_iter().enumerate() {
        if let Some(d) = text(rec.get(f)) {
            if !parse_date(&d) {
                return Err(bad(f, "not a date like 2026-12-01"));
            }
            dates[i] = Some(d);
        }
    }
    let [valid_from, valid_until] = dates;
    if let (Some(a), Some(b)) = (&valid_from, &valid_until) {
        if a > b {
            return Err(bad("valid_until", "before valid_from"));
        }
    }
    let translations = translations(n, rec)?;
    Ok(ContentItem {
        id,
        kind,
        title,
        body: text(rec.get("body")),
        tags,
        category: text(rec.get("category")),
        price_cents,
        language: text(rec.get("language")),
        valid_from,
        valid_until,
        translations,
        skus,
    })
}

/// A list field: a JSON array, or text split on semicolons.
fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|t| text(Some(t))).collect(),
        other => text(other)
            .map(|s| {
                s.split([';', '；'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// `title:en`/`body:en` fields (CSV) or `{"translations": {"en": {...}}}` (JSON).
fn translations(
    n: usize,
    rec: &serde_json::Map<String, Value>,
) -> Result<BTreeMap<String, Translation>, ContentFileError> {
    let mut out = BTreeMap::new();
    let canonical = |lang: &str| {
        LANGUAGES
            .iter()
            .find(|l| l.eq_ignore_ascii_case(lang.trim()))
            .map(|l| l.to_string())
            .ok_or_else(|| {
                ContentFileError(format!(
                    "record {n}: {lang:?} is not a language (zh-Hans, zh-Hant or en)"
                ))
            })
    };
    if let Some(Value::Object(map)) = rec.get("translations") {
        for (lang, t) in map {
            let lang = canonical(lang)?;
            let title = text(t.get("title")).ok_or_else(|| {
                ContentFileError(format!("record {n}, translations.{lang}.title: missing"))
            })?;
            out.insert(
                lang,
                Translation {
                    title,
                    body: text(t.get("body")),
                },
            );
        }
    }
    for (key, value) in rec {
        let Some((field, lang)) = key.split_once(':') else {
            continue;
        };
        let Some(value) = text(Some(value)) else {
            continue;
        };
        let lang = canonical(lang)?;
        let entry = out.entry(lang.clone()).or_insert(Translation {
            title: String::new(),
            body: None,
        });
        match field.trim() {
            "title" => entry.title = value,
            "body" => entry.body = Some(value),
            other => {
                return Err(ContentFileError(format!(
                    "record {n}, {key}: {other:?} cannot be translated (title or body)"
                )))
            }
        }
    }
    if let Some((lang, _)) = out.iter().find(|(_, t)| t.title.is_empty()) {
        return Err(ContentFileError(format!(
            "record {n}, title:{lang}: missing (a translated body needs its title)"
        )));
    }
    Ok(out)
}

/// The records of an HQ file: a JSON array of objects when it starts with
/// `[`, CSV with a header row otherwise. Headers are trimmed and lower-cased.
pub(crate) fn read_records(
    bytes: &[u8],
) -> Result<Vec<serde_json::Map<String, Value>>, ContentFileError> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| ContentFileError("the file is not UTF-8 text".into()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<serde_json::Map<String, Value>>>(text)
            .map_err(|e| ContentFileError(format!("not a JSON array of records: {e}")));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ContentFileError(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| ContentFileError(format!("CSV record {}: {e}", i + 1)))?;
        out.push(
            headers
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.clone(), Value::String(v.to_string())))
                .collect(),
        );
    }
    Ok(out)
}

/// Reads a content file (JSON when it starts with `[`, CSV otherwise).
pub fn parse_content(bytes: &[u8]) -> Result<Vec<ContentItem>, ContentFileError> {
    let records = read_records(bytes)?;
    let mut seen = std::collections::HashSet::new();
    let mut items = Vec::with_capacity(records.len());
    for (i, rec) in records.iter().enumerate() {
        let it = item(i + 1, rec)?;
        if !seen.insert(it.id.clone()) {
            return Err(ContentFileError(format!(
                "record {}, id: {} appears twice",
                i + 1,
                it.id
            )));
        }
        items.push(it);
    }
    if items.is_empty() {
        return Err(ContentFileError("the file has no records".into()));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_give_the_same_items() {
        let csv = "id,kind,title,body,tags,category,price,valid_from,valid_until\n\
                   p1,product,玫瑰金手链,新品,玫瑰金;手链,bracelet,1299.5,2026-12-01,2027-01-31\n";
        let json = r#"[{"id":"p1","kind":"product","title":"玫瑰金手链","body":"新品","tags":["玫瑰金","手链"],
                       "category":"bracelet","price":"1299.5","valid_from":"2026-12-01","valid_until":"2027-01-31"}]"#;
        let a = parse_content(csv.as_bytes()).unwrap();
        let b = parse_content(json.as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].price_cents, Some(129_950));
        assert_eq!(a[0].tags, vec!["玫瑰金", "手链"]);
    }

    #[test]
    fn translations_come_as_columns_or_objects() {
        let csv = "id,kind,title,title:en,body:EN,title:zh-hant\n\
                   p1,product,玫瑰金手链,Rose gold bracelet,New,玫瑰金手鏈\n";
        let json = r#"[{"id":"p1","kind":"product","title":"玫瑰金手链",
            "translations":{"en":{"title":"Rose gold bracelet","body":"New"},"zh-Hant":{"title":"玫瑰金手鏈"}}}]"#;
        let a = parse_content(csv.as_bytes()).unwrap();
        assert_eq!(a, parse_content(json.as_bytes()).unwrap());
        assert_eq!(a[0].translations["en"].body.as_deref(), Some("New"));
        assert_eq!(a[0].translations["zh-Hant"].title, "玫瑰金手鏈");
        let bad = "id,kind,title,title:fr\np1,product,A,B\n";
        let e = parse_content(bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("record 1") && e.contains("fr"), "{e}");
        let orphan = "id,kind,title,body:en\np1,product,A,B\n";
        let e = parse_content(orphan.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("title:en"), "{e}");
    }

    #[test]
    fn an_item_names_the_skus_it_stands_for_in_csv_or_json() {
        let csv = "id,kind,title,skus\n\
                   c1,product,古法金手镯,GF-001; GF-002；GF-001\n\
                   s1,story,七夕,\n";
        let items = parse_content(csv.as_bytes()).unwrap();
        assert_eq!(
            items[0].skus,
            vec!["GF-001", "GF-002"],
            "trimmed, once each"
        );
        assert!(items[1].skus.is_empty());
        assert_eq!(items[0].fields("t")["skus"], "[\"GF-001\",\"GF-002\"]");
        let json = r#"[{"id":"c1","kind":"product","title":"A","skus":["GF-001", 42]}]"#;
        assert_eq!(
            parse_content(json.as_bytes()).unwrap()[0].skus,
            vec!["GF-001", "42"]
        );
        let long = format!("id,kind,title,skus\np1,product,A,{}\n", "X".repeat(65));
        let e = parse_content(long.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains("record 1, skus") && e.contains("64 characters"),
            "{e}"
        );
        let many: Vec<String> = (0..=MAX_SKUS).map(|i| format!("S{i}")).collect();
        let csv = format!("id,kind,title,skus\np1,product,A,{}\n", many.join(";"));
        let e = parse_content(csv.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("more than 500 SKUs"), "{e}");
        let ctl = "id,kind,title,skus\np1,product,A,\"S\u{7}1\"\n";
        assert!(parse_content(ctl.as_bytes()).is_err());
        for wrong in [r#"{"a": 1}"#, "true"] {
            let json = format!(r#"[{{"id":"c1","kind":"product","title":"A","skus":{wrong}}}]"#);
            let e = parse_content(json.as_bytes()).unwrap_err().to_string();
            assert!(e.contains("record 1, skus"), "{e}");
        }
    }

    #[test]
    fn problems_name_the_record_and_field() {
        let csv = "id,kind,title,price\np1,product,A,12\np2,poster,B,1\n";
        let e = parse_content(csv.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("record 2, kind"), "{e}");
        let csv = "id,kind,title,price\np1,product,A,twelve\n";
        assert!(parse_content(csv.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("record 1, price"));
        let csv = "id,kind,title,valid_from\np1,story,A,12/01/2026\n";
        assert!(parse_content(csv.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("valid_from"));
    }
}
