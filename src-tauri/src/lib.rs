//! Lighttouch's desktop shell: opens the associate's book and exposes the
//! core to the web UI through typed commands (see `commands`). No business
//! logic lives here.

mod commands;
mod error;
mod keyring_store;

use lighttouch_book::{Book, OpenMode, SystemClock};
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::runner::SyncRunner;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::Manager;

/// The open book. Commands take the lock for one core call each.
pub struct BookState(pub Mutex<Book>);

/// What recommendations keep in memory, beside the book (locked after it).
pub struct OutreachState(pub Mutex<lighttouch_outreach::Outreach>);

/// The command set, also used to generate `ui/src/lib/bindings.ts`.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    use commands::*;
    tauri_specta::Builder::<tauri::Wry>::new()
        // The talk-script editor's placeholder buttons: the core's list, not a copy.
        .constant(
            "PLACEHOLDERS",
            lighttouch_outreach::drafts::scripts::PLACEHOLDERS,
        )
        .commands(tauri_specta::collect_commands![
            book_info,
            field_choices,
            list_customers,
            list_facets,
            customer_record,
            add_customer,
            edit_customer,
            similar_customers,
            tag_vocabulary,
            suggest_tags,
            tag_customer,
            untag_customer,
            add_note,
            edit_note,
            merge_customers,
            erase_customer,
            export_customers,
            import_customers,
            import_batches,
            undo_import,
            update_settings,
            generate_demo,
            sync_status,
            sign_in,
            sign_out,
            sync_now,
            conflicts,
            restore_conflict,
            dismiss_conflict,
            quarantined_changes,
            dismiss_quarantined,
            today_queue,
            someone_to_reach,
            mark_queue_entry,
            suggest,
            content_items,
            audience,
            compose_draft,
            save_draft,
            edit_draft,
            send_draft,
            dismiss_draft,
            customer_drafts,
            guard_settings,
            update_guard_settings,
            preview_talk_script,
            talk_scripts,
            save_talk_script,
            reset_talk_script,
            reminder_settings,
            update_reminder_settings,
            take_due_reminders,
        ])
}

/// The TypeScript the UI imports; the `bindings_are_fresh` test keeps the
/// committed copy in step with the commands.
pub fn typescript_bindings() -> Result<String, String> {
    let dir = tempfile_dir();
    let path = dir.join("bindings.ts");
    specta_builder()
        .export(
            specta_typescript::Typescript::default()
                .bigint(specta_typescript::BigIntExportBehavior::Number)
                .header("// @ts-nocheck\n// Generated from the Rust commands by `cargo test -p lighttouch-app` with UPDATE_BINDINGS=1. Do not edit.\n"),
            &path,
        )
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(text)
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lighttouch-bindings-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The book the app opens: `LIGHTTOUCH_DB` when set (as for the CLI), else
/// the platform data directory.
fn book_path() -> anyhow::Result<PathBuf> {
    match std::env::var_os("LIGHTTOUCH_DB").filter(|v| !v.is_empty()) {
        Some(p) => Ok(PathBuf::from(p)),
        None => lighttouch_book::store::default_book_path()
            .ok_or_else(|| anyhow::anyhow!("no data directory for this user; set LIGHTTOUCH_DB")),
    }
}

pub fn run() {
    #[cfg(target_os = "linux")]
    tune_webkit();
    if let Err(e) = try_run() {
        eprintln!("lighttouch: {e:#}");
        std::process::exit(1);
    }
}

/// Engine settings for a small local app, set in the environment WebKit's
/// web process inherits (before any thread exists); a value already in the
/// environment wins. Each saves memory the associate's page has no use for:
/// - `WEBKIT_SKIA_GPU_PAINTING_THREADS=0`: WebKitGTK paints with Skia from a
///   pool of worker threads, each with its own GL context. Without a capable
///   GPU (a store laptop, a virtual machine) every context is Mesa's software
///   GL, and the pool costs about 35 MiB; painting on the page's own thread
///   keeps the GPU path without the extra contexts.
/// - `JSC_useDFGJIT=0`: JavaScriptCore's optimising compilers (DFG, FTL) pay
///   off for long-running computation. The page's script is event glue, well
///   served by the interpreter and baseline compiler, and the optimising
///   tiers cost about 7 MiB of compiled code and compiler memory.
#[cfg(target_os = "linux")]
fn tune_webkit() {
    for (var, value) in [
        ("WEBKIT_SKIA_GPU_PAINTING_THREADS", "0"),
        ("JSC_useDFGJIT", "0"),
    ] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
        }
    }
}

fn try_run() -> anyhow::Result<()> {
    let path = book_path()?;
    let mut book = Book::open(&path, OpenMode::CreateIfMissing, Arc::new(SystemClock))
        .map_err(|e| anyhow::anyhow!("cannot open the customer book at {}: {e}", path.display()))?;
    book.use_secret_store(Arc::new(keyring_store::OsKeyring));
    let builder = specta_builder();
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .manage(BookState(Mutex::new(book)))
        .manage(OutreachState(Mutex::new(
            lighttouch_outreach::Outreach::new(),
        )))
        .manage(commands::SyncState {
            runner: Arc::new(SyncRunner::default()),
            transport: Arc::new(
                HttpTransport::new().map_err(|e| anyhow::anyhow!("cannot set up sync: {e}"))?,
            ),
        })
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            // Sync in the background for the life of the app (idle until signed in).
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let book = handle.state::<BookState>();
                let sync = handle.state::<commands::SyncState>();
                sync.runner
                    .run_forever(&book.0, sync.transport.as_ref())
                    .await;
            });
            Ok(())
        })
        .run(tauri::generate_context!())
        .map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}

#[cfg(test)]
mod tests {
    /// The engine settings fill in what is missing and leave what the
    /// person running the app set.
    #[cfg(target_os = "linux")]
    #[test]
    fn engine_settings_never_override_the_environment() {
        std::env::set_var("JSC_useDFGJIT", "1");
        std::env::remove_var("WEBKIT_SKIA_GPU_PAINTING_THREADS");
        super::tune_webkit();
        assert_eq!(std::env::var("JSC_useDFGJIT").as_deref(), Ok("1"));
        assert_eq!(
            std::env::var("WEBKIT_SKIA_GPU_PAINTING_THREADS").as_deref(),
            Ok("0")
        );
    }

    /// The committed bindings must match the commands; run with
    /// UPDATE_BINDINGS=1 to rewrite them after changing a command or type.
    #[test]
    fn bindings_are_fresh() {
        let generated = super::typescript_bindings().expect("bindings generate");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "ui/src/lib/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p lighttouch-app bindings` and commit it"
        );
    }
}
