//! `login`, `logout`, `sync`, `status`, `conflicts`: the book's side of sync.

use crate::args::Command;
use anyhow::{Context, Result};
use lighttouch_book::Book;
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::{engine, sync_once, SyncError};
use serde_json::json;
use std::io::Write;
use std::sync::Mutex;

fn password() -> Result<String> {
    if let Ok(p) = std::env::var("LIGHTTOUCH_PASSWORD") {
        return Ok(p);
    }
    rpassword::prompt_password("Password: ")
        .context("cannot read a password (set LIGHTTOUCH_PASSWORD)")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Sync failures as `{code, message}` errors the CLI prints.
fn sync_error(e: SyncError) -> anyhow::Error {
    match e {
        SyncError::Book(b) => b.into(),
        other => anyhow::anyhow!("{} ({})", other, other.code()),
    }
}

pub fn run(book: Book, command: &Command, json: bool, out: &mut impl Write) -> Result<()> {
    let book = Mutex::new(book);
    let transport = HttpTransport::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    match command {
        Command::Login {
            server,
            user,
            device_name,
        } => {
            let pw = password()?;
            let name = device_name
                .clone()
                .unwrap_or_else(lighttouch_book::sync::default_device_name);
            let info = runtime()?
                .block_on(engine::login(&book, &transport, server, user, &pw, &name))
                .map_err(sync_error)?;
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({"username": info.username, "display_name": info.display_name, "store": info.store, "role": info.role})
                )?;
            } else {
                writeln!(
                    out,
                    "signed in as {} ({}) at {}",
                    info.display_name, info.store, server
                )?;
            }
        }
        Command::Logout => {
            book.lock()
                .unwrap_or_else(|p| p.into_inner())
                .forget_sync_account()?;
            if !json {
                writeln!(out, "signed out; unsent changes stay in this book")?;
            }
        }
        Command::Sync => {
            let report = runtime()?
                .block_on(sync_once(&book, &transport))
                .map_err(sync_error)?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
            } else {
                writeln!(out, "pushed {}, pulled {}", report.pushed, report.pulled)?;
                if report.continued_as_new_device {
                    writeln!(
                        out,
                        "this book was restored from a backup or copied: it now syncs as a new device, and nothing was lost"
                    )?;
                }
            }
        }
        Command::Status => {
            let status = book
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .sync_status()?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&status)?)?;
            } else {
                match (&status.server, &status.username) {
                    (Some(server), Some(user)) => writeln!(
                        out,
                        "server: {server} as {user} ({})",
                        status.store.as_deref().unwrap_or("-")
                    )?,
                    _ => writeln!(out, "not signed in")?,
                }
                writeln!(out, "changes waiting: {}", status.pending)?;
                let last = status
                    .last_success_at
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| {
                        t.with_timezone(&chrono::Local)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    });
                writeln!(out, "last sync: {}", last.as_deref().unwrap_or("never"))?;
                if let Some(e) = &status.last_error {
                    writeln!(out, "last error: {} ({})", e.message, e.code)?;
                }
                if status.open_conflicts > 0 {
                    writeln!(
                        out,
                        "conflicts to review: {} (lighttouch conflicts)",
                        status.open_conflicts
                    )?;
                }
                if status.quarantined > 0 {
                    let b = book.lock().unwrap_or_else(|p| p.into_inner());
                    writeln!(out, "changes kept aside: {}", status.quarantined)?;
                    for q in b.quarantined_changes()? {
                        let way = if q.direction == "in" {
                            "could not be applied here"
                        } else {
                            "not accepted by the server"
                        };
                        writeln!(
                            out,
                            "  {} {} {}: {way}: {} ({})",
                            q.id, q.entity, q.row_id, q.message, q.code
                        )?;
                    }
                }
            }
        }
        Command::Conflicts { restore, dismiss } => {
            let mut b = book.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(id) = restore {
                b.restore_conflict(*id)?;
            } else if let Some(id) = dismiss {
                b.dismiss_conflict(*id)?;
            }
            let list = b.conflicts()?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&list)?)?;
            } else if restore.is_some() || dismiss.is_some() {
                writeln!(out, "done; {} left to review", list.len())?;
            } else if list.is_empty() {
                writeln!(out, "no conflicts")?;
            } else {
                for c in &list {
                    writeln!(
                        out,
                        "{}\t{}\t{}: kept {} — lost {}",
                        c.id,
                        c.customer_name.as_deref().unwrap_or(&c.row_id),
                        c.field,
                        c.won_value,
                        c.lost_value
                    )?;
                }
            }
        }
        _ => anyhow::bail!("not a sync command"),
    }
    Ok(())
}
