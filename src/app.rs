//! The running bot's shared state: [`App`], owned by the one thread and handed around as
//! `Rc<App>`, made of four parts with one owner each, so a module takes the part it works on:
//! [`Core`] (what every feature needs: the config, the store, Telegram, the link signer),
//! [`BotState`] (the bot's side of the conversation with Telegram and its users: login, the
//! force-subscribe and refusal tables, the broadcast, the update counters), [`Serving`] (the
//! HTTP side's downloads: streams, bandwidth, download counts, response counts) and
//! [`Operations`] (memory monitor, cleanup schedule, panics). Building it from the environment
//! and wiring the tasks is `run.rs`'s; this module imports nothing from the bot, the HTTP side or
//! the cleanup tasks.

use std::cell::{Cell, OnceCell, RefCell};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::bandwidth::Bandwidth;
use crate::config::Config;
use crate::links::Signer;
use crate::memory::monitor::Monitor;
use crate::memory::scheduler::Schedule;
use crate::memory::stream_tracker::{Full, StreamGuard, StreamTracker};
use crate::shutdown::Trigger;
use crate::status::STATUSES;
use crate::store::download_counts::DownloadCounts;
use crate::store::{Store, StoreError};
use crate::telegram::files::Files;
use crate::telegram::transport::Transport;
use crate::users::member_cache::MemberCache;
use crate::users::told::Told;

/// Shared state of the running bot, in its four parts. Owned by one thread; handed around as
/// `Rc<App>`.
pub struct App {
    pub core: Core,
    pub bot: BotState,
    pub serving: Serving,
    pub ops: Operations,
}

/// What every feature needs and none owns: the settings, the store, the way to Telegram and to
/// its files, and how links are made. Set at start and never replaced.
pub struct Core {
    pub config: Config,
    pub store: Store,
    pub api: Transport,
    /// `getFile` cache and local-mode file access (the bot prewarms and forgets, HTTP opens).
    pub files: Files,
    pub signer: Signer,
    /// Public URL links start with (`BASE_URL`, or localhost with the bound port).
    pub base_url: String,
    pub started: Instant,
}

/// The bot's side: who it is, where it stands with Telegram, what it remembers about users
/// between updates, the broadcast, and the update counters.
pub struct BotState {
    /// The bot's `@username`, set once `getMe` answered.
    pub username: OnceCell<String>,
    /// The bot's own user id and first name, set once `getMe` answered (for `/api/info`).
    pub me: OnceCell<(u64, String)>,
    /// Where the bot stands with Telegram (for `/health`).
    pub login: Cell<Login>,
    /// Force-subscribe: membership answers Telegram gave (a failed check is never kept).
    pub members: RefCell<MemberCache>,
    /// Force-subscribe: the channel's invite link from `exportChatInviteLink`, once asked.
    pub invite_link: RefCell<Option<String>>,
    /// When each refused user (banned, not in `ALLOWED_USERS`) was last told (fixed: `TOLD_SLOTS`).
    pub told: RefCell<Told>,
    /// The broadcast running now, if any.
    pub broadcast: Broadcasting,
    /// Updates handled since start.
    pub updates_handled: Cell<u64>,
    /// Replies Telegram never took, after retrying for `REPLY_RETRY_SECS`, since start.
    pub replies_lost: Cell<u64>,
}

/// The serving side: the downloads running now and what they count until it is written to the
/// store (bytes, bytes per owner, downloads per link), and the responses sent.
pub struct Serving {
    /// Active response bodies (fixed capacity: `MAX_CONNECTIONS`).
    pub streams: Arc<StreamTracker>,
    /// The month's bandwidth: limit, counted and flushed bytes.
    pub bandwidth: Bandwidth,
    /// Downloads per link since the last flush (written with the bandwidth).
    downloads: RefCell<DownloadCounts>,
    /// HTTP responses by status since start.
    pub responses: StatusCounts,
}

