//! Content, suggestions, audiences, drafts, the daily queue, contacts and
//! the evaluation: the same functions the app calls.

use crate::args::{Command, ContentCommand, DraftsCommand, ScriptsCommand, TouchCommand};
use anyhow::{bail, Context, Result};
use chrono::{FixedOffset, Local, NaiveDate, NaiveDateTime, Offset};
use lighttouch_book::history::NewTouchpoint;
use lighttouch_book::{Book, SystemClock};
use lighttouch_demo::planted::planted_book;
use lighttouch_outreach::recommend::eval::{evaluate as evaluate_book, EvalOptions, EvalReport};
use lighttouch_outreach::Outreach;
use lighttouch_transfer::import::ImportOptions;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A day given to a flag (`--date`, `--on`, `--until`), named in the error.
pub fn parse_day(flag: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .with_context(|| format!("--{flag} {text:?}: expected YYYY-MM-DD"))
}

/// The local day: `--date`, or today on this laptop's clock.
fn day(book: &Book, date: &Option<String>) -> Result<NaiveDate> {
    match date {
        Some(d) => parse_day("date", d),
        None => Ok(book.now().with_timezone(&Local).date_naive()),
    }
}

/// A new row's ID: bare, or as `{"KEY": ID}` with `--json`.
fn print_id(out: &mut impl Write, json: bool, key: &str, id: String) -> Result<()> {
    if json {
        writeln!(out, "{}", json!({ key: id }))?;
    } else {
        writeln!(out, "{id}")?;
    }
    Ok(())
}

/// A draft after a change: the whole draft with `--json`, else its status.
fn print_draft(
    out: &mut impl Write,
    json: bool,
    d: lighttouch_outreach::drafts::Draft,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(&d)?)?;
    } else {
        writeln!(out, "{}", d.status)?;
    }
    Ok(())
}

