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
use crate::telegram::files::Files;

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
            && let Err(e) = write(&app.core.store)
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
pub async fn check(config: &Config, ex: &Rc<LocalExecutor<'static>>) -> Result<Option<i32>, LoginError> {
    if config.direct.is_none() {
        return Ok(None);
    }
    let store = Store::open(&config.data_dir).map_err(LoginError::Open)?;
    let read = Store::open(&config.data_dir).map_err(LoginError::Open)?;
    let Some(pool) = pool(config, &read, ex, Box::new(store)).map_err(LoginError::Keys)? else { return Ok(None) };
    pool.check().await.map(Some).map_err(LoginError::Login)
}

/// Why `--check` could not log in over MTProto.
#[derive(Debug)]
pub enum LoginError {
    /// The database did not open.
    Open(StoreError),
    /// The stored auth keys could not be read.
    Keys(StoreError),
    /// Telegram or the connection refused the login.
    Login(InvokeError),
}

/// What an MTProto login failure means for the operator.
impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Open(e) => write!(f, "cannot open the database: {e}"),
            LoginError::Keys(e) => write!(f, "{e}"),
            LoginError::Login(e @ InvokeError::Rpc { name, .. }) if name.starts_with("API_ID") => {
                write!(f, "telegram refused TELEGRAM_API_ID / TELEGRAM_API_HASH ({e}): copy both from my.telegram.org")
            }
            LoginError::Login(e @ InvokeError::Rpc { name, .. })
                if name.starts_with("ACCESS_TOKEN") || name.starts_with("AUTH_KEY") =>
            {
                write!(f, "telegram refused the MTProto login with BOT_TOKEN ({e})")
            }
            LoginError::Login(e) => write!(f, "cannot log in over MTProto: {e}"),
        }
    }
}

impl std::error::Error for LoginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoginError::Open(e) | LoginError::Keys(e) => Some(e),
            LoginError::Login(e) => Some(e),
        }
    }
}

/// Gives the running bot's sessions its store, and closes their idle connections from now on
/// (called by the cleanup schedule).
pub(crate) fn attach(app: &Rc<App>) {
    if let Some(pool) = app.core.files.direct() {
        pool.set_key_store(Box::new(AppKeys(Rc::downgrade(app))));
    }
}

/// Closes idle MTProto connections; how many stay open.
pub(crate) fn sweep(files: &Files) -> usize {
    files.direct().map_or(0, |pool| pool.sweep(Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_login_says_what_to_fix_and_keeps_the_rpc_error_as_its_source() {
        use std::error::Error;
        let rpc = InvokeError::Rpc { code: 400, name: "API_ID_INVALID".into(), value: None };
        let e = LoginError::Login(rpc.clone());
        assert!(
            e.to_string().starts_with("telegram refused TELEGRAM_API_ID / TELEGRAM_API_HASH (rpc error 400"),
            "{e}"
        );
        assert!(e.source().and_then(|s| s.downcast_ref::<InvokeError>()) == Some(&rpc));
        assert_eq!(LoginError::Login(InvokeError::Timeout).to_string(), "cannot log in over MTProto: timed out");
    }
}