/// Keeping the process healthy: its memory, the cleanup tasks' timing, the panics caught.
pub struct Operations {
    /// Reads this process's memory; `None` where sysinfo cannot.
    pub monitor: RefCell<Option<Monitor>>,
    /// The cleanup tasks' timing, for `/memory`.
    pub schedule: Schedule,
    /// Panics caught, by failure domain.
    pub panics: crate::panics::Panics,
}

/// The one broadcast that may run: whether it runs and whether `/broadcast cancel` asked it to stop.
#[derive(Default)]
pub struct Broadcasting {
    pub running: Cell<bool>,
    pub cancel: Cell<bool>,
}

impl App {
    /// The state of a running bot, from its parts. `run` builds it after `getMe`; tests build one
    /// over `Store::open_in_memory()` and a Bot API URL of their choosing.
    pub fn new(config: Config, store: Store, signer: Signer, files: Files, base_url: String) -> App {
        let now = crate::units::now_unix();
        let serving = Serving::new(&config, &store, now);
        let ops = Operations::new(&config, now);
        let api = files.api().clone();
        App {
            core: Core { config, store, api, files, signer, base_url, started: Instant::now() },
            bot: BotState::new(),
            serving,
            ops,
        }
    }

    /// Whether Telegram is failing now: `getMe` failed and is retried, or the last poll failed
    /// and the poller is backing off.
    pub fn telegram_down(&self) -> bool {
        matches!(self.bot.login.get(), Login::Retrying { .. }) || self.core.api.polls_failing()
    }
}

impl BotState {
    fn new() -> BotState {
        BotState {
            username: OnceCell::new(),
            me: OnceCell::new(),
            login: Cell::new(Login::Connecting),
            members: RefCell::new(MemberCache::default()),
            invite_link: RefCell::new(None),
            told: RefCell::new(Told::default()),
            broadcast: Broadcasting::default(),
            updates_handled: Cell::new(0),
            replies_lost: Cell::new(0),
        }
    }

    /// The bot's username; empty until `getMe` answered.
    pub fn username(&self) -> &str {
        self.username.get().map_or("", String::as_str)
    }
}

impl Serving {
    fn new(config: &Config, store: &Store, now: u64) -> Serving {
        let bandwidth =
            Bandwidth::load(config.bandwidth_limit, store, now).with_user_share(config.bandwidth_user_share);
        Serving {
            streams: StreamTracker::new(config.max_connections),
            bandwidth,
            downloads: RefCell::new(DownloadCounts::default()),
            responses: StatusCounts::new(),
        }
    }

    /// Counts one download of `link`; a full table is flushed to `store` first.
    pub fn count_download(&self, store: &Store, link: u64) {
        let mut counts = self.downloads.borrow_mut();
        if !counts.bump(link) {
            drop(counts);
            self.flush_downloads(store);
            self.downloads.borrow_mut().bump(link);
        }
    }

    /// Downloads of `link` counted since the last flush (not yet in its row).
    pub fn downloads_pending(&self, link: u64) -> u64 {
        self.downloads.borrow().pending(link)
    }

    /// Writes the counted downloads to their links; on error they are kept for the next flush.
    pub fn flush_downloads(&self, store: &Store) {
        let counts = self.downloads.borrow_mut().take();
        if counts.is_empty() {
            return;
        }
        if let Err(e) = store.add_downloads(&counts) {
            log::warn!("cannot save download counts, keeping them for the next flush: {e}");
            self.downloads.borrow_mut().restore(&counts);
        }
    }

    /// When `BANDWIDTH_LIMIT_GB` is reached at `now`: the start of next month.
    pub fn bandwidth_blocked_until(&self, now: u64) -> Option<u64> {
        self.bandwidth.blocked_until(self.streams.bytes_sent(), now)
    }

    /// Bytes served this calendar month (UTC).
    pub fn bandwidth_used(&self, now: u64) -> u64 {
        self.bandwidth.used(self.streams.bytes_sent(), now)
    }

