//! `lighttouch`: the customer book from the command line, for IT staff,
//! scripts and tests. Every command takes `--json`. Errors are one line (or
//! `{"code", "message"}` with `--json`) and a non-zero exit, never a panic.

mod args;
mod print;
mod recommend_commands;
mod sync_commands;

use anyhow::{Context, Result};
use args::{Cli, Command, ImportKind, NoteCommand, TagCommand};
use clap::Parser;
use lighttouch_book::{Book, BookError, OpenMode, SystemClock};
use lighttouch_outreach::recommend::eval::EvalOptions;
use lighttouch_transfer::export::ExportFormat;
use lighttouch_transfer::import::ImportOptions;
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`| head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let (code, message) = match e.downcast_ref::<BookError>() {
                Some(b) => (b.code(), b.to_string()),
                None => ("error", format!("{e:#}")),
            };
            if json {
                eprintln!("{}", json!({ "code": code, "message": message }));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn default_db() -> Result<PathBuf> {
    lighttouch_book::store::default_book_path()
        .context("cannot find a data directory for this user; pass --db PATH")
}

fn open(cli: &Cli, mode: OpenMode) -> Result<Book> {
    let path = match &cli.db {
        Some(p) => p.clone(),
        None => default_db()?,
    };
    Ok(Book::open(&path, mode, Arc::new(SystemClock))?)
}

fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    let out = &mut std::io::stdout().lock();
    match &cli.command {
        Command::Init {
            associate,
            store,
            language,
        } => {
            let mut book = open(&cli, OpenMode::CreateIfMissing)?;
            let mut settings = book.settings()?;
            for (slot, value) in [
                (&mut settings.associate, associate),
                (&mut settings.store, store),
                (&mut settings.language, language),
            ] {
                if value.is_some() {
                    slot.clone_from(value);
                }
            }
            book.update_settings(&settings)?;
            let path = book
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            print::emit(
                out,
                json,
                &json!({
                    "path": path,
                    "device_id": book.device_id().to_string(),
                    "schema_version": book.schema_version()?,
                    "customers": book.customer_count()?,
                }),
                || format!("customer book ready at {path}"),
            )?;
        }
        Command::Demo { customers, seed } => {
            let mut book = open(&cli, OpenMode::CreateIfMissing)?;
            let show_progress = !json && std::io::stderr().is_terminal();
            let summary = lighttouch_demo::demo::generate_demo_with_progress(
                &mut book,
                *customers,
                *seed,
                |done| {
                    if show_progress {
                        eprint!("\r{done} / {customers} customers");
                    }
                },
            )?;
            if show_progress {
                eprintln!();
            }
            print::emit(out, json, &summary, || {
                format!(
                    "added {} demo customers ({} notes, {} purchases, {} touchpoints)",
                    summary.customers, summary.notes, summary.purchases, summary.touchpoints
                )
            })?;
        }
        Command::Import {
            kind,
            file,
            dry_run,
            skip_invalid,
        } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            let options = ImportOptions {
                dry_run: *dry_run,
                skip_invalid: *skip_invalid,
                columns: None,
            };
            let report = match kind {
                ImportKind::Customers => {
                    lighttouch_transfer::import::import_customers_file(&mut book, file, options)?
                }
                ImportKind::Purchases => {
                    lighttouch_transfer::import::import_purchases_file(&mut book, file, options)?
                }
            };
            print::emit(out, json, &report, || print::import_report(&report))?;
        }
        Command::Imports { undo } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            match undo {
                Some(id) => {
                    let r = lighttouch_transfer::import::undo_import(&mut book, id)?;
                    print::emit(out, json, &r, || {
                        format!(
                            "undone: {} customers removed, {} fields emptied ({} kept: changed since), {} tags and {} notes removed\n",
                            r.customers_removed, r.fields_cleared, r.fields_kept, r.tags_removed, r.notes_removed
                        )
                    })?;
                }
                None => {
                    let batches = lighttouch_transfer::import::import_batches(&book)?;
                    print::emit(out, json, &batches, || print::import_batches(&batches))?;
                }
            }
        }
        Command::Search { query, limit } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            let hits = book.search(query, *limit)?;
            print::emit(out, json, &hits, || print::search_hits(&hits))?;
        }
        Command::Add {
            name,
            phone,
            wechat,
            email,
            gender,
            birthday,
            set,
            allow_duplicate,
        } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            let mut fields: Vec<(String, String)> = vec![("name".into(), name.clone())];
            for (f, v) in [
                ("phone", phone),
                ("wechat", wechat),
                ("email", email),
                ("gender", gender),
                ("birthday", birthday),
            ] {
                if let Some(v) = v {
                    fields.push((f.into(), v.clone()));
                }
            }
            fields.extend(args::parse_sets(set)?);
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(f, v)| (f.as_str(), v.as_str()))
                .collect();
            let id = book.add_customer(&pairs, *allow_duplicate)?;
            print::emit(out, json, &json!({ "id": id }), || id.clone())?;
        }
        Command::Edit { id, set } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            let fields = args::parse_sets(set)?;
            if fields.is_empty() {
                anyhow::bail!("nothing to change: pass --set FIELD=VALUE");
            }
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(f, v)| (f.as_str(), v.as_str()))
                .collect();
            let customer = book.edit_customer(id, &pairs)?;
            print::emit(out, json, &customer, || {
                format!("updated {}", customer.name)
            })?;
        }
        Command::Show { id } => {
            let book = open(&cli, OpenMode::MustExist)?;
            let record = book.customer_record(id)?;
            print::emit(out, json, &record, || print::customer(&record))?;
        }
        Command::Tag { command } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            match command {
                TagCommand::Add { id, tag } => {
                    let t = book.tag_customer(id, tag)?;
                    print::emit(out, json, &t, || format!("tagged {} ({})", t.name, t.group))?;
                }
                TagCommand::Remove { id, tag } => {
                    let removed = book.untag_customer(id, tag)?;
                    print::emit(out, json, &json!({ "removed": removed }), || {
                        if removed {
                            "removed".into()
                        } else {
                            "the customer did not have that tag".into()
                        }
                    })?;
                }
                TagCommand::List => {
                    let tags = book.tags()?;
                    print::emit(out, json, &tags, || print::tags(&tags))?;
                }
            }
        }
        Command::Note { command } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            let note = match command {
                NoteCommand::Add { id, text } => book.add_note(id, text)?,
                NoteCommand::Edit { note_id, text } => book.edit_note(note_id, text)?,
            };
            print::emit(out, json, &note, || note.id.clone())?;
        }
        Command::Merge { keep, other } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            let merged = book.merge_customers(keep, other)?;
            print::emit(out, json, &merged, || {
                format!("merged into {} ({})", merged.name, merged.id)
            })?;
        }
        Command::Erase { id, yes } => {
            let mut book = open(&cli, OpenMode::MustExist)?;
            let c = book.customer(id)?;
            if !yes && std::io::stdin().is_terminal() && !json {
                eprint!(
                    "Erase {} for good? Their personal data, notes, purchases and contact history are deleted and cannot be recovered. Type yes: ",
                    c.name
                );
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if answer.trim() != "yes" {
                    anyhow::bail!("not erased");
                }
            }
            book.erase_customer(id)?;
            print::emit(out, json, &json!({ "erased": id }), || {
                format!("erased {id}")
            })?;
        }
        Command::Login { .. }
        | Command::Logout
        | Command::Sync
        | Command::Status
        | Command::Conflicts { .. } => {
            let book = open(&cli, OpenMode::MustExist)?;
            sync_commands::run(book, &cli.command, json, out)?;
        }
        Command::Content { .. }
        | Command::Suggest { .. }
        | Command::Audience { .. }
        | Command::Draft { .. }
        | Command::Drafts { .. }
        | Command::Today { .. }
        | Command::Touch { .. }
        | Command::FollowUp { .. }
        | Command::Guard { .. }
        | Command::Scripts { .. }
        | Command::Reminders { .. } => {
            let book = open(&cli, OpenMode::MustExist)?;
            recommend_commands::run(book, &cli.command, json, out)?;
        }
        Command::Eval {
            customers,
            purchases,
            customers_file,
            book,
            split,
            skip_invalid,
        } => {
            let options = EvalOptions {
                split: split
                    .as_deref()
                    .map(|d| recommend_commands::parse_day("split", d))
                    .transpose()?,
            };
            let report = if *book {
                lighttouch_outreach::recommend::eval::evaluate(
                    &open(&cli, OpenMode::MustExist)?,
                    &options,
                )?
            } else {
                recommend_commands::evaluate(&recommend_commands::EvalInput {
                    customers: *customers,
                    purchases: purchases.as_deref(),
                    customers_file: customers_file.as_deref(),
                    options,
                    skip_invalid: *skip_invalid,
                })?
            };
            recommend_commands::print_eval(&report, json, out)?;
        }
        Command::Export {
            customer,
            format,
            output,
        } => {
            let book = open(&cli, OpenMode::MustExist)?;
            let format: ExportFormat = format.parse()?;
            match output {
                Some(path) => {
                    // Write beside the target and rename, so a failed export
                    // never leaves half a file under the real name.
                    let tmp = path.with_extension("partial");
                    let mut f = std::fs::File::create(&tmp)
                        .with_context(|| format!("cannot write {}", tmp.display()))?;
                    lighttouch_transfer::export::export(
                        &book,
                        customer.as_deref(),
                        format,
                        &mut f,
                    )?;
                    f.sync_all()?;
                    std::fs::rename(&tmp, path)?;
                }
                None => {
                    lighttouch_transfer::export::export(&book, customer.as_deref(), format, out)?
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}