fn local_offset() -> FixedOffset {
    Local::now().offset().fix()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(mut book: Book, command: &Command, json: bool, out: &mut impl Write) -> Result<()> {
    let mut outreach = Outreach::new();
    let lang = outreach.reasons_language(&book)?;
    match command {
        Command::Content { command } => match command {
            ContentCommand::Import { file } => {
                let r = book.import_content(&read(file)?)?;
                if json {
                    writeln!(out, "{}", serde_json::to_string(&r)?)?;
                } else {
                    writeln!(out, "content: {} added, {} updated", r.added, r.updated)?;
                }
            }
            ContentCommand::List { date } => {
                let items = book.active_content(day(&book, date)?)?;
                if json {
                    writeln!(out, "{}", serde_json::to_string(&items)?)?;
                } else {
                    for i in items {
                        let price = i
                            .price_cents
                            .map(|c| format!("¥{:.0}", c as f64 / 100.0))
                            .unwrap_or_default();
                        writeln!(out, "{}\t{}\t{}\t{}", i.id, i.kind, i.title, price)?;
                    }
                }
            }
        },
        Command::Suggest {
            customer_id,
            limit,
            date,
        } => {
            let today = day(&book, date)?;
            let s = outreach.suggest(&mut book, customer_id, *limit, today, &lang)?;
            if let Some(h) = &s.held_back {
                eprintln!("held back ({}): {}", h.reason.code(), h.message);
            }
            if json {
                let items: Vec<_> = s
                    .items
                    .iter()
                    .map(|i| {
                        json!({"content_id": i.content_id, "title": i.title, "kind": i.kind,
                               "score": i.score, "reasons": i.reasons})
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string(&items)?)?;
            } else {
                for i in &s.items {
                    writeln!(
                        out,
                        "{}\t{}\t{:.2}\t{}",
                        i.content_id,
                        i.title,
                        i.score,
                        i.reasons.join("; ")
                    )?;
                }
            }
        }
        Command::Audience {
            content_id,
            limit,
            date,
        } => {
            let today = day(&book, date)?;
            let a = outreach.audience(&mut book, content_id, *limit, today, &lang)?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&a.entries)?)?;
            } else {
                for e in &a.entries {
                    writeln!(
                        out,
                        "{}\t{}\t{:.2}\t{}\n\t{}",
                        e.customer_id,
                        e.name,
                        e.score,
                        e.reasons.join("; "),
                        e.draft
                    )?;
                }
            }
            if a.held_back > 0 {
                eprintln!(
                    "{} more it suits are held back (consent, caps or do-not-contact)",
                    a.held_back
                );
            }
        }
        Command::Draft {
            customer_id,
            content_id,
            date,
            save,
        } => {
            let today = day(&book, date)?;
            let d = outreach.compose_draft(&mut book, customer_id, content_id, today, &lang)?;
            let id = if *save {
                Some(outreach.save_draft(&mut book, &d)?.id)
            } else {
                None
            };
            if json {
                let mut v = serde_json::to_value(&d)?;
                v["draft_id"] = json!(id);
                writeln!(out, "{v}")?;
            } else {
                writeln!(out, "{}", d.body)?;
                if let Some(id) = id {
                    eprintln!("saved as draft {id}");
                }
            }
        }
        Command::Drafts { command } => match command {
            DraftsCommand::List { customer_id } => {
                let drafts = outreach.drafts(&book, customer_id)?;
                if json {
                    writeln!(out, "{}", serde_json::to_string(&drafts)?)?;
                } else {
                    for d in drafts {
                        writeln!(out, "{}\t{}\t{}", d.id, d.status, d.body)?;
                    }
                }
            }
            DraftsCommand::Edit { draft_id, text } => {
                print_draft(out, json, outreach.edit_draft(&mut book, draft_id, text)?)?;
            }
            DraftsCommand::Send { draft_id, channel } => {
                let touch = outreach.send_draft(&mut book, draft_id, channel, local_offset())?;
                if json {
                    writeln!(out, "{}", json!({"touchpoint_id": touch}))?;
                } else {
                    writeln!(out, "sent; contact logged ({touch})")?;
                }
            }
            DraftsCommand::Dismiss { draft_id, reason } => {
                print_draft(
                    out,
                    json,
                    outreach.dismiss_draft(&mut book, draft_id, reason.as_deref())?,
                )?;
            }
        },
        Command::Today {
            date,
            limit,
            done,
            dismiss,
            snooze,
            until,
        } => {
            let today = day(&book, date)?;
            let mark = [(done, "done"), (dismiss, "dismissed"), (snooze, "snoozed")]
                .into_iter()
                .find_map(|(k, s)| k.as_ref().map(|k| (k, s)));
            if let Some((key, status)) = mark {
                let until = until
                    .as_deref()
                    .map(|u| parse_day("until", u))
                    .transpose()?;
                outreach.mark_queue_entry(&mut book, key, status, until)?;
                if !json {
                    writeln!(out, "{status}: {key}")?;
                }
                return Ok(());
            }
            let mut q = outreach.today(&mut book, today, &lang)?;
            q.truncate(*limit);
            if json {
                writeln!(out, "{}", serde_json::to_string(&q)?)?;
            } else {
                for e in &q {
                    writeln!(
                        out,
                        "[{}] {} ({})  {}\n\t{}\n\tkey: {}",
                        e.kind,
                        e.name,
                        e.due,
                        e.reasons.join("; "),
                        e.draft,
                        e.key
                    )?;
                }
            }
        }
        Command::Touch {
            command:
                TouchCommand::Add {
                    customer_id,
                    channel,
                    kind,
                    at,
                    content,
                    message,
                },
        } => {
            let at = match at {
                Some(a) => a.clone(),
                None => book
                    .now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            };
            let id = book.add_touchpoint(
                customer_id,
                &NewTouchpoint {
                    at,
                    channel: channel.clone(),
                    kind: kind.clone(),
                    content_id: content.clone(),
                    message: message.clone(),
                },
            )?;
            print_id(out, json, "touchpoint_id", id)?;
        }
        Command::FollowUp {
            customer_id,
            on,
            note,
        } => {
            let on = parse_day("on", on)?;
            let id = outreach.schedule_follow_up(&mut book, customer_id, on, note.as_deref())?;
            print_id(out, json, "follow_up_id", id)?;
        }
        Command::Guard {
            per_week,
            per_month,
            quiet,
        } => {
            let mut g = outreach.guard_settings(&book)?;
            if per_week.is_some() || per_month.is_some() || quiet.is_some() {
                g.per_week = per_week.unwrap_or(g.per_week);
                g.per_month = per_month.unwrap_or(g.per_month);
                if let Some(q) = quiet {
                    let Some((from, until)) = q.split_once('-') else {
                        bail!("--quiet {q:?}: expected HH:MM-HH:MM");
                    };
                    g.quiet_from = from.trim().into();
                    g.quiet_until = until.trim().into();
                }
                g = outreach.update_guard_settings(&mut book, &g)?;
            }
            if json {
                writeln!(out, "{}", serde_json::to_string(&g)?)?;
            } else {
                writeln!(
                    out,
                    "at most {} promotion(s) per 7 days and {} per 30 days; quiet {}–{}",
                    g.per_week, g.per_month, g.quiet_from, g.quiet_until
                )?;
            }
        }
        Command::Scripts { command } => match command {
            ScriptsCommand::List { lang } => {
                let scripts: Vec<_> = outreach
                    .talk_scripts(&book)?
                    .into_iter()
                    .filter(|s| lang.as_ref().is_none_or(|l| &s.language == l))
                    .collect();
                if json {
                    writeln!(out, "{}", serde_json::to_string(&scripts)?)?;
                } else {
                    for s in &scripts {
                        let whose = if s.id.is_some() { "yours" } else { "HQ" };
                        writeln!(
                            out,
                            "{} [{}] ({whose})\n\t{}",
                            s.purpose, s.language, s.body
                        )?;
                    }
                }
            }
            ScriptsCommand::Set {
                purpose,
                lang,
                body,
                name,
            } => {
                let id = outreach.add_talk_script(&mut book, lang, purpose, name, body)?;
                print_id(out, json, "script_id", id)?;
            }
            ScriptsCommand::Reset { purpose, lang } => {
                let dropped = outreach.reset_talk_script(&mut book, purpose, lang)?;
                if json {
                    writeln!(out, "{}", json!({ "reset": dropped }))?;
                } else if dropped {
                    writeln!(out, "HQ's {purpose} script [{lang}] is used again")?;
                } else {
                    writeln!(
                        out,
                        "no script of yours for {purpose} [{lang}]; HQ's is in use"
                    )?;
                }
            }
        },
        Command::Reminders { now, at, on, off } => {
            if at.is_some() || *on || *off {
                let mut r = outreach.reminder_settings(&book)?;
                r.at = at.clone().unwrap_or(r.at);
                r.enabled = if *off { false } else { *on || r.enabled };
                let r = outreach.update_reminder_settings(&mut book, &r)?;
                if json {
                    writeln!(out, "{}", serde_json::to_string(&r)?)?;
                } else if r.enabled {
                    writeln!(out, "reminders at {} each day", r.at)?;
                } else {
                    writeln!(out, "reminders are off")?;
                }
                return Ok(());
            }
            let now = match now {
                Some(n) => NaiveDateTime::parse_from_str(n.trim(), "%Y-%m-%dT%H:%M")
                    .with_context(|| format!("--now {n:?}: expected YYYY-MM-DDTHH:MM"))?,
                None => book.now().with_timezone(&Local).naive_local(),
            };
            let due = outreach.take_due_reminders(&mut book, now, &lang)?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&due)?)?;
            } else {
                for r in &due {
                    writeln!(out, "{}\n\t{}", r.title, r.body)?;
                }
            }
        }
        _ => unreachable!("dispatched by main"),
    }
    Ok(())
}

