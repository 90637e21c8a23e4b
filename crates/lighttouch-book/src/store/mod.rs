//! The book on disk: opening, pragmas, migrations and book-level settings.

pub(crate) mod deferred_indexes;
mod migrations;
mod settings;

pub use migrations::SCHEMA_VERSION;
#[doc(hidden)]
pub use migrations::{migrate_to, MIGRATIONS};
pub use settings::{BookInfo, Settings};

use crate::clock::{Clock, Hlc, HlcGenerator};
use crate::error::{BookError, Result};
use crate::search::SearchIndex;
use rusqlite::{Connection, OptionalExtension};
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// One associate's customer book: an SQLite file plus the in-memory search index.
pub struct Book {
    pub(crate) conn: Connection,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) device: Uuid,
    pub(crate) hlc: HlcGenerator,
    pub(crate) index: Option<SearchIndex>,
    /// Bumped by every committed write; cached views compare it to stay fresh.
    pub(crate) generation: u64,
    /// What the last writes touched, for views above the book that patch
    /// their caches instead of rebuilding them (see [`Book::touched_since`]).
    journal: VecDeque<(u64, Touched)>,
    /// Tells this open book from any other, so a view cached for one is
    /// never taken as fresh for another.
    instance: u64,
    /// Correction to the device clock learnt from the sync server, in ms.
    pub(crate) clock_offset_ms: i64,
    /// Where the sync token lives when not in the book (the OS keyring).
    pub(crate) secrets: Option<Arc<dyn SecretStore>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book")
            .field("path", &self.path)
            .field("device", &self.device)
            .finish()
    }
}

/// Where a device token may be kept instead of the book: the OS keyring.
/// The book knows only this trait; the desktop shell provides the keyring.
pub trait SecretStore: Send + Sync {
    /// False when the store is unavailable (no keyring service running).
    fn set(&self, key: &str, secret: &str) -> bool;
    fn get(&self, key: &str) -> Option<String>;
    fn delete(&self, key: &str);
}

static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// How many committed writes the journal remembers; a view further behind
/// rebuilds.
const JOURNAL_LEN: usize = 64;
/// A write touching more customers than this is recorded as touching
/// everything: rebuilding is then as cheap as patching, and the journal
/// stays small.
const JOURNAL_MAX_CUSTOMERS: usize = 10_000;

/// What committed writes changed, for the views kept above the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// These customers' rows (profile, tags, notes, history, drafts).
    Customers(HashSet<String>),
    /// Tags, content or a whole re-download: every view rebuilds.
    Everything,
}

impl Touched {
    pub fn none() -> Touched {
        Touched::Customers(HashSet::new())
    }

    pub fn add(&mut self, customer: &str) {
        if let Touched::Customers(set) = self {
            set.insert(customer.to_string());
        }
    }

    pub fn merge(&mut self, other: Touched) {
        match other {
            Touched::Everything => *self = Touched::Everything,
            Touched::Customers(more) => {
                if let Touched::Customers(set) = self {
                    set.extend(more);
                }
            }
        }
    }
}

/// A point in one open book's history of writes (see [`Book::generation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    instance: u64,
    count: u64,
}

/// How to treat a path that holds no book yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its folder) when missing.
    CreateIfMissing,
    /// Fail with a clear error when missing.
    MustExist,
}

