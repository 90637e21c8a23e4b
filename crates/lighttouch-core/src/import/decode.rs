//! Bytes to text and rows: UTF-8 with or without BOM, UTF-16 with BOM (Excel's
//! "Unicode text"), else GB18030 (which covers GBK and GB2312); comma, tab or
//! semicolon separated.

use crate::error::{BookError, Result};

pub(crate) struct Table {
    pub encoding: &'static str,
    /// (line number in the file, cells)
    pub rows: Vec<(usize, Vec<String>)>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<(String, &'static str)> {
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_with_bom_removal(bytes);
        if had_errors {
            return Err(BookError::Import(format!(
                "the file says it is {} but is not",
                enc.name()
            )));
        }
        return Ok((text.into_owned(), enc.name()));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8"));
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(BookError::Import(
            "the file is neither UTF-8 nor GB18030/GBK text; save it as CSV (UTF-8) and try again"
                .into(),
        ));
    }
    Ok((text.into_owned(), "GB18030"))
}

pub(crate) fn read_table(bytes: &[u8]) -> Result<Table> {
    let (text, encoding) = decode(bytes)?;
    if text.contains('\0') {
        return Err(BookError::Import(
            "this is not a CSV file (it contains binary data)".into(),
        ));
    }
    // Sniff over the opening lines: a title line above the header has no separators.
    let opening: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .collect();
    let delimiter = [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|d| {
            opening
                .iter()
                .map(|l| l.bytes().filter(|b| b == d).count())
                .sum::<usize>()
        })
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            BookError::Import(format!("line {line}: malformed CSV ({e})"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        rows.push((line, cells));
    }
    Ok(Table { encoding, rows })
}