/// What `lighttouch eval` was asked to evaluate on.
pub struct EvalInput<'a> {
    pub customers: usize,
    pub purchases: Option<&'a Path>,
    pub customers_file: Option<&'a Path>,
    pub options: EvalOptions,
    /// Evaluate on the rows that map, instead of refusing.
    pub skip_invalid: bool,
}

/// On a generated book with planted preferences, or on real CSVs imported
/// into a scratch book (nothing is written anywhere else).
pub fn evaluate(input: &EvalInput) -> Result<EvalReport> {
    let Some(purchases) = input.purchases else {
        return Ok(evaluate_book(
            &planted_book(input.customers, 1)?,
            &input.options,
        )?);
    };
    let mut book = Book::open_in_memory(Arc::new(SystemClock))?;
    let options = ImportOptions {
        dry_run: false,
        skip_invalid: true,
        ..Default::default()
    };
    if let Some(c) = input.customers_file {
        let r =
            lighttouch_transfer::import::import_customers(&mut book, &read(c)?, options.clone())?;
        refuse_unmapped("customer", c, &r, input.skip_invalid)?;
    }
    let r = lighttouch_transfer::import::import_purchases(&mut book, &read(purchases)?, options)?;
    refuse_unmapped("purchase", purchases, &r, input.skip_invalid)?;
    Ok(evaluate_book(&book, &input.options)?)
}

