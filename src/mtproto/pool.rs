//! The bot's MTProto sessions: one auth key and at most one connection per DC, made when first
//! needed and kept in the store; the bot logged in on its home DC (`auth.importBotAuthorization`,
//! following `USER_MIGRATE_X`) and its authorization carried to other DCs (export/import);
//! flood waits, backoff and a bound on calls in flight, per DC.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use grammers_tl_types::{RemoteCall, enums, functions};
use smol::LocalExecutor;
use smol::lock::{Mutex, Semaphore};

use super::conn::{self, Conn, MAX_IN_FLIGHT, Session};
use super::dc::DcTable;
use super::error::InvokeError;
use super::keys::ServerKey;
use super::policy;
use super::requests;

/// DCs with a state at once (Telegram has five; overrides may name a few more).
pub(crate) const MAX_DCS: usize = 16;
/// Where the first login goes when the home DC is not known yet (it answers `USER_MIGRATE_X`
/// when the bot lives elsewhere).
pub(crate) const FIRST_DC: i32 = 2;
/// Connecting, with a handshake when the DC has no key yet.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// One call's answer; a part of at most 1 MiB on a live connection takes far less.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection with no call for this long is closed (its read buffer, up to 1 MiB, freed); the
/// auth key stays for the next one.
pub(crate) const IDLE_CLOSE: Duration = Duration::from_secs(120);
/// Fresh file references remembered (document or photo id → reference).
const MAX_REFERENCES: usize = 256;

/// Where auth keys and the home DC are kept between runs.
pub(crate) trait KeyStore {
    fn save_key(&self, dc: i32, key: &[u8; 256]);
    fn forget_key(&self, dc: i32);
    fn save_home(&self, dc: i32);
}

/// Keeps nothing: for sessions built before the store they write to is attached.
pub(crate) struct NoKeys;

impl KeyStore for NoKeys {
    fn save_key(&self, _: i32, _: &[u8; 256]) {}
    fn forget_key(&self, _: i32) {}
    fn save_home(&self, _: i32) {}
}

/// What the pool needs to log in and reach the DCs.
pub(crate) struct Settings {
    pub(crate) api_id: i32,
    pub(crate) api_hash: String,
    pub(crate) bot_token: String,
    /// Accepted server keys: the built-in ones and `TELEGRAM_SERVER_KEY`.
    pub(crate) keys: Vec<ServerKey>,
    pub(crate) dcs: DcTable,
    /// Keys kept from earlier runs, and the home DC if known.
    pub(crate) stored_keys: Vec<(i32, [u8; 256])>,
    pub(crate) home: Option<i32>,
}

/// The sessions of the whole process; cheap to clone.
#[derive(Clone)]
pub(crate) struct Pool(Rc<Inner>);

struct Inner {
    settings: Settings,
    ex: Rc<LocalExecutor<'static>>,
    store: RefCell<Box<dyn KeyStore>>,
    home: Cell<Option<i32>>,
    dcs: RefCell<Vec<Rc<DcState>>>,
    references: RefCell<VecDeque<(i64, Vec<u8>)>>,
    downloads: Cell<usize>,
    /// Bytes of parts asked for and not yet handed on, all downloads together.
    reserved: Cell<u64>,
}

/// One DC: its key, its connection, whether the key is logged in, and its limits.
pub(crate) struct DcState {
    pub(crate) id: i32,
    key: Cell<Option<[u8; 256]>>,
    conn: RefCell<Option<Rc<Conn>>>,
    /// The key is believed logged in as the bot (a stored key is, until a call says otherwise).
    authorized: Cell<bool>,
    flood_until: Cell<Option<Instant>>,
    /// Failed attempts in a row (connects and dropped calls), for the backoff.
    failures: Cell<u32>,
    last_attempt: Cell<Option<Instant>>,
    last_call: Cell<Instant>,
    /// One connect at a time; the others wait and share its connection.
    connecting: Mutex<()>,
    /// Calls in flight to this DC, all downloads together.
    permits: Semaphore,
}

