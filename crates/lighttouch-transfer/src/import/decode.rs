//! Bytes to text and rows: UTF-8 with or without BOM, UTF-16 with BOM (Excel's
//! "Unicode text"), else GB18030 (which covers GBK and GB2312); comma, tab or
//! semicolon separated.

use lighttouch_book::error::{BookError, Result};

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

/// Longest line an import reads: a row of every field at its limit is far
/// shorter. A longer one is a broken file, refused before it is parsed.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// Largest file an import reads (a 100,000-customer export is about 30 MB).
pub(crate) const MAX_FILE_BYTES: u64 = 512 << 20;

/// The first line longer than [`MAX_LINE_BYTES`], as an error naming it.
fn check_line_lengths(bytes: &[u8]) -> Result<()> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (line, end) in (1..).zip(ends) {
        if end - start > MAX_LINE_BYTES {
            return Err(BookError::Import(format!(
                "line {line} is longer than {} MiB: this is not a customer or purchase export",
                MAX_LINE_BYTES >> 20
            )));
        }
        start = end + 1;
    }
    Ok(())
}

pub(crate) fn read_table(bytes: &[u8]) -> Result<Table> {
    check_line_lengths(bytes)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_too_long_is_refused_with_its_number_before_parsing() {
        let mut file = b"name,phone\n".to_vec();
        file.extend(b"a,1\n");
        file.extend(vec![b'x'; MAX_LINE_BYTES + 1]);
        file.extend(b"\nb,2\n");
        let err = read_table(&file).err().unwrap().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(read_table(b"name\nok\n").is_ok());
    }
}