impl Book {
    pub fn open(path: &Path, mode: OpenMode, clock: Arc<dyn Clock>) -> Result<Book> {
        let display = path.display().to_string();
        if !path.exists() {
            if mode == OpenMode::MustExist {
                return Err(BookError::InvalidInput(format!(
                    "no customer book at {display}; create one with `lighttouch init`"
                )));
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| BookError::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        } else if path.is_dir() {
            return Err(BookError::NotABook { path: display });
        }
        let conn = Connection::open(path)?;
        let mut book = Self::from_connection(conn, clock).map_err(|e| not_a_book(e, &display))?;
        book.path = Some(path.to_path_buf());
        Ok(book)
    }

    /// A throwaway book, for tests and examples.
    pub fn open_in_memory(clock: Arc<dyn Clock>) -> Result<Book> {
        Self::from_connection(Connection::open_in_memory()?, clock)
    }

    fn from_connection(mut conn: Connection, clock: Arc<dyn Clock>) -> Result<Book> {
        configure(&conn)?;
        // Writes and merges build statements per set of columns; the default
        // cache of 16 would re-parse them over and over.
        conn.set_prepared_statement_cache_capacity(256);
        // A first sync cut short left its indexes set aside: back first.
        deferred_indexes::restore(&conn)?;
        migrations::migrate(&mut conn)?;
        let device = match meta_get(&conn, "device_id")? {
            Some(id) => Uuid::parse_str(&id)
                .map_err(|_| BookError::InvalidInput(format!("corrupt device id {id:?}")))?,
            None => {
                let id = Uuid::now_v7();
                meta_set(&conn, "device_id", &id.to_string())?;
                id
            }
        };
        let last = meta_get(&conn, "hlc_last")?.and_then(|s| s.parse::<Hlc>().ok());
        let clock_offset_ms = meta_get(&conn, "clock_offset_ms")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok(Book {
            hlc: HlcGenerator::new(device, last),
            conn,
            clock,
            device,
            index: None,
            generation: 0,
            journal: VecDeque::new(),
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            clock_offset_ms,
            secrets: None,
            path: None,
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The time, corrected by the offset the sync server reported.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now() + chrono::Duration::milliseconds(self.clock_offset_ms)
    }

    pub fn device_id(&self) -> Uuid {
        self.device
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The associate this book belongs to (written as author and owner).
    pub fn associate(&self) -> Result<Option<String>> {
        meta_get(&self.conn, "associate")
    }

    pub fn set_associate(&mut self, name: &str) -> Result<()> {
        meta_set(&self.conn, "associate", name.trim())
    }

    pub fn store_name(&self) -> Result<Option<String>> {
        meta_get(&self.conn, "store")
    }

    pub fn set_store_name(&mut self, name: &str) -> Result<()> {
        meta_set(&self.conn, "store", name.trim())
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Where the book stands: every committed write moves it on.
    pub fn generation(&self) -> Generation {
        Generation {
            instance: self.instance,
            count: self.generation,
        }
    }

    /// What the writes after `since` touched: nothing when it is the current
    /// generation, everything when it belongs to another book or lies further
    /// back than the journal remembers.
    pub fn touched_since(&self, since: Generation) -> Touched {
        if since.instance != self.instance {
            return Touched::Everything;
        }
        if since.count >= self.generation {
            return Touched::none();
        }
        match self.journal.front() {
            Some((oldest, _)) if *oldest <= since.count + 1 => {}
            _ => return Touched::Everything,
        }
        let mut touched = Touched::none();
        for (count, t) in &self.journal {
            if *count > since.count {
                touched.merge(t.clone());
                if touched == Touched::Everything {
                    break;
                }
            }
        }
        touched
    }

    /// Records a committed change: the generation moves on, and the journal
    /// says what it touched. Every write path of the book ends here; so do
    /// settings that views above the book derive from.
    pub fn committed(&mut self, mut touched: Touched) {
        if matches!(&touched, Touched::Customers(set) if set.len() > JOURNAL_MAX_CUSTOMERS) {
            touched = Touched::Everything;
        }
        self.generation += 1;
        if self.journal.len() == JOURNAL_LEN {
            self.journal.pop_front();
        }
        self.journal.push_back((self.generation, touched));
    }

    /// A value kept on this laptop only (never synced): the features'
    /// own settings and bookkeeping (caps, reminder times, what fired).
    pub fn device_value(&self, key: &str) -> Result<Option<String>> {
        meta_get(&self.conn, key)
    }

    /// Sets a value kept on this laptop only (see [`Book::device_value`]).
    pub fn set_device_value(&mut self, key: &str, value: &str) -> Result<()> {
        meta_set(&self.conn, key, value)
    }

    /// Data worked out from the book and kept on this laptop under `key`
    /// (see `0007_derived.sql`), with the mark it was kept at.
    pub fn derived(&self, key: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT mark, data FROM derived WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Keeps data worked out from the book at `mark`, replacing what was kept
    /// under `key`. A cache: it takes `&self` because it changes nothing the
    /// book holds, and one statement replaces it whole.
    pub fn keep_derived(&self, key: &str, mark: &str, data: &[u8]) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO derived(key, mark, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET mark = excluded.mark, data = excluded.data",
            )?
            .execute(rusqlite::params![key, mark, data])?;
        Ok(())
    }

    /// The connection, for the queries of the crates above the book. Synced
    /// rows change only through [`Book::write`]; laptop-only values through
    /// [`Book::set_device_value`].
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// The book the CLI and the app open when none is named: the
/// `LIGHTTOUCH_DB` environment variable (read by the callers), otherwise
/// `book.sqlite3` in the platform's data directory for this user.
pub fn default_book_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lighttouch").map(|d| d.data_dir().join("book.sqlite3"))
}

fn configure(conn: &Connection) -> Result<()> {
    // FULL: a commit is on disk before we say it is saved. secure_delete: an
    // erased customer's data is overwritten, not left in free pages.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    use_write_ahead_log(conn)
}

/// The book's journal: a write-ahead log, so reading never waits for a
/// write. (A first sync loads with a rollback journal; see `apply_pull`.)
pub(crate) fn use_write_ahead_log(conn: &Connection) -> Result<()> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    // In-memory databases answer "memory"; both are fine.
    debug_assert!(mode == "wal" || mode == "memory", "journal mode {mode}");
    Ok(())
}

fn not_a_book(e: BookError, path: &str) -> BookError {
    match e {
        BookError::Database(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::NotADatabase =>
        {
            BookError::NotABook {
                path: path.to_string(),
            }
        }
        other => other,
    }
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}