impl Pool {
    pub(crate) fn new(settings: Settings, ex: Rc<LocalExecutor<'static>>, store: Box<dyn KeyStore>) -> Pool {
        let home = Cell::new(settings.home);
        let pool = Pool(Rc::new(Inner {
            settings,
            ex,
            store: RefCell::new(store),
            home,
            dcs: RefCell::new(Vec::with_capacity(MAX_DCS)),
            references: RefCell::new(VecDeque::with_capacity(MAX_REFERENCES)),
            downloads: Cell::new(0),
            reserved: Cell::new(0),
        }));
        for (dc, key) in &pool.0.settings.stored_keys {
            if let Ok(state) = pool.dc(*dc) {
                state.key.set(Some(*key));
                state.authorized.set(true);
            }
        }
        pool
    }

    /// Where new keys and the home DC are written from now on.
    pub(crate) fn set_key_store(&self, store: Box<dyn KeyStore>) {
        *self.0.store.borrow_mut() = store;
    }

    pub(crate) fn executor(&self) -> &Rc<LocalExecutor<'static>> {
        &self.0.ex
    }

    /// The bot's home DC, once a login found it.
    pub(crate) fn home(&self) -> Option<i32> {
        self.0.home.get()
    }

    /// Downloads running now (they set each other's pace).
    pub(crate) fn downloads(&self) -> usize {
        self.0.downloads.get()
    }

    /// Counts one download until the returned value drops.
    pub(crate) fn enter(&self) -> Running {
        self.0.downloads.set(self.0.downloads.get() + 1);
        Running(self.clone())
    }

    /// Bytes of parts in flight or waiting to be handed on.
    pub(crate) fn reserved(&self) -> u64 {
        self.0.reserved.get()
    }

    /// Counts `bytes` of a part until the returned value drops.
    pub(crate) fn reserve(&self, bytes: u64) -> Reserved {
        self.0.reserved.set(self.0.reserved.get() + bytes);
        Reserved(self.clone(), bytes)
    }

    /// Open connections (for `/memory`).
    pub(crate) fn connections(&self) -> usize {
        self.0.dcs.borrow().iter().filter(|d| d.live().is_some()).count()
    }

    /// The state of DC `id`, made on first use; unknown DCs (no address) are refused.
    pub(crate) fn dc(&self, id: i32) -> Result<Rc<DcState>, InvokeError> {
        if let Some(state) = self.0.dcs.borrow().iter().find(|d| d.id == id) {
            return Ok(state.clone());
        }
        if self.0.settings.dcs.address(id).is_none() {
            return Err(InvokeError::Transport(format!("no address for DC {id} (TELEGRAM_DC_ADDRESS)").into()));
        }
        let mut dcs = self.0.dcs.borrow_mut();
        if dcs.len() >= MAX_DCS {
            return Err(InvokeError::Transport(format!("more than {MAX_DCS} DCs").into()));
        }
        let state = Rc::new(DcState {
            id,
            key: Cell::new(None),
            conn: RefCell::new(None),
            authorized: Cell::new(false),
            flood_until: Cell::new(None),
            failures: Cell::new(0),
            last_attempt: Cell::new(None),
            last_call: Cell::new(Instant::now()),
            connecting: Mutex::new(()),
            permits: Semaphore::new(MAX_IN_FLIGHT),
        });
        dcs.push(state.clone());
        Ok(state)
    }

    /// Logs in (or reuses the stored login) and returns the home DC: what `--check` prints.
    pub(crate) async fn check(&self) -> Result<i32, InvokeError> {
        let first = self.dc(self.home().unwrap_or(FIRST_DC))?;
        self.connection(&first).await?;
        let home = self.home().unwrap_or(first.id);
        self.connection(&self.dc(home)?).await?;
        Ok(home)
    }

    /// One call on DC `dc` (flood waits and calls in flight counted), reconnecting once if the
    /// connection was lost.
    pub(crate) async fn call<R: RemoteCall>(&self, dc: i32, request: &R) -> Result<R::Return, InvokeError> {
        let state = self.dc(dc)?;
        let mut attempt = 0;
        loop {
            state.wait_flood().await;
            let result = {
                let _permit = state.permits.acquire().await;
                let conn = self.connection(&state).await?;
                state.last_call.set(Instant::now());
                let result = conn.invoke(request, CALL_TIMEOUT).await;
                state.after_call(&conn, &result);
                result
            };
            match &result {
                Err(error) if attempt == 0 && policy::next(error) == policy::Next::Reconnect => attempt += 1,
                Err(error) => match policy::next(error) {
                    policy::Next::Wait(pause) if attempt < 2 => {
                        state.flood(pause);
                        attempt += 1;
                    }
                    _ => return result,
                },
                Ok(_) => return result,
            }
        }
    }

    /// A live, logged-in connection to `state`'s DC: the current one, or a new one after the
    /// DC's backoff.
    pub(crate) async fn connection(&self, state: &Rc<DcState>) -> Result<Rc<Conn>, InvokeError> {
        if let Some(conn) = state.live() {
            return Ok(conn);
        }
        let _connecting = state.connecting.lock().await;
        if let Some(conn) = state.live() {
            return Ok(conn);
        }
        if let Some(last) = state.last_attempt.get() {
            let at = last + policy::backoff(state.failures.get());
            if at > Instant::now() {
                Timer::at(at).await;
            }
        }
        state.last_attempt.set(Some(Instant::now()));
        match self.open(state).await {
            Ok(conn) => {
                *state.conn.borrow_mut() = Some(conn.clone());
                Ok(conn)
            }
            Err(error) => {
                state.failures.set(state.failures.get().saturating_add(1));
                log::warn!("cannot reach telegram DC {}: {error}", state.id);
                Err(error)
            }
        }
    }

    /// Connects (a handshake if the DC has no key yet, the key then stored) and makes the first
    /// call, which carries `initConnection`: a login if the key is not logged in yet.
    async fn open(&self, state: &DcState) -> Result<Rc<Conn>, InvokeError> {
        let settings = &self.0.settings;
        let address = settings.dcs.address(state.id).ok_or(InvokeError::Transport("no address".into()))?;
        let stored = state.key.get().map(|auth_key| Session { auth_key, time_offset: 0, first_salt: 0 });
        let had_key = stored.is_some();
        let (conn, session) =
            conn::connect(&self.0.ex, &address.host, address.port, stored, &settings.keys, CONNECT_TIMEOUT).await?;
        if !had_key {
            log::info!("made an MTProto auth key for telegram DC {}", state.id);
            state.key.set(Some(session.auth_key));
            state.authorized.set(false);
            self.0.store.borrow().save_key(state.id, &session.auth_key);
        }
        let conn = Rc::new(conn);
        let first = if state.authorized.get() {
            conn.invoke(&requests::init(settings.api_id, functions::help::GetConfig {}), CALL_TIMEOUT).await.map(drop)
        } else {
            self.authorize(state, &conn).await
        };
        if let Err(InvokeError::Status(404)) = first {
            // The DC does not know this key (Telegram drops unused keys): make a new one next time.
            log::info!("telegram DC {} no longer knows its auth key; making a new one", state.id);
            state.key.set(None);
            state.authorized.set(false);
            self.0.store.borrow().forget_key(state.id);
        }
        first.map(|()| conn)
    }

    /// Logs the key of `state` in as the bot: `importBotAuthorization` on the home DC (or where
    /// the home DC is not known yet), else an authorization exported from the home DC.
    async fn authorize(&self, state: &DcState, conn: &Conn) -> Result<(), InvokeError> {
        let settings = &self.0.settings;
        if self.home().is_none_or(|home| home == state.id) {
            let login = requests::login(settings.api_id, &settings.api_hash, &settings.bot_token);
            match conn.invoke(&login, CALL_TIMEOUT).await {
                Ok(_) => {
                    self.set_home(state.id);
                    state.authorized.set(true);
                    return Ok(());
                }
                Err(InvokeError::Rpc { code: 303, value: Some(home), .. }) if home as i32 != state.id => {
                    self.set_home(home as i32);
                }
                Err(error) => return Err(error),
            }
        }
        let home = self.dc(self.home().unwrap_or(FIRST_DC))?;
        let home_conn = Box::pin(self.connection(&home)).await?;
        let exported =
            home_conn.invoke(&functions::auth::ExportAuthorization { dc_id: state.id }, CALL_TIMEOUT).await?;
        let enums::auth::ExportedAuthorization::Authorization(exported) = exported;
        let import = functions::auth::ImportAuthorization { id: exported.id, bytes: exported.bytes };
        conn.invoke(&requests::init(settings.api_id, import), CALL_TIMEOUT).await?;
        state.authorized.set(true);
        log::info!("bot authorization carried from telegram DC {} to DC {}", home.id, state.id);
        Ok(())
    }

    fn set_home(&self, dc: i32) {
        if self.home() != Some(dc) {
            log::info!("the bot's home telegram DC is {dc}");
            self.0.home.set(Some(dc));
            self.0.store.borrow().save_home(dc);
        }
    }

    /// A fresh reference fetched earlier for document or photo `id`.
    pub(crate) fn reference(&self, id: i64) -> Option<Vec<u8>> {
        self.0.references.borrow().iter().find(|(i, _)| *i == id).map(|(_, r)| r.clone())
    }

    /// Remembers a fresh reference (the oldest goes past [`MAX_REFERENCES`]).
    pub(crate) fn remember_reference(&self, id: i64, reference: Vec<u8>) {
        let mut references = self.0.references.borrow_mut();
        references.retain(|(i, _)| *i != id);
        if references.len() == MAX_REFERENCES {
            references.pop_front();
        }
        references.push_back((id, reference));
    }

    /// Closes connections idle for [`IDLE_CLOSE`]; returns how many stay open.
    pub(crate) fn sweep(&self, now: Instant) -> usize {
        let dcs = self.0.dcs.borrow();
        for state in dcs.iter() {
            let idle = now.saturating_duration_since(state.last_call.get()) >= IDLE_CLOSE;
            let mut conn = state.conn.borrow_mut();
            // Nobody else holds it: no call is running on it.
            if idle && conn.as_ref().is_some_and(|c| Rc::strong_count(c) == 1) {
                log::debug!("closing the idle connection to telegram DC {}", state.id);
                *conn = None;
            }
        }
        drop(dcs);
        self.connections()
    }
}

