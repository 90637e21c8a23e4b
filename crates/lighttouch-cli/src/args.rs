use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "lighttouch",
    version,
    about = "The associate's customer book, from the command line"
)]
pub struct Cli {
    /// The book (an SQLite file). Default: the platform data directory.
    #[arg(long, global = true, env = "LIGHTTOUCH_DB")]
    pub db: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create the book (or check an existing one).
    Init {
        #[arg(long)]
        associate: Option<String>,
        #[arg(long)]
        store: Option<String>,
        /// The desktop app's language: zh-Hans, zh-Hant or en (default: the system's).
        #[arg(long)]
        language: Option<String>,
    },
    /// Add a realistic, deterministic demo book.
    Demo {
        #[arg(long, default_value_t = 200)]
        customers: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Import a CSV of customers or purchases.
    Import {
        kind: ImportKind,
        file: PathBuf,
        /// Report what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the valid rows even if some are invalid.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// List earlier imports, or undo one.
    Imports {
        /// The import to undo (an ID from the list).
        #[arg(long)]
        undo: Option<String>,
    },
    /// Search by name, pinyin, phone, WeChat ID, tag or note.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Add a customer; prints the new ID.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        wechat: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        gender: Option<String>,
        #[arg(long)]
        birthday: Option<String>,
        /// Any other field, as FIELD=VALUE.
        #[arg(long, value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// Add even if a customer has the same phone or WeChat ID.
        #[arg(long)]
        allow_duplicate: bool,
    },
    /// Change fields of a customer.
    Edit {
        id: String,
        #[arg(long, value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
    /// Everything about one customer.
    Show { id: String },
    /// Add, remove or list tags.
    Tag {
        #[command(subcommand)]
        command: TagCommand,
    },
    /// Add or edit a note (an edit keeps the earlier text).
    Note {
        #[command(subcommand)]
        command: NoteCommand,
    },
    /// Merge the second customer into the first; nothing of either is lost.
    Merge { keep: String, other: String },
    /// Erase a customer's personal data for good (a deletion request).
    Erase {
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Sign in to a sync server (password from LIGHTTOUCH_PASSWORD or a prompt).
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        user: String,
        /// How this book appears in the server's device list (default: the host name).
        #[arg(long)]
        device_name: Option<String>,
    },
    /// Forget the sync token; unsent changes stay and go with the next sign-in.
    Logout,
    /// Push local changes and pull everyone else's, now.
    Sync,
    /// Sync state: server, account, changes waiting, last success or error.
    Status,
    /// Values that lost to a concurrent edit elsewhere; restore or dismiss one.
    Conflicts {
        /// Put this lost value back (a new edit, which syncs).
        #[arg(long, conflicts_with = "dismiss")]
        restore: Option<i64>,
        /// Keep the current value and stop showing this one.
        #[arg(long)]
        dismiss: Option<i64>,
    },
    /// HQ content on this laptop (it normally arrives by sync).
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
    /// Content items for one customer, best first, with reasons.
    Suggest {
        customer_id: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
        /// Treat this day as today (YYYY-MM-DD).
        #[arg(long)]
        date: Option<String>,
    },
    /// The associate's customers one content item suits, each with a draft.
    Audience {
        content_id: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        date: Option<String>,
    },
    /// Compose the message for a customer about a content item, in their language.
    Draft {
        customer_id: String,
        content_id: String,
        #[arg(long)]
        date: Option<String>,
        /// Keep it as a proposed draft (prints its ID).
        #[arg(long)]
        save: bool,
    },
    /// A customer's drafts; edit, send or dismiss one.
    Drafts {
        #[command(subcommand)]
        command: DraftsCommand,
    },
    /// The daily queue: who to reach today and why, each with a draft.
    Today {
        #[arg(long)]
        date: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Mark an entry (its key) done.
        #[arg(long, value_name = "KEY")]
        done: Option<String>,
        /// Dismiss an entry.
        #[arg(long, value_name = "KEY")]
        dismiss: Option<String>,
        /// Snooze an entry until --until.
        #[arg(long, value_name = "KEY", requires = "until")]
        snooze: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: Option<String>,
    },
    /// Log a contact with a customer.
    Touch {
        #[command(subcommand)]
        command: TouchCommand,
    },
    /// Schedule a follow-up with a customer; it appears in the daily queue.
    FollowUp {
        customer_id: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        on: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Contact caps and quiet hours; shows them, or changes the ones given.
    Guard {
        #[arg(long)]
        per_week: Option<u32>,
        #[arg(long)]
        per_month: Option<u32>,
        /// Quiet hours as HH:MM-HH:MM (e.g. 21:00-09:00).
        #[arg(long)]
        quiet: Option<String>,
    },
    /// Talk scripts (话术): HQ's defaults and your own, per purpose and language.
    Scripts {
        #[command(subcommand)]
        command: ScriptsCommand,
    },
    /// Reminders due now (each fires once, as in the app); with --at, --on
    /// or --off, changes when they fire instead.
    Reminders {
        /// Local time to check as, YYYY-MM-DDTHH:MM (default: now).
        #[arg(long)]
        now: Option<String>,
        /// The morning digest's time, HH:MM.
        #[arg(long)]
        at: Option<String>,
        #[arg(long, conflicts_with = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
    },
    /// Hit rate@5 of the recommender and of the popularity baseline.
    Eval {
        /// Customers in the generated book with planted preferences.
        #[arg(long, default_value_t = 2000)]
        customers: usize,
        /// Evaluate on a real purchase CSV instead (with --customers-file, if
        /// purchases name customers by phone rather than by ID).
        #[arg(long)]
        purchases: Option<PathBuf>,
        #[arg(long)]
        customers_file: Option<PathBuf>,
        /// Evaluate on the purchases of the open book.
        #[arg(long, conflicts_with = "purchases")]
        book: bool,
        /// Learn from purchases before this day (YYYY-MM-DD) and test on each
        /// customer's next basket from it; by default the day by which 80% of
        /// the purchase lines happened.
        #[arg(long)]
        split: Option<String>,
        /// Evaluate on the rows that map to a customer instead of refusing.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Export one customer or the whole book.
    Export {
        #[arg(long)]
        customer: Option<String>,
        #[arg(long, default_value = "json")]
        format: String,
        /// Write to a file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ImportKind {
    Customers,
    Purchases,
}

#[derive(Subcommand)]
pub enum ContentCommand {
    /// Import a CSV or JSON of products and story posts (the server's format).
    Import { file: PathBuf },
    /// Content valid today (or on --date).
    List {
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ScriptsCommand {
    /// Every script in use (yours where you wrote one, else HQ's).
    List {
        #[arg(long)]
        lang: Option<String>,
    },
    /// Write your own script for a purpose and language.
    Set {
        purpose: String,
        #[arg(long)]
        lang: String,
        /// The text, with {name} {product} {reason} {occasion} {associate}.
        body: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Drop your own script so HQ's is used again.
    Reset {
        purpose: String,
        #[arg(long)]
        lang: String,
    },
}

#[derive(Subcommand)]
pub enum DraftsCommand {
    List {
        customer_id: String,
    },
    Edit {
        draft_id: String,
        text: String,
    },
    /// Send: records the contact; refused when the guard holds the customer back.
    Send {
        draft_id: String,
        #[arg(long, default_value = "wecom")]
        channel: String,
    },
    /// Set aside, optionally saying why ("not interested in pearls").
    Dismiss {
        draft_id: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TouchCommand {
    Add {
        customer_id: String,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        kind: String,
        /// When it happened (RFC 3339; default now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        content: Option<String>,
        #[arg(long)]
        message: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TagCommand {
    Add {
        id: String,
        tag: String,
    },
    Remove {
        id: String,
        tag: String,
    },
    /// The store's tags with how many customers carry each.
    List,
}

#[derive(Subcommand)]
pub enum NoteCommand {
    Add { id: String, text: String },
    Edit { note_id: String, text: String },
}

pub fn parse_sets(sets: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(f, v)| (f.trim().to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("--set {s:?}: expected FIELD=VALUE"))
        })
        .collect()
}
