//! Search keys of one customer, as stored in `search_docs`. Every key is led
//! by a control byte naming its kind; queries are folded and never contain
//! control bytes, so a match can never straddle two keys.

use crate::clock::link_present;
use crate::error::Result;
use lighttouch_text::fold::{fold, pinyin_spellings};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

// display segment
pub(crate) const K_NAME: u8 = 0x01;
// pinyin segment: matched only at the start of a key
pub(crate) const K_PINYIN: u8 = 0x02;
pub(crate) const K_PINYIN_TAIL: u8 = 0x03;
pub(crate) const K_INITIALS: u8 = 0x04;
pub(crate) const K_INITIALS_TAIL: u8 = 0x05;
// others segment
pub(crate) const K_PHONE: u8 = 0x06;
pub(crate) const K_WECHAT: u8 = 0x07;
pub(crate) const K_EMAIL: u8 = 0x08;
pub(crate) const K_TAG: u8 = 0x09;
// notes segment
pub(crate) const K_NOTE: u8 = 0x0a;

pub(crate) struct DocKeys {
    pub sort_key: String,
    pub display: String,
    pub pinyin: String,
    pub others: String,
    pub notes: String,
}

fn push_key(out: &mut String, kind: u8, text: &str) {
    if !text.is_empty() {
        out.push(kind as char);
        out.push_str(text);
    }
}

pub(crate) fn doc_keys(
    name: &str,
    phones: &[&str],
    wechat: Option<&str>,
    email: Option<&str>,
    tags: &[String],
    notes: &[String],
) -> DocKeys {
    let folded = fold(name);
    let mut display = String::new();
    push_key(&mut display, K_NAME, &folded);
    let mut pinyin = String::new();
    let spellings = pinyin_spellings(&folded);
    for syllables in &spellings {
        for i in 0..syllables.len() {
            let full: String = syllables[i..].concat();
            let initials: String = syllables[i..]
                .iter()
                .filter_map(|s| s.chars().next())
                .collect();
            let (kp, ki) = if i == 0 {
                (K_PINYIN, K_INITIALS)
            } else {
                (K_PINYIN_TAIL, K_INITIALS_TAIL)
            };
            push_key(&mut pinyin, kp, &full);
            push_key(&mut pinyin, ki, &initials);
        }
    }
    if spellings.is_empty() && folded.contains(' ') {
        // "chloe chan" is also found as "chloechan"
        push_key(&mut pinyin, K_PINYIN, &folded.replace(' ', ""));
    }
    let mut others = String::new();
    for p in phones {
        push_key(&mut others, K_PHONE, p.trim_start_matches('+'));
    }
    if let Some(w) = wechat {
        push_key(&mut others, K_WECHAT, &fold(w));
    }
    if let Some(e) = email {
        push_key(&mut others, K_EMAIL, &fold(e));
    }
    for t in tags {
        push_key(&mut others, K_TAG, &fold(t));
    }
    let mut note_keys = String::new();
    for n in notes {
        push_key(&mut note_keys, K_NOTE, &fold(n));
    }
    let sort_key = match spellings.first() {
        Some(s) => format!("{} {folded}", s.join(" ")),
        None => folded.clone(),
    };
    DocKeys {
        sort_key,
        display,
        pinyin,
        others,
        notes: note_keys,
    }
}