    /// Bytes `owner`'s links served this calendar month (UTC): flushed to `store` plus counted since.
    pub fn owner_bandwidth_used(&self, store: &Store, owner: u64, now: u64) -> u64 {
        let stored = store.user_bandwidth(&crate::units::month_key(now), owner).unwrap_or_else(|e| {
            // Serving on is better than refusing every owner's links while the store fails.
            log::warn!("cannot read user {owner}'s bandwidth this month: {e}");
            0
        });
        stored + self.streams.owner_unflushed(owner)
    }

    /// When `owner`'s links stop at `now` because they used the owner's share
    /// (`BANDWIDTH_USER_SHARE`): the start of next month. Admins have no share limit.
    pub fn owner_blocked_until(&self, core: &Core, owner: u64, now: u64) -> Option<u64> {
        // A channel's links belong to no user, so no user's share limits them.
        if self.bandwidth.user_limit().is_none() || core.config.is_admin(owner) || owner == crate::store::CHANNEL_OWNER
        {
            return None;
        }
        self.bandwidth.owner_blocked_until(self.owner_bandwidth_used(&core.store, owner, now), false, now)
    }

    /// A stream slot for a download of `link_id` (owned by `owner`) to `peer`; when the owner
    /// table is full, the counted bytes are flushed to `store` first to make room. `None`: every
    /// stream slot is taken, or the flush failed.
    pub fn register_stream(
        &self,
        store: &Store,
        link_id: u64,
        owner: u64,
        peer: SocketAddr,
        end: &Trigger,
    ) -> Option<StreamGuard> {
        match self.streams.register(link_id, owner, peer, end.clone(), Instant::now()) {
            Ok(guard) => Some(guard),
            Err(Full::Streams) => None,
            Err(Full::Owners) => {
                if let Err(e) = self.flush_bandwidth(store, crate::units::now_unix()) {
                    log::error!("cannot save the bandwidth counted so far, so no new download starts: {e}");
                    return None;
                }
                self.streams.register(link_id, owner, peer, end.clone(), Instant::now()).ok()
            }
        }
    }

    /// Writes the bytes counted since the last flush to `store`, with the bytes per link owner
    /// and the per-link download counts; returns how many bytes.
    pub fn flush_bandwidth(&self, store: &Store, now: u64) -> Result<u64, StoreError> {
        self.flush_downloads(store);
        let owners = self.streams.owners_pending();
        let n = self.bandwidth.flush(store, self.streams.bytes_sent(), &owners, now)?;
        self.streams.owners_flushed(&owners);
        Ok(n)
    }
}

impl Operations {
    fn new(config: &Config, now: u64) -> Operations {
        Operations {
            monitor: RefCell::new(Monitor::new()),
            schedule: Schedule::for_timers(&config.timers, now),
            panics: Default::default(),
        }
    }

    /// Logs the process's memory, saying `when`.
    pub fn log_memory(&self, when: &str) {
        if let Some(m) = self.monitor.borrow_mut().as_mut() {
            m.log(when);
        }
    }
}

/// Where the bot stands with Telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The first `getMe` is on its way.
    Connecting,
    /// `getMe` failed; the next try is at this Unix time.
    Retrying {
        at: u64,
    },
    LoggedIn,
}

/// Response counts for a fixed set of statuses, plus one bucket for any other.
pub struct StatusCounts {
    counts: [Cell<u64>; STATUSES.len() + 1],
}

impl StatusCounts {
    pub fn new() -> StatusCounts {
        StatusCounts { counts: std::array::from_fn(|_| Cell::new(0)) }
    }

    pub fn count(&self, status: u16) {
        // A status outside the table is counted as `other`, the last bucket.
        let i = crate::status::index(status).unwrap_or(STATUSES.len());
        self.counts[i].set(self.counts[i].get() + 1);
    }

    /// `(Some(status) | None for other, count)` for every bucket.
    pub fn all(&self) -> impl Iterator<Item = (Option<u16>, u64)> + '_ {
        self.counts.iter().enumerate().map(|(i, c)| (STATUSES.get(i).map(|&(code, _)| code), c.get()))
    }
}

impl Default for StatusCounts {
    fn default() -> Self {
        Self::new()
    }
}
