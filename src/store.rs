//! The embedded store: one SQLite file in `DATA_DIR`, numbered migrations applied at start-up,
//! typed queries. Calls are synchronous and short; no transaction is held across an `.await`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rusqlite::{Connection, OptionalExtension, params};

mod bandwidth;
mod bans;
mod cache;
mod dcs;
pub mod download_counts;
mod journal;
mod public;

pub use journal::{JournalRow, NewUpdate};
pub use public::BroadcastRow;

/// Numbered migrations; `kv.schema_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        first_name TEXT NOT NULL,
        username TEXT,
        joined_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
     );
     CREATE TABLE links (
        id INTEGER PRIMARY KEY,
        owner INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        file_unique_id TEXT NOT NULL,
        file_name TEXT NOT NULL,
        file_size INTEGER NOT NULL,
        mime TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
     );
     CREATE INDEX links_owner ON links(owner, created_at);
     CREATE INDEX links_expires ON links(expires_at);
     CREATE TABLE link_events (user_id INTEGER NOT NULL, at INTEGER NOT NULL);
     CREATE INDEX link_events_user ON link_events(user_id, at);
     CREATE TABLE bandwidth (month TEXT PRIMARY KEY, bytes INTEGER NOT NULL);",
    // 2: a link remembers the update that made it, so a replayed update resends that link; the
    // journal holds updates at or above the stored offset (body NULL once finished).
    // SQLite cannot add a UNIQUE column: the unique index does it (NULLs of older rows differ).
    "ALTER TABLE links ADD COLUMN update_id INTEGER;
     CREATE UNIQUE INDEX links_update ON links(update_id);
     CREATE TABLE update_journal (update_id INTEGER PRIMARY KEY, body TEXT);",
    // 3: revoked links, per-link download counts, users who blocked the bot, and the one
    // broadcast in progress (a single row, so a restart resumes it instead of resending).
    "ALTER TABLE links ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE links ADD COLUMN downloads INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE broadcast (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        admin_chat INTEGER NOT NULL,
        from_chat INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        progress_message INTEGER NOT NULL,
        cursor INTEGER NOT NULL,
        sent INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        blocked INTEGER NOT NULL,
        started_at INTEGER NOT NULL
     );",
    // 4: the journal holds unfinished updates only, each with its lane (chat), so intake is
    // confirmed to Telegram at once and worked through chat by chat; `update_lanes` keeps each
    // busy lane's last turn (round robin) and whether it was told to slow down.
    "DELETE FROM update_journal WHERE body IS NULL;
     ALTER TABLE update_journal ADD COLUMN lane INTEGER;
     ALTER TABLE update_journal ADD COLUMN started INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX update_journal_lane ON update_journal(lane, update_id);
     CREATE TABLE update_lanes (
        lane INTEGER PRIMARY KEY,
        turn INTEGER NOT NULL DEFAULT 0,
        warned INTEGER NOT NULL DEFAULT 0
     );",
    // 5: bytes per link owner per month, written with the month's total (the owners' shares).
    "CREATE TABLE bandwidth_users (
        month TEXT NOT NULL,
        user_id INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (month, user_id)
     ) WITHOUT ROWID;
     CREATE INDEX bandwidth_users_bytes ON bandwidth_users(month, bytes);",
    // 6: direct mode's MTProto auth keys per DC and the bot's home DC (one row), and each link's
    // source message (the chat and message its file_id came from), to refresh a file reference.
    "CREATE TABLE mtproto_dcs (
        dc INTEGER PRIMARY KEY,
        auth_key BLOB NOT NULL,
        created_at INTEGER NOT NULL
     );
     CREATE TABLE mtproto_home (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        dc INTEGER NOT NULL
     );
     ALTER TABLE links ADD COLUMN source_chat INTEGER;
     ALTER TABLE links ADD COLUMN source_message INTEGER;",
    // 7: users an admin banned (`/ban`): who did it and when, listed by `/banned` newest first.
    "CREATE TABLE bans (
        user_id INTEGER PRIMARY KEY,
        banned_by INTEGER NOT NULL,
        banned_at INTEGER NOT NULL
     );
     CREATE INDEX bans_at ON bans(banned_at);",
    // 8: one link per file: a user sending a file again gets the live link of the same
    // `file_unique_id` back, found through this index.
    "CREATE INDEX links_owner_file ON links(owner, file_unique_id);",
];