/// Rewrites the search keys of one customer (or drops them once the customer
/// is erased or merged). Runs inside the write transaction.
pub(crate) fn write_doc(conn: &Connection, customer_id: &str) -> Result<()> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT name, phone, phone2, wechat, email,
                    erased_at IS NOT NULL OR merged_into IS NOT NULL
             FROM customers WHERE id = ?1",
        )?
        .query_row([customer_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let Some((name, phone, phone2, wechat, email, _)) = row.filter(|r| !r.5) else {
        conn.prepare_cached("DELETE FROM search_docs WHERE customer_id = ?1")?
            .execute([customer_id])?;
        return Ok(());
    };
    let mut tags = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT t.name, ct.added_hlc, ct.removed_hlc
             FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = ?1",
        )?;
        let mut rows = stmt.query([customer_id])?;
        while let Some(r) = rows.next()? {
            let added: String = r.get(1)?;
            let removed: Option<String> = r.get(2)?;
            if !link_present(&added, removed.as_deref()) {
                continue;
            }
            // Synonyms are not repeated per customer: the query is expanded instead.
            tags.push(r.get::<_, String>(0)?);
        }
    }
    let notes: Vec<String> = conn
        .prepare_cached("SELECT body FROM notes WHERE customer_id = ?1 AND deleted_at IS NULL ORDER BY created_at DESC")?
        .query_map([customer_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let phones: Vec<&str> = [phone.as_deref(), phone2.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let k = doc_keys(
        &name,
        &phones,
        wechat.as_deref(),
        email.as_deref(),
        &tags,
        &notes,
    );
    conn.prepare_cached(
        "INSERT INTO search_docs(customer_id, sort_key, display, pinyin, others, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(customer_id) DO UPDATE SET sort_key = excluded.sort_key,
            display = excluded.display, pinyin = excluded.pinyin,
            others = excluded.others, notes = excluded.notes",
    )?
    .execute(params![
        customer_id,
        k.sort_key,
        k.display,
        k.pinyin,
        k.others,
        k.notes
    ])?;
    Ok(())
}

/// One customer's searchable text, read in bulk.
#[derive(Default)]
struct DocSource {
    name: String,
    phones: Vec<String>,
    wechat: Option<String>,
    email: Option<String>,
    tags: Vec<String>,
    /// (created_at, body), newest first once sorted.
    notes: Vec<(String, String)>,
}

/// Rewrites every customer's search keys in three reads and one pass of
/// inserts, the keys computed on every core: a first sync applies a whole
/// store's history, where keys written customer by customer would cost a
/// query round per customer and page.
pub(crate) fn rebuild_docs(conn: &Connection) -> Result<usize> {
    rebuild_docs_alongside(conn, || Ok(()))
}

/// [`rebuild_docs`], running `alongside` on this thread (and connection)
/// while the keys are computed on the others: the end of a first sync builds
/// its indexes meanwhile.
pub(crate) fn rebuild_docs_alongside(
    conn: &Connection,
    alongside: impl FnOnce() -> Result<()>,
) -> Result<usize> {
    let mut sources: HashMap<String, DocSource> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT id, name, phone, phone2, wechat, email FROM customers
             WHERE erased_at IS NULL AND merged_into IS NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let phones = [r.get::<_, Option<String>>(2)?, r.get(3)?]
                .into_iter()
                .flatten()
                .collect();
            sources.insert(
                r.get(0)?,
                DocSource {
                    name: r.get(1)?,
                    phones,
                    wechat: r.get(4)?,
                    email: r.get(5)?,
                    ..DocSource::default()
                },
            );
        }
    }
    {
        let mut stmt = conn.prepare(
            "SELECT ct.customer_id, t.name, ct.added_hlc, ct.removed_hlc
             FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let added: String = r.get(2)?;
            let removed: Option<String> = r.get(3)?;
            if !link_present(&added, removed.as_deref()) {
                continue;
            }
            let customer: String = r.get(0)?;
            if let Some(s) = sources.get_mut(&customer) {
                s.tags.push(r.get(1)?);
            }
        }
    }
    {
        // Unordered (its index may be set aside): each customer's notes
        // are sorted by the workers.
        let mut stmt = conn
            .prepare("SELECT customer_id, created_at, body FROM notes WHERE deleted_at IS NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let customer: String = r.get(0)?;
            if let Some(s) = sources.get_mut(&customer) {
                s.notes.push((r.get(1)?, r.get(2)?));
            }
        }
    }
    let mut sources: Vec<(String, DocSource)> = sources.into_iter().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = sources.len().div_ceil(threads).max(1);
    let (keys, alongside) = std::thread::scope(|scope| {
        let workers: Vec<_> = sources
            .chunks_mut(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter_mut()
                        .map(|(_, s)| {
                            // Newest first, as one customer's search keys list them.
                            s.notes.sort_by(|a, b| b.0.cmp(&a.0));
                            let notes: Vec<String> =
                                s.notes.iter().map(|(_, body)| body.clone()).collect();
                            let phones: Vec<&str> = s.phones.iter().map(String::as_str).collect();
                            doc_keys(
                                &s.name,
                                &phones,
                                s.wechat.as_deref(),
                                s.email.as_deref(),
                                &s.tags,
                                &notes,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let alongside = alongside();
        let keys: Vec<DocKeys> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("computing search keys does not panic"))
            .collect();
        (keys, alongside)
    });
    alongside?;
    conn.execute("DELETE FROM search_docs", [])?;
    let mut insert = conn.prepare(
        "INSERT INTO search_docs(customer_id, sort_key, display, pinyin, others, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for ((id, _), k) in sources.iter().zip(&keys) {
        insert.execute(params![
            id, k.sort_key, k.display, k.pinyin, k.others, k.notes
        ])?;
    }
    Ok(keys.len())
}
