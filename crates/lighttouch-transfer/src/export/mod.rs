//! Data portability: one customer or the whole book, as JSON (everything we
//! hold) or CSV (one row per customer, re-importable by `import`).

use lighttouch_book::customers::{editable_fields, Customer};
use lighttouch_book::error::{BookError, Result};
use lighttouch_book::store::Book;
use serde::Serialize;
use serde_json::Value;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

impl std::str::FromStr for ExportFormat {
    type Err = BookError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_lowercase().as_str() {
            "json" => Ok(ExportFormat::Json),
            "csv" => Ok(ExportFormat::Csv),
            _ => Err(BookError::invalid(
                "format",
                format!("{s:?} is not an export format (csv or json)"),
            )),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    format: &'a str,
    version: u32,
    exported_at: String,
    customers: Vec<lighttouch_book::customers::CustomerRecord>,
}

fn io_err(e: std::io::Error) -> BookError {
    BookError::Io {
        path: "export output".into(),
        source: e,
    }
}

/// Exports to a file, replacing it only once the export is complete.
/// Returns how many customers were written.
pub fn export_to_file(
    book: &Book,
    customer: Option<&str>,
    format: ExportFormat,
    path: &std::path::Path,
) -> Result<u32> {
    let file_err = |source| BookError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(file_err)?;
    export(book, customer, format, tmp.as_file_mut())?;
    tmp.as_file().sync_all().map_err(file_err)?;
    tmp.persist(path).map_err(|e| file_err(e.error))?;
    Ok(match customer {
        Some(_) => 1,
        None => book.customer_ids()?.len() as u32,
    })
}

pub fn export(
    book: &Book,
    customer: Option<&str>,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let ids = match customer {
        Some(id) => vec![book.live_customer(id)?.id],
        None => book.customer_ids()?,
    };
    match format {
        ExportFormat::Json => {
            let customers = ids
                .iter()
                .map(|id| book.customer_record(id))
                .collect::<Result<Vec<_>>>()?;
            let env = Envelope {
                format: "lighttouch-book",
                version: 1,
                exported_at: book
                    .clock()
                    .now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                customers,
            };
            serde_json::to_writer_pretty(&mut *out, &env)
                .map_err(|e| BookError::InvalidInput(e.to_string()))?;
            writeln!(out).map_err(io_err)
        }
        ExportFormat::Csv => {
            // Excel reads a CSV without a byte-order mark in the
            // system's code page: Chinese would come out garbled.
            out.write_all("\u{feff}".as_bytes()).map_err(io_err)?;
            let mut w = csv::Writer::from_writer(out);
            let mut header: Vec<&str> = vec!["id"];
            header.extend(editable_fields());
            header.extend(["consent_at", "created_at", "tags", "notes"]);
            w.write_record(&header)
                .map_err(|e| BookError::InvalidInput(e.to_string()))?;
            for id in &ids {
                let c = book.customer(id)?;
                let notes: Vec<String> = book.notes(id)?.into_iter().map(|n| n.body).collect();
                w.write_record(csv_row(&c, &header, &notes))
                    .map_err(|e| BookError::InvalidInput(e.to_string()))?;
            }
            w.flush().map_err(io_err)
        }
    }
}

fn csv_row(c: &Customer, header: &[&str], notes: &[String]) -> Vec<String> {
    let json = serde_json::to_value(c).unwrap_or_default();
    header
        .iter()
        .map(|h| match *h {
            "tags" => c
                .tags
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            "notes" => notes.join("\n"),
            field => match &json[field] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                other => other.to_string(),
            },
        })
        .collect()
}
