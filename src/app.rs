//! The running bot: builds the shared state, checks the token with `getMe`, binds the HTTP
//! server, spawns the poller, and owns shutdown on SIGINT/SIGTERM. All on one `LocalExecutor`.

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_net::TcpListener;
use frankenstein::AsyncTelegramApi;
use frankenstein::methods::{DeleteWebhookParams, SetMyCommandsParams};
use frankenstein::types::BotCommand;
use futures_lite::StreamExt;
use smol::LocalExecutor;

use crate::config::Config;
use crate::links::Signer;
use crate::memory::stream_tracker::StreamTracker;
use crate::shutdown::{self, Shutdown};
use crate::store::{Store, StoreError};
use crate::telegram::poller;
use crate::telegram::transport::{TelegramError, Transport};
use crate::{bot, http};

/// Shared state of the running bot. Owned by one thread; handed around as `Rc<App>`.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub api: Transport,
    pub signer: Signer,
    /// Public URL links start with (`BASE_URL`, or localhost with the bound port).
    pub base_url: String,
    /// The bot's `@username`, from `getMe`.
    pub username: String,
    /// Active response bodies (fixed capacity: `MAX_CONNECTIONS`).
    pub streams: Arc<StreamTracker>,
    pub started: Instant,
}

/// Why the bot could not start or stopped with an error.
#[derive(Debug)]
pub enum StartError {
    Store(StoreError),
    Secret(String),
    Telegram(TelegramError),
    Bind(SocketAddr, std::io::Error),
    Signals(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Store(e) => write!(f, "cannot open the database: {e}"),
            StartError::Secret(e) => write!(f, "cannot load the link secret: {e}"),
            StartError::Telegram(TelegramError::Api { code: 401, .. }) => {
                write!(f, "telegram rejected BOT_TOKEN (401 Unauthorized): check the token from @BotFather")
            }
            StartError::Telegram(TelegramError::Api { code: 404, .. }) => {
                write!(f, "telegram does not know BOT_TOKEN (404 Not Found): check the token and TELEGRAM_API_URL")
            }
            StartError::Telegram(e) => write!(f, "getMe failed: {e}"),
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e} (set BIND_ADDRESS/PORT)"),
            StartError::Signals(e) => write!(f, "cannot install signal handlers: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// `--check`: validate the token against Telegram and return the bot's username.
pub async fn check(config: &Config) -> Result<String, StartError> {
    let api =
        Transport::new(&config.api_url, &config.bot_token, config.poll_timeout_secs).map_err(StartError::Telegram)?;
    let me = api.get_me().await.map_err(StartError::Telegram)?;
    Ok(me.result.username.unwrap_or(me.result.first_name))
}

/// Loads `LINK_SECRET`, or the secret file in `DATA_DIR`, creating it (mode 0600) on first run.
fn link_secret(config: &Config) -> Result<Vec<u8>, String> {
    if let Some(secret) = &config.link_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = config.data_dir.join("link_secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(format!(
                "{} is too short; delete it to make a new one (old links stop working)",
                path.display()
            ));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(format!("{}: {e}", path.display())),
        Err(_) => {}
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| "the system random generator failed".to_owned())?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, hex.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    log::info!("created a new link secret in {}", path.display());
    Ok(hex.into_bytes())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Calls `getMe` until it answers: network errors are retried with backoff (the bot may start
/// before the network), an answer that rejects the token is fatal.
async fn get_me(api: &Transport) -> Result<frankenstein::types::User, StartError> {
    let mut backoff = Duration::ZERO;
    loop {
        match api.get_me().await {
            Ok(me) => return Ok(me.result),
            Err(e @ TelegramError::Api { code, .. }) if code != 429 && code < 500 => {
                return Err(StartError::Telegram(e));
            }
            Err(e) => {
                backoff = poller::next_backoff(backoff);
                log::warn!("getMe failed: {e}; retrying in {}s", backoff.as_secs());
                async_io::Timer::after(backoff).await;
            }
        }
    }
}

/// Runs the bot until SIGINT or SIGTERM.
pub async fn run(ex: Rc<LocalExecutor<'static>>, config: Config) -> Result<(), StartError> {
    let store = Store::open(&config.data_dir).map_err(StartError::Store)?;
    let signer = Signer::new(&link_secret(&config).map_err(StartError::Secret)?);
    let api =
        Transport::new(&config.api_url, &config.bot_token, config.poll_timeout_secs).map_err(StartError::Telegram)?;
    let me = get_me(&api).await?;
    let username = me.username.clone().unwrap_or_else(|| me.first_name.clone());
    log::info!("telegram: logged in as @{username}");
    if let Err(e) = api.delete_webhook(&DeleteWebhookParams::builder().build()).await {
        log::warn!("deleteWebhook failed: {e}");
    }
    let commands = SetMyCommandsParams::builder()
        .commands(
            bot::handlers::command_list()
                .into_iter()
                .map(|(c, d)| BotCommand::builder().command(c).description(d).build())
                .collect::<Vec<_>>(),
        )
        .build();
    if let Err(e) = api.set_my_commands(&commands).await {
        log::warn!("setMyCommands failed: {e}");
    }

    let addr = SocketAddr::new(config.bind_address, config.port);
    let listener = TcpListener::bind(addr).await.map_err(|e| StartError::Bind(addr, e))?;
    let local = listener.local_addr().map_err(|e| StartError::Bind(addr, e))?;
    let mut signals = async_signal::Signals::new([async_signal::Signal::Term, async_signal::Signal::Int])
        .map_err(StartError::Signals)?;

    let base_url = config.base_url.clone().unwrap_or_else(|| format!("http://localhost:{}", local.port()));
    let streams = StreamTracker::new(config.max_connections);
    let app = Rc::new(App { config, store, api, signer, base_url, username, streams, started: Instant::now() });
    let (trigger, shutdown) = shutdown::channel();
    log::info!("listening on http://{local}");
    log::info!(
        "links: {}/dl/<token>, expiry {}",
        app.base_url,
        app.config.link_expiry.map_or("never".into(), |d| crate::units::human_duration(d.as_secs()))
    );

    let server = ex.spawn(http::server::run(ex.clone(), app.clone(), listener, shutdown.clone()));
    let poller = ex.spawn(poll(app.clone(), shutdown.clone()));

    let signal = signals.next().await;
    log::info!("shutting down ({})", signal_name(signal));
    trigger.fire();
    // A second signal exits at once.
    ex.spawn(async move {
        if signals.next().await.is_some() {
            log::warn!("second signal: exiting now");
            std::process::exit(130);
        }
    })
    .detach();
    poller.await;
    server.await;
    log::info!("stopped");
    Ok(())
}

fn signal_name(signal: Option<std::io::Result<async_signal::Signal>>) -> &'static str {
    match signal {
        Some(Ok(async_signal::Signal::Term)) => "SIGTERM",
        Some(Ok(async_signal::Signal::Int)) => "SIGINT",
        _ => "signal",
    }
}

async fn poll(app: Rc<App>, shutdown: Shutdown) {
    poller::run(&app.api, &app.store, app.config.poll_timeout_secs, &shutdown, async |update| {
        bot::handlers::handle(&app, update).await;
    })
    .await;
}