/// A failed store call. Never carries secrets: SQLite's messages name tables and columns, not
/// values.
#[derive(Debug)]
pub enum StoreError {
    /// SQLite refused or failed a call.
    Sqlite(rusqlite::Error),
    /// The data directory or database file could not be created.
    Create(PathBuf, std::io::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "store: {e}"),
            StoreError::Create(path, e) => write!(f, "store: cannot create {}: {e}", path.display()),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(e) => Some(e),
            StoreError::Create(_, e) => Some(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// The owner of a channel post's link: no user (Telegram's user ids start at 1). Its `source`
/// names the channel and the post; it makes no daily-limit event and no user can list it.
pub const CHANNEL_OWNER: u64 = 0;

/// One stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub id: u64,
    pub owner: u64,
    pub file_id: String,
    pub file_unique_id: String,
    pub file_name: String,
    pub file_size: u64,
    pub mime: String,
    pub created_at: u64,
    /// Unix seconds; 0 = never.
    pub expires_at: u64,
    /// The update that asked for this link (rows from before migration 2 have none).
    pub update_id: Option<i64>,
    /// Taken back by its owner or an admin: served as 410 from then on.
    pub revoked: bool,
    /// (chat id, message id) of the message `file_id` came from: the `LOG_CHANNEL` copy when
    /// intake made one, else the user's own message (rows from before migration 6 have none).
    pub source: Option<(i64, i32)>,
}

#[cfg(test)]
impl LinkRow {
    /// A link of owner 1 to a 1-byte text file `f`, made at 1, never expiring: tests change the
    /// fields they are about (`LinkRow { owner: 7, ..LinkRow::sample(3) }`).
    pub fn sample(id: u64) -> LinkRow {
        LinkRow {
            id,
            owner: 1,
            file_id: "F".into(),
            file_unique_id: "U".into(),
            file_name: "f".into(),
            file_size: 1,
            mime: "text/plain".into(),
            created_at: 1,
            expires_at: 0,
            update_id: None,
            revoked: false,
            source: None,
        }
    }
}

/// The SQLite connection. Single-threaded by design: owned by the app state, used between awaits.
pub struct Store {
    conn: Connection,
    /// Rows of recent downloads' links; revoking and purging go through the store, which forgets.
    links: std::cell::RefCell<cache::LinkCache>,
    /// Owners' flushed bytes this month; a flush or a purge forgets them.
    owner_bytes: std::cell::RefCell<cache::OwnerBytesCache>,
}

// SQLite stores signed 64-bit integers; ids and times are kept below i64::MAX by construction.
fn to_sql(v: u64) -> i64 {
    i64::try_from(v).expect("stored integers are below i64::MAX")
}

fn from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The database's file name in `DATA_DIR`.
pub const DB_FILE: &str = "streambot.db";

/// Creates `path` empty with mode 0600 unless it exists (SQLite takes an empty file as a new
/// database).
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

impl Store {
    /// Opens (creating if needed) `dir/streambot.db` and applies pending migrations. A new
    /// database is created mode 0600, and SQLite gives its `-wal` and `-shm` files the database
    /// file's permissions (unix VFS), so none of them is readable by other users whatever the
    /// umask; an existing file keeps its mode (an operator may share it on purpose).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Create(dir.to_path_buf(), e))?;
        let path = dir.join(DB_FILE);
        create_private(&path).map_err(|e| StoreError::Create(path.clone(), e))?;
        Store::with_connection(Connection::open(path)?)
    }

