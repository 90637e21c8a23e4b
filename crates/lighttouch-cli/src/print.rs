//! Human-readable output; `--json` prints the same data as JSON instead.

use lighttouch_book::search::SearchHit;
use lighttouch_book::tags::Tag;
use lighttouch_book::CustomerRecord;
use lighttouch_transfer::import::ImportReport;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write;

pub fn emit<T: Serialize>(
    out: &mut dyn Write,
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, value)?;
        writeln!(out)?;
    } else {
        let text = human();
        if !text.is_empty() {
            writeln!(out, "{}", text.trim_end())?;
        }
    }
    Ok(())
}

pub fn search_hits(hits: &[SearchHit]) -> String {
    if hits.is_empty() {
        return "no customers found".into();
    }
    let mut s = String::new();
    for h in hits {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}",
            h.name,
            h.phone_masked.as_deref().unwrap_or("-"),
            h.tags.join(" "),
            h.id
        );
    }
    s
}

pub fn customer(r: &CustomerRecord) -> String {
    let c = &r.customer;
    let mut s = String::new();
    if let Some(at) = &c.erased_at {
        return format!("{} was erased at {at}", c.id);
    }
    let _ = writeln!(s, "{}  ({})", c.name, c.id);
    if let Some(into) = &c.merged_into {
        let _ = writeln!(s, "merged into {into}");
    }
    let line = |s: &mut String, label: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            let _ = writeln!(s, "  {label:<14}{v}");
        }
    };
    line(&mut s, "phone", c.phone.as_deref());
    line(&mut s, "phone2", c.phone2.as_deref());
    line(&mut s, "wechat", c.wechat.as_deref());
    line(&mut s, "email", c.email.as_deref());
    line(&mut s, "gender", c.gender.as_deref());
    let bday = c
        .birthday
        .as_ref()
        .map(|b| format!("{b} ({})", c.birthday_calendar));
    line(&mut s, "birthday", bday.as_deref());
    let anniv = c
        .anniversary
        .as_ref()
        .map(|b| format!("{b} ({})", c.anniversary_calendar));
    line(&mut s, "anniversary", anniv.as_deref());
    line(&mut s, "language", c.language.as_deref());
    line(&mut s, "ring size", c.ring_size.as_deref());
    line(&mut s, "wrist size", c.wrist_size.as_deref());
    line(&mut s, "clothing size", c.clothing_size.as_deref());
    line(&mut s, "shoe size", c.shoe_size.as_deref());
    line(&mut s, "metals", Some(&c.preferred_metals.join(", ")));
    line(&mut s, "stones", Some(&c.preferred_stones.join(", ")));
    line(&mut s, "styles", Some(&c.preferred_styles.join(", ")));
    line(&mut s, "colours", Some(&c.preferred_colors.join(", ")));
    line(&mut s, "budget", c.budget.as_deref());
    line(&mut s, "stage", c.stage.as_deref());
    let consent = if c.consent_marketing { "yes" } else { "no" };
    line(
        &mut s,
        "consent",
        Some(&format!(
            "{consent}{}",
            c.consent_at
                .as_ref()
                .map(|a| format!(" (since {a})"))
                .unwrap_or_default()
        )),
    );
    if c.do_not_contact {
        line(&mut s, "do not contact", Some("yes"));
    }
    line(&mut s, "owner", c.owner.as_deref());
    let tags: Vec<String> = c
        .tags
        .iter()
        .map(|t| format!("{} [{}]", t.name, t.group))
        .collect();
    line(&mut s, "tags", Some(&tags.join(", ")));
    if !r.notes.is_empty() {
        let _ = writeln!(s, "notes");
        for n in &r.notes {
            let edited = if n.revisions.len() > 1 {
                format!(" (edited, {} versions)", n.revisions.len())
            } else {
                String::new()
            };
            let _ = writeln!(s, "  {}  {}{edited}", day_of(&n.created_at), n.body);
        }
    }
    if !r.purchases.is_empty() {
        let _ = writeln!(s, "purchases");
        for p in &r.purchases {
            let amount = p
                .amount_cents
                .map(|c| format!("  ¥{}.{:02}", c / 100, c % 100))
                .unwrap_or_default();
            let _ = writeln!(s, "  {}  {}{amount}", p.purchased_on, p.product);
        }
    }
    if !r.touchpoints.is_empty() {
        let _ = writeln!(s, "touchpoints");
        for t in &r.touchpoints {
            let _ = writeln!(s, "  {}  {} via {}", day_of(&t.at), t.kind, t.channel);
        }
    }
    s
}

pub fn tags(tags: &[Tag]) -> String {
    tags.iter()
        .map(|t| format!("{}\t{}\t{}", t.name, t.group, t.customers))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn import_batches(batches: &[lighttouch_transfer::import::ImportBatch]) -> String {
    let mut s = String::new();
    if batches.is_empty() {
        s.push_str("no imports yet\n");
    }
    for b in batches {
        let _ = writeln!(
            s,
            "{}  {}  {} {}: {} rows, {} created, {} merged{}",
            b.id,
            b.imported_at,
            b.kind,
            b.file_name.as_deref().unwrap_or("-"),
            b.rows,
            b.created,
            b.merged,
            if b.undone_at.is_some() {
                "  (undone)"
            } else {
                ""
            }
        );
    }
    s
}

pub fn import_report(r: &ImportReport) -> String {
    let mut s = String::new();
    let verb = if r.dry_run { "would be" } else { "were" };
    let _ = writeln!(s, "{} rows read ({})", r.rows, r.encoding);
    let _ = writeln!(s, "  {} {verb} created", r.created);
    let _ = writeln!(s, "  {} {verb} merged into existing customers", r.merged);
    if r.already_present > 0 {
        let _ = writeln!(s, "  {} already in the book, left alone", r.already_present);
    }
    let _ = writeln!(s, "  {} rejected", r.rejected);
    let ignored: Vec<&str> = r
        .columns
        .iter()
        .filter(|c| c.field.is_none())
        .map(|c| c.header.as_str())
        .collect();
    if !ignored.is_empty() {
        let _ = writeln!(s, "ignored columns: {}", ignored.join(", "));
    }
    for m in &r.merges {
        let with = match (&m.customer_id, m.same_as_line) {
            (Some(id), _) => format!("{} ({id})", m.name),
            (None, Some(line)) => format!("line {line}"),
            _ => m.name.clone(),
        };
        let _ = writeln!(s, "  line {}: same {} as {with}", m.line, m.matched_on);
    }
    for rej in &r.rejections {
        let _ = writeln!(s, "  line {}: {}", rej.line, rej.reason);
    }
    if r.dry_run {
        let _ = writeln!(s, "dry run: nothing was written");
    }
    if let Some(id) = &r.batch_id {
        let _ = writeln!(s, "to undo this import: lighttouch imports --undo {id}");
    }
    s
}

/// The date part of a stored timestamp: its first ten characters, cut on a
/// character boundary (a synced value need not be ASCII).
fn day_of(stamp: &str) -> &str {
    stamp
        .char_indices()
        .nth(10)
        .map_or(stamp, |(i, _)| &stamp[..i])
}

#[cfg(test)]
mod day_tests {
    #[test]
    fn a_timestamp_that_is_not_ascii_is_cut_on_a_character() {
        assert_eq!(super::day_of("2026-11-24T10:00:00Z"), "2026-11-24");
        assert_eq!(
            super::day_of("二〇二六年十一月二十四日"),
            "二〇二六年十一月二十"
        );
        assert_eq!(super::day_of("昨天"), "昨天");
    }
}
