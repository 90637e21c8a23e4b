//! CSV import of customers and purchases as POS and CRM systems export them.
//!
//! An import is planned first (every row parsed, duplicates found, nothing
//! written) and the plan is the dry-run report. Applying it is one
//! transaction: all rows or none, unless the caller asks to skip invalid rows.

mod decode;
mod headers;
mod purchases;

pub use purchases::import_purchases;

use headers::Kind;
use lighttouch_book::changes::Entity;
use lighttouch_book::customers::{insert_customer, parse_all, Customer};
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use lighttouch_book::tags::ensure_tag;
use rusqlite::OptionalExtension;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportOptions {
    /// Report only; write nothing.
    pub dry_run: bool,
    /// Import the valid rows even when some are invalid.
    pub skip_invalid: bool,
    /// The field of each column, in order, replacing the mapping guessed from
    /// the headers (None = do not import that column).
    #[serde(default)]
    pub columns: Option<Vec<Option<String>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ColumnMapping {
    pub header: String,
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rejection {
    pub line: usize,
    pub reason: String,
}

/// A row that will be (or was) merged into a customer instead of creating a copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MergeProposal {
    pub line: usize,
    /// The existing customer; None when the match is an earlier row of this file.
    pub customer_id: Option<String>,
    pub name: String,
    /// `phone` or `wechat`
    pub matched_on: String,
    /// Line of the earlier row it merges with, for duplicates within the file.
    pub same_as_line: Option<usize>,
}

/// How far an import has got: rows written of the rows to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportProgress {
    pub done: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportReport {
    pub kind: String,
    pub encoding: String,
    pub dry_run: bool,
    /// Whether anything was written.
    pub applied: bool,
    pub rows: usize,
    pub created: usize,
    pub merged: usize,
    /// Purchases already in the book (same order and SKU), left alone.
    pub already_present: usize,
    pub rejected: usize,
    pub columns: Vec<ColumnMapping>,
    pub merges: Vec<MergeProposal>,
    pub rejections: Vec<Rejection>,
    /// IDs of the customers created (empty on a dry run).
    pub created_ids: Vec<String>,
    /// The first data rows as read, for checking the column mapping.
    pub preview: Vec<Vec<String>>,
    /// The import's record, for [`Book::undo_import`] (None on a dry run).
    pub batch_id: Option<String>,
}

/// One import as the book remembers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportBatch {
    pub id: String,
    pub imported_at: String,
    pub kind: String,
    pub file_name: Option<String>,
    pub rows: u32,
    pub created: u32,
    pub merged: u32,
    pub undone_at: Option<String>,
}

/// What undoing an import changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UndoReport {
    /// Customers the import created, now removed.
    pub customers_removed: u32,
    /// Fields the import filled on existing customers, now empty again.
    pub fields_cleared: u32,
    /// Fields left alone because someone changed them after the import.
    pub fields_kept: u32,
    pub tags_removed: u32,
    pub notes_removed: u32,
}

/// What an import wrote, recorded with it so it can be undone.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct Effects {
    created: Vec<String>,
    filled: Vec<(String, String, Value)>,
    tagged: Vec<(String, String)>,
    notes: Vec<String>,
}