    #[cfg(test)]
    /// An in-memory store for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> Result<Store, StoreError> {
        // WAL + NORMAL: a commit is one append, durable across a process crash; a small page
        // cache (256 KiB) keeps the store's share of RSS fixed.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "cache_size", -256)?;
        // Only an outside writer (an operator's sqlite3 shell) can hold the lock; waiting blocks
        // the one thread, so give up after a second and let the caller log it.
        conn.pragma_update(None, "busy_timeout", 1000)?;
        let store = Store {
            conn,
            links: std::cell::RefCell::new(cache::LinkCache::new()),
            owner_bytes: std::cell::RefCell::new(cache::OwnerBytesCache::new()),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let has_kv: bool =
            self.conn.query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='kv'", [], |r| {
                r.get::<_, i64>(0).map(|n| n > 0)
            })?;
        let done = if has_kv { self.kv_get("schema_version")?.and_then(|v| v.parse().ok()).unwrap_or(0) } else { 0 };
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = self.conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO kv(key, value) VALUES('schema_version', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![(i + 1).to_string()],
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The connection, for the queries of the public-instance features (`store/public.rs`).
    fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Drops link `id` from the row cache (it changed).
    fn forget_link(&self, id: u64) {
        self.links.borrow_mut().forget(id);
    }

    /// Drops every row from the row cache (many links changed).
    fn forget_links(&self) {
        self.links.borrow_mut().clear();
    }

    pub fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT value FROM kv WHERE key = ?1", params![key], |r| r.get(0)).optional()?)
    }

    /// The next `getUpdates` offset (last handled update id + 1), if any was stored.
    pub fn poll_offset(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.kv_get("poll_offset")?.and_then(|v| v.parse().ok()))
    }

    /// Registers a user or refreshes their name and last-seen time.
    pub fn upsert_user(&self, id: u64, first_name: &str, username: Option<&str>, now: u64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO users(id, first_name, username, joined_at, last_seen) VALUES(?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(id) DO UPDATE SET first_name = excluded.first_name,
                username = excluded.username, last_seen = excluded.last_seen",
            params![to_sql(id), first_name, username, to_sql(now)],
        )?;
        Ok(())
    }

    pub fn user_count(&self) -> Result<u64, StoreError> {
        Ok(from_sql(self.conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?))
    }

    /// Stores a new link and, in the same transaction, the event the daily limit counts (none
    /// for a channel post's link, which counts against no user).
    pub fn insert_link(&self, link: &LinkRow) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO links(id, owner, file_id, file_unique_id, file_name, file_size, mime, created_at, expires_at,
                update_id, source_chat, source_message)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                to_sql(link.id),
                to_sql(link.owner),
                link.file_id,
                link.file_unique_id,
                link.file_name,
                to_sql(link.file_size),
                link.mime,
                to_sql(link.created_at),
                to_sql(link.expires_at),
                link.update_id,
                link.source.map(|(chat, _)| chat),
                link.source.map(|(_, message)| message),
            ],
        )?;
        if link.owner != CHANNEL_OWNER {
            tx.execute(
                "INSERT INTO link_events(user_id, at) VALUES(?1, ?2)",
                params![to_sql(link.owner), to_sql(link.created_at)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn link(&self, id: u64) -> Result<Option<Rc<LinkRow>>, StoreError> {
        if let Some(row) = self.links.borrow().get(id) {
            return Ok(Some(Rc::clone(row)));
        }
        let Ok(sql_id) = i64::try_from(id) else { return Ok(None) };
        let Some(row) = self.link_where("id = ?1", sql_id)? else { return Ok(None) };
        let row = Rc::new(row);
        self.links.borrow_mut().put(Rc::clone(&row));
        Ok(Some(row))
    }

    /// The link update `update_id` made, if it got that far before (a replayed update).
    pub fn link_for_update(&self, update_id: i64) -> Result<Option<LinkRow>, StoreError> {
        self.link_where("update_id = ?1", update_id)
    }

    /// The link made for the file `file_unique_id` of the post `message` of channel `chat`, if
    /// any. The index on (owner, file_unique_id) narrows it to that file's channel links.
    pub fn link_for_channel_post(
        &self,
        chat: i64,
        message: i32,
        file_unique_id: &str,
    ) -> Result<Option<LinkRow>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM links WHERE owner = ?1 AND file_unique_id = ?4 AND source_chat = ?2 \
             AND source_message = ?3 LIMIT 1"
        );
        let args = params![to_sql(CHANNEL_OWNER), chat, message, file_unique_id];
        Ok(self.conn.query_row(&sql, args, link_row).optional()?)
    }

    fn link_where(&self, condition: &str, value: i64) -> Result<Option<LinkRow>, StoreError> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM links WHERE {condition}");
        Ok(self.conn.query_row(&sql, params![value], link_row).optional()?)
    }

    /// Deletes links that expired at or before `now`, and link events older than a day;
    /// returns how many links went.
    pub fn purge_expired_links(&self, now: u64) -> Result<usize, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let links = tx.execute("DELETE FROM links WHERE expires_at != 0 AND expires_at <= ?1", params![to_sql(now)])?;
        tx.execute("DELETE FROM link_events WHERE at < ?1", params![to_sql(now.saturating_sub(86_400))])?;
        tx.commit()?;
        self.links.borrow_mut().clear();
        Ok(links)
    }

    /// Releases SQLite's spare page-cache memory (the hourly memory task).
    pub fn shrink_memory(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("PRAGMA shrink_memory")?;
        Ok(())
    }

    /// Moves the write-ahead log into the database file (at shutdown).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn link_count(&self) -> Result<u64, StoreError> {
        Ok(from_sql(self.conn.query_row("SELECT count(*) FROM links", [], |r| r.get(0))?))
    }
}