/// An evaluation on rows that silently did not map measures something else:
/// say how many and why, and go on only when asked to.
fn refuse_unmapped(
    what: &str,
    path: &Path,
    r: &lighttouch_transfer::import::ImportReport,
    skip_invalid: bool,
) -> Result<()> {
    if r.rejected == 0 {
        return Ok(());
    }
    // Group the reasons by their shape: "no customer with phone 138****0001" ×1,000.
    let mut shapes: Vec<(String, usize, usize)> = Vec::new();
    for rej in &r.rejections {
        let shape: String = rej
            .reason
            .chars()
            .map(|c| {
                if c.is_ascii_digit() || c == '*' {
                    '#'
                } else {
                    c
                }
            })
            .collect::<String>()
            .split('#')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("…");
        match shapes.iter_mut().find(|(s, _, _)| *s == shape) {
            Some(e) => e.1 += 1,
            None => shapes.push((shape, 1, rej.line)),
        }
    }
    shapes.sort_by_key(|s| std::cmp::Reverse(s.1));
    let why: Vec<String> = shapes
        .iter()
        .take(5)
        .map(|(s, n, line)| format!("{n} × {s} (first at line {line})"))
        .collect();
    let summary = format!(
        "{} of {} {what} rows in {} did not map: {}",
        r.rejected,
        r.rows,
        path.display(),
        why.join("; ")
    );
    if r.created == 0 && what == "purchase" {
        bail!("{summary}; there is nothing left to evaluate on");
    }
    if !skip_invalid {
        bail!("{summary}; pass --skip-invalid to evaluate on the rest");
    }
    eprintln!("{summary}; evaluating on the rest");
    Ok(())
}

pub fn print_eval(r: &EvalReport, json: bool, out: &mut impl Write) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(r)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "learned from {} purchase lines before {}; {} customers with a next basket, {} candidate pieces ({} customers with no earlier purchase left out)",
        r.training_lines, r.split, r.customers, r.candidates, r.without_history
    )?;
    for (title, seg) in [
        ("pieces new to the customer", &r.new_items),
        ("pieces bought again", &r.repeats),
    ] {
        writeln!(out, "\n{title}: {} customers", seg.customers)?;
        writeln!(
            out,
            "  {:<22} {:>8} {:>10} {:>9}",
            "", "hit@5", "recall@10", "NDCG@10"
        )?;
        for (name, f) in [
            ("recommender", &seg.recommender),
            ("most popular", &seg.most_popular),
            ("repeat what you bought", &seg.repeat),
            ("co-purchase neighbours", &seg.neighbours),
        ] {
            writeln!(
                out,
                "  {name:<22} {:>7.2}% {:>9.2}% {:>9.4}",
                f.hit_rate_at_5 * 100.0,
                f.recall_at_10 * 100.0,
                f.ndcg_at_10
            )?;
        }
    }
    Ok(())
}
