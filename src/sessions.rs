//! Direct mode's wiring: the MTProto sessions built from the config and the keys kept in the
//! store, the store writing new keys and the home DC as the sessions make them, and `--check`'s
//! login.

use std::rc::{Rc, Weak};
use std::time::Instant;

use smol::LocalExecutor;

use crate::app::App;
use crate::config::Config;
use crate::mtproto::dc::DcTable;
use crate::mtproto::error::InvokeError;
use crate::mtproto::pool::{KeyStore, Pool, Settings};
use crate::store::{Store, StoreError};

/// Direct mode's sessions when it is on, over the keys and home DC `store` kept from earlier
/// runs. They write to the store once [`attach`]ed (or through `keys`, for `--check`).
pub(crate) fn pool(
    config: &Config,
    store: &Store,
    ex: &Rc<LocalExecutor<'static>>,
    keys: Box<dyn KeyStore>,
) -> Result<Option<Pool>, StoreError> {
    let Some(direct) = &config.direct else { return Ok(None) };
    let settings = Settings {
        api_id: direct.api_id,
        api_hash: direct.api_hash.clone(),
        bot_token: config.bot_token.clone(),
        keys: direct.server_keys.clone(),
        dcs: DcTable::new(direct.dc_overrides.clone()),
        stored_keys: store.dc_keys()?,
        home: store.home_dc()?,
    };
    Ok(Some(Pool::new(settings, ex.clone(), keys)))
}

/// Keys and the home DC go to the running bot's store (held weakly: the app owns the sessions).
pub(crate) struct AppKeys(pub(crate) Weak<App>);

impl AppKeys {
    fn with(&self, what: &str, write: impl FnOnce(&Store) -> Result<(), StoreError>) {
        if let Some(app) = self.0.upgrade()
            && let Err(e) = write(&app.store)
        {
            log::error!("cannot store {what}: {e}");
        }
    }
}

impl KeyStore for AppKeys {
    fn save_key(&self, dc: i32, key: &[u8; 256]) {
        self.with("an MTProto auth key", |s| s.save_dc_key(dc, key));
    }

    fn forget_key(&self, dc: i32) {
        self.with("a forgotten MTProto auth key", |s| s.forget_dc_key(dc));
    }

    fn save_home(&self, dc: i32) {
        self.with("the home DC", |s| s.set_home_dc(dc));
    }
}

/// `--check` owns its store: keys it makes are kept for the bot's next start.
impl KeyStore for Store {
    fn save_key(&self, dc: i32, key: &[u8; 256]) {
        if let Err(e) = self.save_dc_key(dc, key) {
            log::error!("cannot store an MTProto auth key: {e}");
        }
    }

    fn forget_key(&self, dc: i32) {
        if let Err(e) = self.forget_dc_key(dc) {
            log::error!("cannot forget an MTProto auth key: {e}");
        }
    }

    fn save_home(&self, dc: i32) {
        if let Err(e) = self.set_home_dc(dc) {
            log::error!("cannot store the home DC: {e}");
        }
    }
}

/// `--check` in direct mode: logs in over MTProto; the bot's home DC, or why not.
pub async fn check(config: &Config, ex: &Rc<LocalExecutor<'static>>) -> Result<Option<i32>, String> {
    if config.direct.is_none() {
        return Ok(None);
    }
    let store = Store::open(&config.data_dir).map_err(|e| format!("cannot open the database: {e}"))?;
    let read = Store::open(&config.data_dir).map_err(|e| format!("cannot open the database: {e}"))?;
    let Some(pool) = pool(config, &read, ex, Box::new(store)).map_err(|e| e.to_string())? else { return Ok(None) };
    pool.check().await.map(Some).map_err(|e| login_error(&e))
}

/// What an MTProto login failure means for the operator.
fn login_error(e: &InvokeError) -> String {
    match e {
        InvokeError::Rpc { name, .. } if name.starts_with("API_ID") => {
            format!("telegram refused TELEGRAM_API_ID / TELEGRAM_API_HASH ({e}): copy both from my.telegram.org")
        }
        InvokeError::Rpc { name, .. } if name.starts_with("ACCESS_TOKEN") || name.starts_with("AUTH_KEY") => {
            format!("telegram refused the MTProto login with BOT_TOKEN ({e})")
        }
        _ => format!("cannot log in over MTProto: {e}"),
    }
}

/// Gives the running bot's sessions its store, and closes their idle connections from now on
/// (called by the cleanup schedule).
pub(crate) fn attach(app: &Rc<App>) {
    if let Some(pool) = app.files.direct() {
        pool.set_key_store(Box::new(AppKeys(Rc::downgrade(app))));
    }
}

/// Closes idle MTProto connections; how many stay open.
pub(crate) fn sweep(app: &App) -> usize {
    app.files.direct().map_or(0, |pool| pool.sweep(Instant::now()))
}