/// The columns [`link_row`] reads, in its order.
const LINK_COLUMNS: &str = "id, owner, file_id, file_unique_id, file_name, file_size, mime, created_at, expires_at,
    update_id, revoked, source_chat, source_message";
/// How many columns [`LINK_COLUMNS`] names: the index of a column selected after them.
const LINK_COLUMN_COUNT: usize = 13;

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok(LinkRow {
        id: from_sql(r.get(0)?),
        owner: from_sql(r.get(1)?),
        file_id: r.get(2)?,
        file_unique_id: r.get(3)?,
        file_name: r.get(4)?,
        file_size: from_sql(r.get(5)?),
        mime: r.get(6)?,
        created_at: from_sql(r.get(7)?),
        expires_at: from_sql(r.get(8)?),
        update_id: r.get(9)?,
        revoked: r.get::<_, i64>(10)? != 0,
        // A message id out of i32 range (an outside writer) reads as no source, not a failed query.
        source: match (r.get::<_, Option<i64>>(11)?, r.get::<_, Option<i64>>(12)?) {
            (Some(chat), Some(message)) => i32::try_from(message).ok().map(|m| (chat, m)),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_new_database_and_its_wal_and_shm_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("streambot-store-modes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        store.set_poll_offset(1).unwrap();
        for name in [DB_FILE, "streambot.db-wal", "streambot.db-shm"] {
            let mode = std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn link(id: u64) -> LinkRow {
        LinkRow {
            id,
            owner: 5,
            file_id: "FID".into(),
            file_unique_id: "UID".into(),
            file_name: "наш файл.txt".into(),
            file_size: 1234,
            mime: "text/plain".into(),
            created_at: 100,
            expires_at: 0,
            update_id: Some(id as i64 + 500),
            revoked: false,
            source: Some((-1009876, id as i32 + 7)),
        }
    }

    #[test]
    fn link_round_trips() {
        let store = Store::open_in_memory().unwrap();
        store.insert_link(&link(9)).unwrap();
        assert_eq!(store.link(9).unwrap().as_deref(), Some(&link(9)));
        let (first, again) = (store.link(9).unwrap().unwrap(), store.link(9).unwrap().unwrap());
        assert!(Rc::ptr_eq(&first, &again), "a cache hit shares the row instead of copying it");
        assert_eq!(store.link(10).unwrap(), None);
        assert_eq!(store.link(u64::MAX).unwrap(), None);
        assert!(store.insert_link(&link(9)).is_err(), "ids are unique");
    }

    #[test]
    fn expired_links_are_purged_and_eternal_ones_kept() {
        let store = Store::open_in_memory().unwrap();
        let mut expired = link(1);
        expired.expires_at = 50;
        let mut later = link(2);
        later.expires_at = 500;
        store.insert_link(&expired).unwrap();
        store.insert_link(&later).unwrap();
        store.insert_link(&link(3)).unwrap();
        assert_eq!(store.purge_expired_links(100).unwrap(), 1);
        assert_eq!(store.link_count().unwrap(), 2);
        assert!(store.link(1).unwrap().is_none());
    }

    #[test]
    fn offset_and_users_persist_across_reopen() {
        let dir = std::env::temp_dir().join(format!("streambot-store-{}", std::process::id()));
        {
            let store = Store::open(&dir).unwrap();
            assert_eq!(store.poll_offset().unwrap(), None);
            store.set_poll_offset(42).unwrap();
            store.upsert_user(1, "A", None, 10).unwrap();
            store.upsert_user(1, "B", Some("b"), 11).unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.poll_offset().unwrap(), Some(42));
        assert_eq!(store.user_count().unwrap(), 1);
        let version = MIGRATIONS.len().to_string();
        assert_eq!(store.kv_get("schema_version").unwrap().as_deref(), Some(version.as_str()));
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_link_is_found_by_the_update_that_made_it_and_one_update_makes_one_link() {
        let store = Store::open_in_memory().unwrap();
        store.insert_link(&link(9)).unwrap();
        assert_eq!(store.link_for_update(509).unwrap(), Some(link(9)));
        assert_eq!(store.link_for_update(510).unwrap(), None);
        let mut again = link(10);
        again.update_id = Some(509);
        assert!(store.insert_link(&again).is_err(), "update ids are unique");
        let mut old = link(11);
        old.update_id = None;
        let mut older = link(12);
        older.update_id = None;
        store.insert_link(&old).unwrap();
        store.insert_link(&older).unwrap();
    }

    #[test]
    fn a_links_source_message_round_trips_and_an_old_row_has_none() {
        let store = Store::open_in_memory().unwrap();
        store.insert_link(&link(9)).unwrap();
        assert_eq!(store.link(9).unwrap().unwrap().source, Some((-1009876, 16)));
        let mut own = link(10);
        own.source = Some((5, i32::MAX));
        store.insert_link(&own).unwrap();
        assert_eq!(store.link(10).unwrap().unwrap().source, Some((5, i32::MAX)));
        let mut old = link(11);
        old.source = None;
        store.insert_link(&old).unwrap();
        assert_eq!(store.link(11).unwrap().unwrap().source, None);
        store.conn.execute("UPDATE links SET source_message = ?1 WHERE id = 10", params![i64::MAX]).unwrap();
        store.forget_links();
        assert_eq!(store.link(10).unwrap().unwrap().source, None, "out of range reads as none");
        let mut sources: Vec<_> = store.user_links(5, 0, 0, 10).unwrap().into_iter().map(|(l, _)| l.source).collect();
        sources.sort();
        assert_eq!(sources, vec![None, None, Some((-1009876, 16))], "the page query reads the new columns too");
    }

    #[test]
    fn a_channel_posts_link_is_found_by_its_post_and_makes_no_daily_limit_event() {
        let store = Store::open_in_memory().unwrap();
        store.insert_link(&link(9)).unwrap();
        let mut post = link(10);
        post.owner = CHANNEL_OWNER;
        store.insert_link(&post).unwrap();
        let unique = post.file_unique_id.clone();
        assert_eq!(store.link_for_channel_post(-1009876, 17, &unique).unwrap(), Some(post));
        assert_eq!(store.link_for_channel_post(-1009876, 17, "other").unwrap(), None, "an edit put another file there");
        assert_eq!(
            store.link_for_channel_post(-1009876, 16, &unique).unwrap(),
            None,
            "a user's link from that channel is not"
        );
        assert_eq!(store.links_made_since(0).unwrap(), 1, "only the user's link made an event");
    }

    #[test]
    fn store_errors_keep_the_sqlite_or_io_error_as_their_source() {
        use std::error::Error;
        let sqlite = StoreError::from(Connection::open_in_memory().unwrap().execute_batch("NOT SQL").unwrap_err());
        assert!(sqlite.source().is_some_and(|s| s.is::<rusqlite::Error>()), "{sqlite}");
        let io = StoreError::Create("/x".into(), std::io::ErrorKind::PermissionDenied.into());
        assert!(io.source().is_some_and(|s| s.is::<std::io::Error>()));
        assert_eq!(io.to_string(), "store: cannot create /x: permission denied");
    }
}