/// One customer row, parsed.
struct CustomerRow {
    line: usize,
    fields: Vec<(&'static str, Value)>,
    tags: Vec<String>,
    note: Option<String>,
    target: Target,
}

enum Target {
    New,
    Existing(String),
    /// Merges into the customer created from an earlier row (index into rows).
    EarlierRow(usize),
}

pub fn import_customers_file(
    book: &mut Book,
    path: &Path,
    options: ImportOptions,
) -> Result<ImportReport> {
    import_customers_file_with_progress(book, path, options, &mut |_| {})
}

/// Like [`Book::import_customers_file`], telling `progress` how many rows
/// are written (about a hundred times over the import, and at the end).
/// The import is still one transaction: rows counted as written are
/// committed only when it ends.
pub fn import_customers_file_with_progress(
    book: &mut Book,
    path: &Path,
    options: ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    let bytes = read_file(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    import_customers_named(book, &bytes, options, name, progress)
}

pub fn import_purchases_file(
    book: &mut Book,
    path: &Path,
    options: ImportOptions,
) -> Result<ImportReport> {
    let bytes = read_file(path)?;
    import_purchases(book, &bytes, options)
}

/// Imports customers from CSV bytes. See the module docs.
pub fn import_customers(
    book: &mut Book,
    bytes: &[u8],
    options: ImportOptions,
) -> Result<ImportReport> {
    import_customers_named(book, bytes, options, None, &mut |_| {})
}

fn import_customers_named(
    book: &mut Book,
    bytes: &[u8],
    options: ImportOptions,
    file_name: Option<String>,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    let table = decode::read_table(bytes)?;
    let header_at = headers::find_header(Kind::Customers, &table.rows).ok_or_else(|| {
        BookError::Import("no header row with a name, phone or WeChat column (e.g. 姓名, 手机, 微信) in the first 5 lines".into())
    })?;
    let header = &table.rows[header_at].1;
    let map = match &options.columns {
        Some(columns) => chosen_columns(header, columns)?,
        None => headers::map_headers(Kind::Customers, header),
    };
    let mut report = new_report("customers", table.encoding, &options, header, &map);
    report.preview = table.rows[header_at + 1..]
        .iter()
        .take(5)
        .map(|(_, cells)| cells.clone())
        .collect();
    let mut rows: Vec<CustomerRow> = Vec::new();
    // normalised phone / wechat → index of the row that claims it
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, cells) in &table.rows[header_at + 1..] {
        report.rows += 1;
        match plan_customer_row(book, *line, cells, &map, &mut seen, &rows, &mut report) {
            Ok(row) => rows.push(row),
            Err(reason) => report.rejections.push(Rejection {
                line: *line,
                reason,
            }),
        }
    }
    report.rejected = report.rejections.len();
    report.created = rows
        .iter()
        .filter(|r| matches!(r.target, Target::New))
        .count();
    report.merged = report.merges.len();
    if options.dry_run {
        return Ok(report);
    }
    refuse_if_invalid(&report, &options)?;
    let associate = book.associate()?;
    let store = book.store_name()?;
    let batch_id = uuid::Uuid::now_v7().to_string();
    let (rows_n, created_n, merged_n) = (report.rows, report.created, report.merged);
    let total = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let step = (total / 100).max(1);
    let created_ids = book.write(|w| {
        let mut ids: Vec<Option<String>> = Vec::with_capacity(rows.len());
        let mut effects = Effects::default();
        for (done, row) in (1..).zip(&rows) {
            let id = match &row.target {
                Target::New => {
                    let id = insert_customer(
                        w,
                        row.fields.clone(),
                        associate.clone(),
                        store.clone(),
                    )?;
                    effects.created.push(id.clone());
                    id
                }
                Target::Existing(id) => {
                    fill_empty_fields(w, id, &row.fields, &mut effects)?;
                    id.clone()
                }
                Target::EarlierRow(i) => {
                    let id = ids[*i].clone().expect("earlier rows are written first");
                    fill_empty_fields(w, &id, &row.fields, &mut effects)?;
                    id
                }
            };
            let is_new = effects.created.contains(&id);
            for tag in &row.tags {
                let t = ensure_tag(w, tag, None)?;
                if w.add_tag_link(&id, &t.id)? && !is_new {
                    effects.tagged.push((id.clone(), t.id));
                }
            }
            if let Some(note) = &row.note {
                if let Some(note_id) = add_imported_note(w, &id, note, associate.as_deref())? {
                    if !is_new {
                        effects.notes.push(note_id);
                    }
                }
            }
            ids.push(Some(id));
            if done % step == 0 || done == total {
                progress(ImportProgress { done, total });
            }
        }
        let at = w.now_text();
        w.conn().execute(
            "INSERT INTO import_batches(id, imported_at, kind, file_name, rows, created, merged, effects)
             VALUES (?1, ?2, 'customers', ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                batch_id,
                at,
                file_name,
                rows_n as i64,
                created_n as i64,
                merged_n as i64,
                serde_json::to_string(&effects).unwrap_or_default()
            ],
        )?;
        Ok(effects.created)
    })?;
    report.created_ids = created_ids;
    report.applied = true;
    report.batch_id = Some(batch_id);
    Ok(report)
}

fn plan_customer_row(
    book: &Book,
    line: usize,
    cells: &[String],
    map: &[Option<&'static str>],
    seen: &mut HashMap<String, usize>,
    rows: &[CustomerRow],
    report: &mut ImportReport,
) -> std::result::Result<CustomerRow, String> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut tags = Vec::new();
    let mut note = None;
    for (i, field) in map.iter().enumerate() {
        let (Some(field), Some(cell)) = (field, cells.get(i)) else {
            continue;
        };
        if cell.is_empty() {
            continue;
        }
        match *field {
            "tags" => tags.extend(
                cell.split([';', ',', '，', '；', '、', '|', ' '])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from),
            ),
            // The note editor's limit, so no imported note can block sync.
            "note" => {
                lighttouch_book::notes::validate_body(cell).map_err(|e| e.to_string())?;
                note = Some(cell.clone())
            }
            f => pairs.push((f, cell.as_str())),
        }
    }
    let fields = parse_all(&pairs).map_err(|e| e.to_string())?;
    let get = |f: &str| {
        fields
            .iter()
            .find(|(n, _)| *n == f)
            .and_then(|(_, v)| v.as_str())
            .map(String::from)
    };
    let name = get("name").ok_or("no name")?;
    for t in &tags {
        if t.chars().count() > 40 {
            return Err(format!("tag {t:?} is longer than 40 characters"));
        }
    }
    let keys: Vec<(String, &str)> = [
        ("phone", get("phone")),
        ("phone", get("phone2")),
        ("wechat", get("wechat")),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (format!("{k}:{}", v.to_lowercase()), k)))
    .map(|(key, k)| (key, if k == "phone" { "phone" } else { "wechat" }))
    .collect();
    let mut target = Target::New;
    for (key, matched_on) in &keys {
        if let Some(&earlier) = seen.get(key) {
            let earlier_row = &rows[earlier];
            let root = match &earlier_row.target {
                Target::EarlierRow(i) => Target::EarlierRow(*i),
                Target::Existing(id) => Target::Existing(id.clone()),
                Target::New => Target::EarlierRow(earlier),
            };
            report.merges.push(MergeProposal {
                line,
                customer_id: match &root {
                    Target::Existing(id) => Some(id.clone()),
                    _ => None,
                },
                name: name.clone(),
                matched_on: matched_on.to_string(),
                same_as_line: Some(earlier_row.line),
            });
            target = root;
            break;
        }
        let (phone, wechat) = if *matched_on == "phone" {
            (key.strip_prefix("phone:"), None)
        } else {
            (None, key.strip_prefix("wechat:"))
        };
        let dups = book
            .find_duplicates(phone, wechat, None)
            .map_err(|e| e.to_string())?;
        if let Some(d) = dups.into_iter().next() {
            report.merges.push(MergeProposal {
                line,
                customer_id: Some(d.customer_id.clone()),
                name: d.name,
                matched_on: matched_on.to_string(),
                same_as_line: None,
            });
            target = Target::Existing(d.customer_id);
            break;
        }
    }
    let index = rows.len();
    for (key, _) in keys {
        seen.entry(key).or_insert(index);
    }
    Ok(CustomerRow {
        line,
        fields,
        tags,
        note,
        target,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io = |source| BookError::Io {
        path: path.display().to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > decode::MAX_FILE_BYTES {
        return Err(BookError::Import(format!(
            "{} is {} MiB; an import reads at most {} MiB",
            path.display(),
            size >> 20,
            decode::MAX_FILE_BYTES >> 20
        )));
    }
    std::fs::read(path).map_err(io)
}

fn new_report(
    kind: &str,
    encoding: &str,
    options: &ImportOptions,
    header: &[String],
    map: &[Option<&str>],
) -> ImportReport {
    ImportReport {
        kind: kind.into(),
        encoding: encoding.into(),
        dry_run: options.dry_run,
        applied: false,
        rows: 0,
        created: 0,
        merged: 0,
        already_present: 0,
        rejected: 0,
        columns: header
            .iter()
            .zip(map)
            .map(|(h, f)| ColumnMapping {
                header: h.clone(),
                field: f.map(String::from),
            })
            .collect(),
        merges: Vec::new(),
        rejections: Vec::new(),
        created_ids: Vec::new(),
        preview: Vec::new(),
        batch_id: None,
    }
}

/// The mapping the associate chose in the wizard, checked against the file.
fn chosen_columns(
    header: &[String],
    columns: &[Option<String>],
) -> Result<Vec<Option<&'static str>>> {
    if columns.len() != header.len() {
        return Err(BookError::InvalidInput(format!(
            "the column mapping names {} columns but the file has {}",
            columns.len(),
            header.len()
        )));
    }
    let allowed = lighttouch_book::customers::fields::customer_import_fields();
    let mut used: Vec<&'static str> = Vec::new();
    let mut out = Vec::with_capacity(columns.len());
    for (h, c) in header.iter().zip(columns) {
        let Some(field) = c.as_deref().filter(|f| !f.is_empty()) else {
            out.push(None);
            continue;
        };
        let Some(field) = allowed.iter().copied().find(|a| *a == field) else {
            return Err(BookError::InvalidInput(format!(
                "column {h:?}: {field:?} is not a field a customer import can fill"
            )));
        };
        if used.contains(&field) && field != "tags" {
            return Err(BookError::InvalidInput(format!(
                "column {h:?}: {field} is already taken by another column"
            )));
        }
        used.push(field);
        out.push(Some(field));
    }
    if !out.contains(&Some("name")) {
        return Err(BookError::InvalidInput(
            "no column is mapped to the name; every customer needs one".into(),
        ));
    }
    Ok(out)
}

fn refuse_if_invalid(report: &ImportReport, options: &ImportOptions) -> Result<()> {
    if report.rejected == 0 || options.skip_invalid {
        return Ok(());
    }
    let first: Vec<String> = report
        .rejections
        .iter()
        .take(3)
        .map(|r| format!("line {}: {}", r.line, r.reason))
        .collect();
    let more = if report.rejected > 3 {
        format!("; and {} more", report.rejected - 3)
    } else {
        String::new()
    };
    Err(BookError::Import(format!(
        "{} of {} rows are invalid ({}{more}); nothing was imported. Fix them, or import the rest with --skip-invalid",
        report.rejected,
        report.rows,
        first.join("; ")
    )))
}

/// Fills only the fields the customer does not have yet: an import never
/// overwrites what an associate entered.
fn fill_empty_fields(
    w: &mut lighttouch_book::changes::Writer<'_>,
    id: &str,
    fields: &[(&'static str, Value)],
    effects: &mut Effects,
) -> Result<()> {
    let current: Customer = w.conn().query_row(
        &format!(
            "SELECT {} FROM customers WHERE id = ?1",
            lighttouch_book::customers::CUSTOMER_COLUMNS
        ),
        [id],
        lighttouch_book::customers::customer_from_row,
    )?;
    let current = serde_json::to_value(current).unwrap_or_default();
    for (field, value) in fields {
        // A calendar belongs to its date: it is "empty" while the date is.
        let field_for_emptiness = field.strip_suffix("_calendar").unwrap_or(field);
        let empty = match &current[field_for_emptiness] {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if empty && !value.is_null() && w.update(Entity::Customer, id, field, value)? {
            effects
                .filled
                .push((id.to_string(), field.to_string(), value.clone()));
        }
    }
    Ok(())
}

fn add_imported_note(
    w: &mut lighttouch_book::changes::Writer<'_>,
    customer_id: &str,
    body: &str,
    author: Option<&str>,
) -> Result<Option<String>> {
    let exists: bool = w
        .conn()
        .prepare_cached(
            "SELECT 1 FROM notes WHERE customer_id = ?1 AND body = ?2 AND deleted_at IS NULL",
        )?
        .exists(rusqlite::params![customer_id, body])?;
    if exists {
        return Ok(None); // the same note imported twice is one note
    }
    let at = w.now_text();
    Ok(Some(lighttouch_book::notes::insert_note(
        w,
        customer_id,
        body,
        author,
        &at,
    )?))
}

/// Imports of this book, newest first.
pub fn import_batches(book: &Book) -> Result<Vec<ImportBatch>> {
    let mut stmt = book.connection().prepare(
        "SELECT id, imported_at, kind, file_name, rows, created, merged, undone_at
         FROM import_batches ORDER BY imported_at DESC, id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ImportBatch {
            id: r.get(0)?,
            imported_at: r.get(1)?,
            kind: r.get(2)?,
            file_name: r.get(3)?,
            rows: r.get(4)?,
            created: r.get(5)?,
            merged: r.get(6)?,
            undone_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Takes an import back in one transaction: the customers it created are
/// removed (erased, so the removal syncs), fields it filled are emptied
/// unless someone changed them since, its tags and notes are removed.
pub fn undo_import(book: &mut Book, batch_id: &str) -> Result<UndoReport> {
    let row: Option<(String, Option<String>)> = book
        .connection()
        .query_row(
            "SELECT effects, undone_at FROM import_batches WHERE id = ?1",
            [batch_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((effects, undone)) = row else {
        return Err(BookError::InvalidInput(format!("no import {batch_id}")));
    };
    if undone.is_some() {
        return Err(BookError::InvalidInput(
            "this import has already been undone".into(),
        ));
    }
    let effects: Effects = serde_json::from_str(&effects)
        .map_err(|e| BookError::InvalidInput(format!("import {batch_id} is unreadable: {e}")))?;
    book.write(|w| {
        let mut report = UndoReport::default();
        for id in &effects.created {
            let live: bool = w
                .conn()
                .prepare_cached(
                    "SELECT 1 FROM customers WHERE id = ?1 AND erased_at IS NULL AND merged_into IS NULL",
                )?
                .exists([id])?;
            if live {
                w.erase_customer(id)?;
                report.customers_removed += 1;
            }
        }
        for (id, field, value) in &effects.filled {
            let current: Option<rusqlite::types::Value> = w
                .conn()
                .query_row(
                    &format!("SELECT {field} FROM customers WHERE id = ?1 AND erased_at IS NULL"),
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            let unchanged = match (current, value) {
                (Some(rusqlite::types::Value::Text(t)), Value::String(s)) => t == *s,
                (Some(rusqlite::types::Value::Text(t)), other) => {
                    serde_json::from_str::<Value>(&t).ok().as_ref() == Some(other)
                }
                (Some(rusqlite::types::Value::Integer(i)), Value::Bool(b)) => (i != 0) == *b,
                (Some(rusqlite::types::Value::Integer(i)), Value::Number(n)) => n.as_i64() == Some(i),
                _ => false,
            };
            if unchanged {
                w.update(Entity::Customer, id, field, &Value::Null)?;
                report.fields_cleared += 1;
            } else {
                report.fields_kept += 1;
            }
        }
        for (id, tag) in &effects.tagged {
            if w.remove_tag_link(id, tag)? {
                report.tags_removed += 1;
            }
        }
        for note in &effects.notes {
            let now = Value::String(w.now_text());
            if w.update(Entity::Note, note, "deleted_at", &now)? {
                report.notes_removed += 1;
            }
        }
        let at = w.now_text();
        w.conn().execute(
            "UPDATE import_batches SET undone_at = ?2 WHERE id = ?1",
            rusqlite::params![batch_id, at],
        )?;
        Ok(report)
    })
}

/// The customer a purchase row belongs to, by ID, phone or WeChat ID.
fn read_customer_key(
    book: &Book,
    id: Option<&str>,
    phone: Option<&str>,
    wechat: Option<&str>,
) -> std::result::Result<String, String> {
    if let Some(id) = id {
        return match book.live_customer(id) {
            Ok(c) => Ok(c.id),
            Err(_) => Err(format!("no customer with id {id}")),
        };
    }
    if let Some(p) = phone {
        let p = lighttouch_text::normalize_phone(p)?;
        let found = book
            .find_duplicates(Some(&p), None, None)
            .map_err(|e| e.to_string())?;
        return found
            .into_iter()
            .next()
            .map(|d| d.customer_id)
            .ok_or_else(|| {
                format!(
                    "no customer with phone {} in the book; import the customers first",
                    lighttouch_text::mask_phone(&p)
                )
            });
    }
    if let Some(w) = wechat {
        let found = book
            .find_duplicates(None, Some(w), None)
            .map_err(|e| e.to_string())?;
        return found
            .into_iter()
            .next()
            .map(|d| d.customer_id)
            .ok_or_else(|| format!("no customer with WeChat ID {w} in the book"));
    }
    Err("no customer ID, phone or WeChat ID to tell whose purchase it is".into())
}
