//! Content, suggestions, audiences, drafts, the daily queue, contacts and
//! the evaluation: the same core functions the app calls.

use crate::args::{Command, ContentCommand, DraftsCommand, ScriptsCommand, TouchCommand};
use anyhow::{bail, Context, Result};
use chrono::{FixedOffset, Local, NaiveDate, NaiveDateTime, Offset};
use lighttouch_book::history::NewTouchpoint;
use lighttouch_book::import::ImportOptions;
use lighttouch_book::recommend::eval::{planted_book, EvalReport};
use lighttouch_book::{Book, SystemClock};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A day given to a flag (`--date`, `--on`, `--until`), named in the error.
fn parse_day(flag: &str, text: &str) -> Result<NaiveDate> {
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
fn print_draft(out: &mut impl Write, json: bool, d: lighttouch_book::drafts::Draft) -> Result<()> {
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
    let lang = book.reasons_language()?;
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
            let s = book.suggest(customer_id, *limit, today, &lang)?;
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
            let a = book.audience(content_id, *limit, today, &lang)?;
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
            let d = book.compose_draft(customer_id, content_id, today, &lang)?;
            let id = if *save {
                Some(book.save_draft(&d)?.id)
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
                let drafts = book.drafts(customer_id)?;
                if json {
                    writeln!(out, "{}", serde_json::to_string(&drafts)?)?;
                } else {
                    for d in drafts {
                        writeln!(out, "{}\t{}\t{}", d.id, d.status, d.body)?;
                    }
                }
            }
            DraftsCommand::Edit { draft_id, text } => {
                print_draft(out, json, book.edit_draft(draft_id, text)?)?;
            }
            DraftsCommand::Send { draft_id, channel } => {
                let touch = book.send_draft(draft_id, channel, local_offset())?;
                if json {
                    writeln!(out, "{}", json!({"touchpoint_id": touch}))?;
                } else {
                    writeln!(out, "sent; contact logged ({touch})")?;
                }
            }
            DraftsCommand::Dismiss { draft_id, reason } => {
                print_draft(out, json, book.dismiss_draft(draft_id, reason.as_deref())?)?;
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
                book.mark_queue_entry(key, status, until)?;
                if !json {
                    writeln!(out, "{status}: {key}")?;
                }
                return Ok(());
            }
            let mut q = book.today(today, &lang)?;
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
            let id = book.schedule_follow_up(customer_id, on, note.as_deref())?;
            print_id(out, json, "follow_up_id", id)?;
        }
        Command::Guard {
            per_week,
            per_month,
            quiet,
        } => {
            let mut g = book.guard_settings()?;
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
                g = book.update_guard_settings(&g)?;
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
                let scripts: Vec<_> = book
                    .talk_scripts()?
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
                let id = book.add_talk_script(lang, purpose, name, body)?;
                print_id(out, json, "script_id", id)?;
            }
            ScriptsCommand::Reset { purpose, lang } => {
                let dropped = book.reset_talk_script(purpose, lang)?;
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
                let mut r = book.reminder_settings()?;
                r.at = at.clone().unwrap_or(r.at);
                r.enabled = if *off { false } else { *on || r.enabled };
                let r = book.update_reminder_settings(&r)?;
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
            let due = book.take_due_reminders(now, &lang)?;
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

/// On a generated book with planted preferences, or on real CSVs imported
/// into a scratch book (nothing is written anywhere else).
pub fn evaluate(
    customers: usize,
    purchases: Option<&Path>,
    customers_file: Option<&Path>,
    k: usize,
) -> Result<EvalReport> {
    let Some(purchases) = purchases else {
        return Ok(planted_book(customers, 1)?.evaluate(k)?);
    };
    let mut book = Book::open_in_memory(Arc::new(SystemClock))?;
    let options = ImportOptions {
        dry_run: false,
        skip_invalid: true,
        ..Default::default()
    };
    if let Some(c) = customers_file {
        book.import_customers(&read(c)?, options.clone())?;
    }
    book.import_purchases(&read(purchases)?, options)?;
    Ok(book.evaluate(k)?)
}

pub fn print_eval(r: &EvalReport, json: bool, out: &mut impl Write) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(r)?)?;
    } else {
        writeln!(
            out,
            "hit rate@{k}: recommender {:.1}%, most-popular baseline {:.1}% ({} customers, {} candidate items)",
            r.recommender_hit_rate * 100.0,
            r.baseline_hit_rate * 100.0,
            r.customers,
            r.candidates,
            k = r.k
        )?;
    }
    Ok(())
}
