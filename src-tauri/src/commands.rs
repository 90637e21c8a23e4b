//! The UI bridge. Each command calls one core function and converts its
//! result; there is no business logic here.

use crate::error::{CommandError, CommandResult};
use crate::{BookState, OutreachState};
use chrono::Offset;
use lighttouch_book::content::ContentItem;
use lighttouch_book::customers::fields::{field_options, FieldOptions};
use lighttouch_book::customers::SimilarCustomer;
use lighttouch_book::list::{ListFacets, ListPage, ListQuery};
use lighttouch_book::notes::Note;
use lighttouch_book::store::{BookInfo, Settings};
use lighttouch_book::sync::{Conflict, QuarantinedChange, SyncStatus};
use lighttouch_book::tags::{Tag, TagRef, TagSuggestion, TAG_SUGGESTIONS};
use lighttouch_book::{Book, Customer, CustomerRecord};
use lighttouch_demo::demo::DemoSummary;
use lighttouch_outreach::audience::Audience;
use lighttouch_outreach::drafts::scripts::{preview_script, ScriptPreview, TalkScript};
use lighttouch_outreach::drafts::{Composed, Draft};
use lighttouch_outreach::recommend::guard::GuardSettings;
use lighttouch_outreach::recommend::Suggestions;
use lighttouch_outreach::reminders::{Reminder, ReminderSettings};
use lighttouch_outreach::today::QueueEntry;
use lighttouch_outreach::Outreach;
use lighttouch_sync_client::http::HttpTransport;
use lighttouch_sync_client::runner::{SyncActivity, SyncRunner};
use lighttouch_sync_client::{engine, SyncReport};
use lighttouch_transfer::export::ExportFormat;
use lighttouch_transfer::import::{
    ImportBatch, ImportOptions, ImportProgress, ImportReport, UndoReport,
};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tauri::ipc::Channel;
use tauri::State;

/// One `field = text` pair of a profile form; the core parses and validates.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct FieldInput {
    pub field: String,
    pub value: String,
}

fn with_book<T>(
    state: &State<'_, BookState>,
    f: impl FnOnce(&mut Book) -> lighttouch_book::Result<T>,
) -> CommandResult<T> {
    let mut book = state.0.lock().map_err(|_| {
        CommandError::new(
            "internal",
            "the book is unavailable after an earlier failure; restart the app",
        )
    })?;
    Ok(f(&mut book)?)
}

/// Runs `f` with the outreach caches beside the book. The book's lock is
/// always taken first, so no two commands can wait on each other.
fn with_outreach<T>(
    state: &State<'_, BookState>,
    outreach: &State<'_, OutreachState>,
    f: impl FnOnce(&mut Outreach, &mut Book) -> lighttouch_book::Result<T>,
) -> CommandResult<T> {
    let unavailable = || {
        CommandError::new(
            "internal",
            "the book is unavailable after an earlier failure; restart the app",
        )
    };
    let mut book = state.0.lock().map_err(|_| unavailable())?;
    let mut outreach = outreach.0.lock().map_err(|_| unavailable())?;
    Ok(f(&mut outreach, &mut book)?)
}

fn pairs(fields: &[FieldInput]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|f| (f.field.as_str(), f.value.as_str()))
        .collect()
}

#[tauri::command]
#[specta::specta]
pub async fn book_info(state: State<'_, BookState>) -> CommandResult<BookInfo> {
    with_book(&state, |b| b.info())
}

#[tauri::command]
#[specta::specta]
pub async fn field_choices() -> CommandResult<FieldOptions> {
    Ok(field_options())
}

#[tauri::command]
#[specta::specta]
pub async fn list_customers(
    state: State<'_, BookState>,
    query: ListQuery,
    offset: u32,
    limit: u32,
) -> CommandResult<ListPage> {
    with_book(&state, |b| b.list_customers(&query, offset, limit))
}

#[tauri::command]
#[specta::specta]
pub async fn list_facets(state: State<'_, BookState>) -> CommandResult<ListFacets> {
    with_book(&state, |b| b.list_facets())
}

#[tauri::command]
#[specta::specta]
pub async fn customer_record(
    state: State<'_, BookState>,
    id: String,
) -> CommandResult<CustomerRecord> {
    with_book(&state, |b| b.customer_record(&id))
}

#[tauri::command]
#[specta::specta]
pub async fn add_customer(
    state: State<'_, BookState>,
    fields: Vec<FieldInput>,
    allow_duplicate: bool,
) -> CommandResult<String> {
    with_book(&state, |b| b.add_customer(&pairs(&fields), allow_duplicate))
}