impl DcState {
    /// The connection, if it is still alive.
    fn live(&self) -> Option<Rc<Conn>> {
        let mut conn = self.conn.borrow_mut();
        if conn.as_ref().is_some_and(|c| c.dead().is_some()) {
            *conn = None;
        }
        conn.clone()
    }

    /// Waits until a flood limit on this DC has passed.
    pub(crate) async fn wait_flood(&self) {
        while let Some(until) = self.flood_until.get() {
            if until <= Instant::now() {
                self.flood_until.set(None);
                break;
            }
            Timer::at(until).await;
        }
    }

    /// Telegram asked for a pause on this DC (`FLOOD_WAIT_X`).
    pub(crate) fn flood(&self, pause: Duration) {
        let until = Instant::now() + pause;
        if self.flood_until.get().is_none_or(|t| t < until) {
            log::warn!("telegram DC {} asks for a {} s pause; its downloads wait", self.id, pause.as_secs());
            crate::event::emit(crate::event::Event::DcFloodWait { dc: self.id, secs: pause.as_secs() });
            self.flood_until.set(Some(until));
        }
    }

    /// The key is no longer logged in: the next connection logs in again.
    pub(crate) fn unauthorized(&self) {
        self.authorized.set(false);
        *self.conn.borrow_mut() = None;
    }