#[tauri::command]
#[specta::specta]
pub async fn edit_customer(
    state: State<'_, BookState>,
    id: String,
    fields: Vec<FieldInput>,
) -> CommandResult<Customer> {
    with_book(&state, |b| b.edit_customer(&id, &pairs(&fields)))
}

#[tauri::command]
#[specta::specta]
pub async fn similar_customers(
    state: State<'_, BookState>,
    name: String,
    phone: String,
    wechat: String,
) -> CommandResult<Vec<SimilarCustomer>> {
    with_book(&state, |b| b.similar_customers(&name, &phone, &wechat))
}

#[tauri::command]
#[specta::specta]
pub async fn tag_vocabulary(state: State<'_, BookState>) -> CommandResult<Vec<Tag>> {
    with_book(&state, |b| b.tag_vocabulary())
}

/// The tag picker's suggestions for what is typed, leaving out `exclude`.
#[tauri::command]
#[specta::specta]
pub async fn suggest_tags(
    state: State<'_, BookState>,
    typed: String,
    exclude: Vec<String>,
) -> CommandResult<Vec<TagSuggestion>> {
    with_book(&state, |b| {
        b.suggest_tags(&typed, &exclude, TAG_SUGGESTIONS)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn tag_customer(
    state: State<'_, BookState>,
    id: String,
    tag: String,
) -> CommandResult<TagRef> {
    with_book(&state, |b| b.tag_customer(&id, &tag))
}

#[tauri::command]
#[specta::specta]
pub async fn untag_customer(
    state: State<'_, BookState>,
    id: String,
    tag: String,
) -> CommandResult<bool> {
    with_book(&state, |b| b.untag_customer(&id, &tag))
}

#[tauri::command]
#[specta::specta]
pub async fn add_note(
    state: State<'_, BookState>,
    customer_id: String,
    body: String,
) -> CommandResult<Note> {
    with_book(&state, |b| b.add_note(&customer_id, &body))
}

#[tauri::command]
#[specta::specta]
pub async fn edit_note(
    state: State<'_, BookState>,
    note_id: String,
    body: String,
) -> CommandResult<Note> {
    with_book(&state, |b| b.edit_note(&note_id, &body))
}

#[tauri::command]
#[specta::specta]
pub async fn merge_customers(
    state: State<'_, BookState>,
    keep: String,
    other: String,
) -> CommandResult<Customer> {
    with_book(&state, |b| b.merge_customers(&keep, &other))
}

#[tauri::command]
#[specta::specta]
pub async fn erase_customer(state: State<'_, BookState>, id: String) -> CommandResult<()> {
    with_book(&state, |b| b.erase_customer(&id))
}

#[tauri::command]
#[specta::specta]
pub async fn export_customers(
    state: State<'_, BookState>,
    customer_id: Option<String>,
    format: ExportFormat,
    path: String,
) -> CommandResult<u32> {
    with_book(&state, |b| {
        lighttouch_transfer::export::export_to_file(
            b,
            customer_id.as_deref(),
            format,
            Path::new(&path),
        )
    })
}

#[tauri::command]
#[specta::specta]
pub async fn import_customers(
    state: State<'_, BookState>,
    path: String,
    options: ImportOptions,
    progress: Channel<ImportProgress>,
) -> CommandResult<ImportReport> {
    with_book(&state, |b| {
        // A closed window drops the messages; the import goes on regardless.
        lighttouch_transfer::import::import_customers_file_with_progress(
            b,
            Path::new(&path),
            options,
            &mut |p| {
                let _ = progress.send(p);
            },
        )
    })
}

#[tauri::command]
#[specta::specta]
pub async fn import_batches(state: State<'_, BookState>) -> CommandResult<Vec<ImportBatch>> {
    with_book(&state, |b| lighttouch_transfer::import::import_batches(b))
}

#[tauri::command]
#[specta::specta]
pub async fn undo_import(
    state: State<'_, BookState>,
    batch_id: String,
) -> CommandResult<UndoReport> {
    with_book(&state, |b| {
        lighttouch_transfer::import::undo_import(b, &batch_id)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn update_settings(
    state: State<'_, BookState>,
    settings: Settings,
) -> CommandResult<Settings> {
    with_book(&state, |b| b.update_settings(&settings))
}

#[tauri::command]
#[specta::specta]
pub async fn generate_demo(state: State<'_, BookState>, count: u32) -> CommandResult<DemoSummary> {
    with_book(&state, |b| {
        lighttouch_demo::demo::generate_demo(b, count as usize, 20_261_124)
    })
}

/// The sync engine's parts the commands reach: the background runner and its transport.
pub struct SyncState {
    pub runner: std::sync::Arc<SyncRunner>,
    pub transport: std::sync::Arc<HttpTransport>,
}

/// The status line: the book's sync state and what the runner is doing.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SyncView {
    pub status: SyncStatus,
    pub activity: SyncActivity,
}

fn sync_view(state: &State<'_, BookState>, sync: &State<'_, SyncState>) -> CommandResult<SyncView> {
    Ok(SyncView {
        status: with_book(state, |b| b.sync_status())?,
        activity: sync.runner.activity(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn sync_status(
    state: State<'_, BookState>,
    sync: State<'_, SyncState>,
) -> CommandResult<SyncView> {
    sync_view(&state, &sync)
}

#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    state: State<'_, BookState>,
    sync: State<'_, SyncState>,
    server: String,
    username: String,
    password: String,
) -> CommandResult<SyncView> {
    engine::login(
        &state.0,
        sync.transport.as_ref(),
        &server,
        &username,
        &password,
        &lighttouch_book::sync::default_device_name(),
    )
    .await?;
    sync.runner.wake.notify_one();
    sync_view(&state, &sync)
}

#[tauri::command]
#[specta::specta]
pub async fn sign_out(
    state: State<'_, BookState>,
    sync: State<'_, SyncState>,
) -> CommandResult<SyncView> {
    with_book(&state, |b| b.forget_sync_account())?;
    sync_view(&state, &sync)
}

#[tauri::command]
#[specta::specta]
pub async fn sync_now(
    state: State<'_, BookState>,
    sync: State<'_, SyncState>,
) -> CommandResult<SyncReport> {
    Ok(sync
        .runner
        .sync_now(&state.0, sync.transport.as_ref())
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn conflicts(state: State<'_, BookState>) -> CommandResult<Vec<Conflict>> {
    with_book(&state, |b| b.conflicts())
}

#[tauri::command]
#[specta::specta]
pub async fn restore_conflict(state: State<'_, BookState>, id: i64) -> CommandResult<()> {
    with_book(&state, |b| b.restore_conflict(id))
}

#[tauri::command]
#[specta::specta]
pub async fn dismiss_conflict(state: State<'_, BookState>, id: i64) -> CommandResult<()> {
    with_book(&state, |b| b.dismiss_conflict(id))
}

#[tauri::command]
#[specta::specta]
pub async fn quarantined_changes(
    state: State<'_, BookState>,
) -> CommandResult<Vec<QuarantinedChange>> {
    with_book(&state, |b| b.quarantined_changes())
}

#[tauri::command]
#[specta::specta]
pub async fn dismiss_quarantined(state: State<'_, BookState>, id: i64) -> CommandResult<()> {
    with_book(&state, |b| b.dismiss_quarantined(id))
}

// Recommendations, drafts and the daily queue. Dates come from the UI as
// YYYY-MM-DD (the associate's local day); reasons come back in `lang`.

fn local_day(day: &str) -> lighttouch_book::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
        lighttouch_book::BookError::InvalidInput(format!("{day:?} is not a day (YYYY-MM-DD)"))
    })
}

#[tauri::command]
#[specta::specta]
pub async fn today_queue(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    day: String,
    lang: String,
) -> CommandResult<Vec<QueueEntry>> {
    with_outreach(&state, &outreach, |o, b| {
        o.today(b, local_day(&day)?, &lang)
    })
}

/// Whether this morning has someone to reach, without working out the
/// whole queue (the app opens on Today when it does).
#[tauri::command]
#[specta::specta]
pub async fn someone_to_reach(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    day: String,
) -> CommandResult<bool> {
    with_outreach(&state, &outreach, |o, b| {
        o.someone_to_reach(b, local_day(&day)?)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn mark_queue_entry(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    key: String,
    status: String,
    until: Option<String>,
) -> CommandResult<()> {
    with_outreach(&state, &outreach, |o, b| {
        let until = until.as_deref().map(local_day).transpose()?;
        o.mark_queue_entry(b, &key, &status, until)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn suggest(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    customer_id: String,
    day: String,
    lang: String,
) -> CommandResult<Suggestions> {
    with_outreach(&state, &outreach, |o, b| {
        o.suggest(b, &customer_id, 5, local_day(&day)?, &lang)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn content_items(
    state: State<'_, BookState>,
    day: String,
) -> CommandResult<Vec<ContentItem>> {
    with_book(&state, |b| b.active_content(local_day(&day)?))
}

#[tauri::command]
#[specta::specta]
pub async fn audience(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    content_id: String,
    day: String,
    lang: String,
) -> CommandResult<Audience> {
    with_outreach(&state, &outreach, |o, b| {
        o.audience(b, &content_id, 30, local_day(&day)?, &lang)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn compose_draft(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    customer_id: String,
    content_id: String,
    day: String,
    lang: String,
) -> CommandResult<Composed> {
    with_outreach(&state, &outreach, |o, b| {
        o.compose_draft(b, &customer_id, &content_id, local_day(&day)?, &lang)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn save_draft(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    draft: Composed,
) -> CommandResult<Draft> {
    with_outreach(&state, &outreach, |o, b| o.save_draft(b, &draft))
}

#[tauri::command]
#[specta::specta]
pub async fn edit_draft(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    id: String,
    body: String,
) -> CommandResult<Draft> {
    with_outreach(&state, &outreach, |o, b| o.edit_draft(b, &id, &body))
}

#[tauri::command]
#[specta::specta]
pub async fn send_draft(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    id: String,
    channel: String,
) -> CommandResult<String> {
    let offset = chrono::Local::now().offset().fix();
    with_outreach(&state, &outreach, |o, b| {
        o.send_draft(b, &id, &channel, offset)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn dismiss_draft(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    id: String,
    reason: Option<String>,
) -> CommandResult<Draft> {
    with_outreach(&state, &outreach, |o, b| {
        o.dismiss_draft(b, &id, reason.as_deref())
    })
}

#[tauri::command]
#[specta::specta]
pub async fn customer_drafts(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    customer_id: String,
) -> CommandResult<Vec<Draft>> {
    with_outreach(&state, &outreach, |o, b| o.drafts(b, &customer_id))
}

#[tauri::command]
#[specta::specta]
pub async fn guard_settings(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
) -> CommandResult<GuardSettings> {
    with_outreach(&state, &outreach, |o, b| o.guard_settings(b))
}

#[tauri::command]
#[specta::specta]
pub async fn update_guard_settings(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    settings: GuardSettings,
) -> CommandResult<GuardSettings> {
    with_outreach(&state, &outreach, |o, b| {
        o.update_guard_settings(b, &settings)
    })
}

/// The talk-script editor's preview and typo check, as the associate types.
#[tauri::command]
#[specta::specta]
pub async fn preview_talk_script(
    body: String,
    language: String,
    purpose: String,
    associate: String,
) -> CommandResult<ScriptPreview> {
    Ok(preview_script(&body, &language, &purpose, &associate))
}

#[tauri::command]
#[specta::specta]
pub async fn talk_scripts(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
) -> CommandResult<Vec<TalkScript>> {
    with_outreach(&state, &outreach, |o, b| o.talk_scripts(b))
}

#[tauri::command]
#[specta::specta]
pub async fn save_talk_script(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    language: String,
    purpose: String,
    name: String,
    body: String,
) -> CommandResult<String> {
    with_outreach(&state, &outreach, |o, b| {
        o.add_talk_script(b, &language, &purpose, &name, &body)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn reset_talk_script(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    purpose: String,
    language: String,
) -> CommandResult<bool> {
    with_outreach(&state, &outreach, |o, b| {
        o.reset_talk_script(b, &purpose, &language)
    })
}

#[tauri::command]
#[specta::specta]
pub async fn reminder_settings(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
) -> CommandResult<ReminderSettings> {
    with_outreach(&state, &outreach, |o, b| o.reminder_settings(b))
}

#[tauri::command]
#[specta::specta]
pub async fn update_reminder_settings(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    settings: ReminderSettings,
) -> CommandResult<ReminderSettings> {
    with_outreach(&state, &outreach, |o, b| {
        o.update_reminder_settings(b, &settings)
    })
}

/// `now` is the UI's local time, `YYYY-MM-DDTHH:MM`.
#[tauri::command]
#[specta::specta]
pub async fn take_due_reminders(
    state: State<'_, BookState>,
    outreach: State<'_, OutreachState>,
    now: String,
    lang: String,
) -> CommandResult<Vec<Reminder>> {
    with_outreach(&state, &outreach, |o, b| {
        let now = chrono::NaiveDateTime::parse_from_str(&now, "%Y-%m-%dT%H:%M").map_err(|_| {
            lighttouch_book::BookError::InvalidInput(format!(
                "{now:?} is not a local time (YYYY-MM-DDTHH:MM)"
            ))
        })?;
        o.take_due_reminders(b, now, &lang)
    })
}