    /// Bookkeeping after a call on `conn`: a success clears the failure count; a timed-out
    /// connection is dropped (calls after it would wait as long); a lost one counts a failure.
    pub(crate) fn after_call<T>(&self, conn: &Rc<Conn>, result: &Result<T, InvokeError>) {
        match result {
            Ok(_) => self.failures.set(0),
            Err(InvokeError::Timeout) => {
                let mut current = self.conn.borrow_mut();
                if current.as_ref().is_some_and(|c| Rc::ptr_eq(c, conn)) {
                    *current = None;
                }
                self.failures.set(self.failures.get().saturating_add(1));
            }
            Err(error) if policy::next(error) == policy::Next::Reconnect => {
                self.failures.set(self.failures.get().saturating_add(1));
            }
            Err(_) => {}
        }
    }

    /// A turn to have one call in flight to this DC.
    pub(crate) async fn permit(&self) -> smol::lock::SemaphoreGuard<'_> {
        self.permits.acquire().await
    }

    pub(crate) fn touch(&self) {
        self.last_call.set(Instant::now());
    }
}

/// One part's bytes counted in the pool while it lives.
pub(crate) struct Reserved(Pool, u64);

impl Drop for Reserved {
    fn drop(&mut self) {
        let reserved = &self.0.0.reserved;
        reserved.set(reserved.get().saturating_sub(self.1));
    }
}

/// One download counted in the pool while it lives.
pub(crate) struct Running(Pool);

impl Drop for Running {
    fn drop(&mut self) {
        let downloads = &self.0.0.downloads;
        downloads.set(downloads.get().saturating_sub(1));
    }
}
