//! Start-up, `--check`, the poll loop and shutdown: builds [`App`] from the config (after
//! `getMe`), binds the HTTP server, spawns the poller and the cleanup tasks, and on SIGINT/SIGTERM
//! stops them in order, drains downloads, flushes bandwidth and checkpoints the store.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_net::TcpListener;
use frankenstein::AsyncTelegramApi;
use frankenstein::methods::{DeleteWebhookParams, SetMyCommandsParams};
use frankenstein::types::{BotCommand, BotCommandScope, BotCommandScopeChat, ChatId};
use futures_lite::StreamExt;
use smol::LocalExecutor;

use crate::app::{App, Core, Login};
use crate::config::Config;
use crate::links::Signer;
use crate::lock::{self, DataLock, LockError};
use crate::memory::cleanup;
use crate::mtproto::pool::NoKeys;
use crate::shutdown::{self, Shutdown};
use crate::store::{Store, StoreError};
use crate::telegram::files::Files;
use crate::telegram::poller;
use crate::telegram::transport::{self, TelegramError, Transport};
use crate::{bot, http};

/// Why the bot could not start or stopped with an error.
#[derive(Debug)]
pub enum StartError {
    Store(StoreError),
    Secret(crate::secret::SecretError),
    Telegram(TelegramError),
    Bind(SocketAddr, std::io::Error),
    Signals(std::io::Error),
    /// Another instance runs on this `DATA_DIR`.
    Locked(LockError),
    /// `TELEGRAM_CA_FILE` cannot be read or holds no usable certificate.
    CaFile(std::path::PathBuf, transport::CaFileError),
    /// `TELEGRAM_LOCAL_FILES` is not a directory we can resolve.
    LocalFiles(std::path::PathBuf, std::io::Error),
    /// Direct mode cannot log in over MTProto (`--check`).
    Direct(crate::sessions::LoginError),
    /// `DATA_DIR` cannot be created or written (`--check`).
    DataDir(std::path::PathBuf, std::io::Error),
}

impl StartError {
    /// The process exit code: 2 for a configuration a restart cannot fix (systemd's
    /// `RestartPreventExitStatus=2` stops retrying), 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Locked(_) | StartError::DataDir(..) => 2,
            StartError::Bind(_, e) if bind_is_configuration(e) => 2,
            _ => 1,
        }
    }
}

/// A port taken, an address not on this host, or a privileged port: another PORT/BIND_ADDRESS
/// fixes it, waiting does not.
fn bind_is_configuration(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{AddrInUse, AddrNotAvailable, PermissionDenied};
    matches!(e.kind(), AddrInUse | AddrNotAvailable | PermissionDenied)
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
            StartError::Telegram(TelegramError::Certificate(e)) => write!(
                f,
                "getMe failed: the TLS certificate of TELEGRAM_API_URL is not trusted ({e}); for a local Bot API \
                 server or a TLS-inspecting proxy, set TELEGRAM_CA_FILE to the PEM file of the CA that signed it"
            ),
            StartError::Telegram(e) => write!(f, "getMe failed: {e}"),
            StartError::CaFile(path, e) => {
                write!(f, "invalid TELEGRAM_CA_FILE '{}': {e} (expected a PEM file of CA certificates)", path.display())
            }
            StartError::Bind(addr, e) if e.kind() == std::io::ErrorKind::AddrInUse => write!(
                f,
                "PORT {} is already in use on BIND_ADDRESS {}: stop what listens there, or set PORT to a free port ({e})",
                addr.port(),
                addr.ip()
            ),
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e} (set BIND_ADDRESS/PORT)"),
            StartError::DataDir(dir, e) => {
                write!(f, "DATA_DIR {} is not writable: {e} ({})", dir.display(), lock::ownership_fix(dir))
            }
            StartError::Signals(e) => write!(f, "cannot install signal handlers: {e}"),
            StartError::Locked(e) => write!(f, "{e}"),
            StartError::Direct(e) => write!(f, "direct mode: {e}"),
            StartError::LocalFiles(dir, e) => {
                write!(
                    f,
                    "invalid TELEGRAM_LOCAL_FILES '{}': {e} (expected the local Bot API server's directory)",
                    dir.display()
                )
            }
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Store(e) => Some(e),
            StartError::Telegram(e) => Some(e),
            StartError::Bind(_, e)
            | StartError::Signals(e)
            | StartError::LocalFiles(_, e)
            | StartError::DataDir(_, e) => Some(e),
            StartError::Locked(e) => Some(e),
            StartError::CaFile(_, e) => Some(e),
            StartError::Secret(e) => Some(e),
            StartError::Direct(e) => Some(e),
        }
    }
}

/// `--check`: validates the token against Telegram and says what the bot would run with.
pub async fn check(config: &Config, ex: &Rc<LocalExecutor<'static>>) -> Result<String, StartError> {
    let _lock = preflight(config)?;
    let api = transport(config)?;
    let me = api.get_me().await.map_err(StartError::Telegram)?;
    let username = me.result.username.unwrap_or(me.result.first_name);
    let mut report = check_report(config, &username);
    match crate::sessions::check(config, ex).await {
        Ok(Some(home)) => report.push_str(&format!("  MTProto        logged in as the bot, home DC {home}\n")),
        Ok(None) => {}
        Err(e) => return Err(StartError::Direct(e)),
    }
    Ok(report)
}

/// What would stop `run` before Telegram is asked: `DATA_DIR` writable and not locked by a
/// running instance, `PORT` free on `BIND_ADDRESS` (bound and let go at once). The lock is
/// held until the returned guard drops.
fn preflight(config: &Config) -> Result<DataLock, StartError> {
    data_dir_writable(&config.data_dir).map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
    let lock = DataLock::take(&config.data_dir).map_err(StartError::Locked)?;
    let addr = SocketAddr::new(config.bind_address, config.port);
    std::net::TcpListener::bind(addr).map_err(|e| StartError::Bind(addr, e))?;
    Ok(lock)
}

/// The Bot API client, trusting `TELEGRAM_CA_FILE` besides the bundled roots.
fn transport(config: &Config) -> Result<Transport, StartError> {
    let extra = match &config.ca_file {
        Some(path) => transport::read_ca_file(path).map_err(|e| StartError::CaFile(path.clone(), e))?,
        None => Vec::new(),
    };
    Transport::new(&config.api_url, &config.bot_token, config.poll_timeout_secs, extra).map_err(StartError::Telegram)
}

/// Whether the bot can write in `dir` (created if missing), probed with a file it removes.
fn data_dir_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".streambot-check");
    std::fs::write(&probe, b"ok")?;
    std::fs::remove_file(&probe)
}

/// The `--check` text once [`preflight`] passed: the settings a newcomer wants confirmed, then
/// warnings (pure).
fn check_report(config: &Config, username: &str) -> String {
    use crate::units::human_size;
    let base = config.base_url.clone().unwrap_or_else(|| format!("http://localhost:{}", config.port));
    let buttons = if crate::urls::button_url_allowed(&base) {
        "public: replies carry Download and Watch buttons"
    } else {
        "not public: links go in the reply text, Telegram shows no buttons for local addresses"
    };
    let admins = match config.admins.as_slice() {
        [] => "none (a user sends /id to the bot to learn the id that goes in ADMINS)".to_owned(),
        ids => ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    };
    let mode = match (&config.local_files, &config.direct) {
        (Some(dir), _) => format!(
            "local Bot API server, files read from {}, up to {}",
            dir.display(),
            human_size(config.file_size_limit())
        ),
        (None, Some(direct)) => format!(
            "direct: files read from Telegram's data centres (api_id {}), up to {} ({} from Premium senders)",
            direct.api_id,
            human_size(config.file_size_limit()),
            human_size(config.file_size_limit_for(true))
        ),
        (None, None) => format!("cloud Bot API, files up to {}", human_size(config.file_size_limit())),
    };
    let data = format!("{} (writable)", config.data_dir.display());
    let mut out = format!(
        "ok: @{username} via {}\n  BASE_URL       {base} ({buttons})\n  listens on     {}:{}\n  DATA_DIR       {data}\n  admins         {admins}\n  mode           {mode}\n  link expiry    {}\n  bandwidth      {}, {}\n  connections    {} ({} per address), {} requests/min per address\n",
        config.api_url,
        config.bind_address,
        config.port,
        config.link_expiry_text(),
        config.bandwidth_limit_text(),
        config.bandwidth_share_text(),
        config.max_connections,
        config.http.connections_per_ip,
        config.http.requests_per_minute,
    );
    if let Some(path) = config.base_url.as_deref().and_then(crate::urls::base_path) {
        out.push_str(&format!(
            "warning: BASE_URL has a path ({path}): links are {base}/dl/<token>/<name>, and streambot serves /dl/<token>/<name>, so the proxy in front must strip {path} before passing requests on\n"
        ));
    }
    out
}

/// Calls `getMe` until it answers: network errors are retried with backoff (the bot may start
/// before the network, and links already made are served meanwhile; `/health` says Telegram is
/// unreachable), an answer that rejects the token is fatal.
async fn log_in(app: &App) -> Result<(), StartError> {
    let mut backoff = Duration::ZERO;
    loop {
        match app.core.api.get_me().await {
            Ok(me) => {
                let _ = app.bot.me.set((me.result.id, me.result.first_name.clone()));
                let username = me.result.username.unwrap_or(me.result.first_name);
                log::info!("telegram: logged in as @{username}");
                let _ = app.bot.username.set(username);
                app.bot.login.set(Login::LoggedIn);
                app.ops.log_memory("bot started");
                return Ok(());
            }
            Err(e @ TelegramError::Api { code, .. }) if code != 429 && code < 500 => {
                return Err(StartError::Telegram(e));
            }
            // A refused certificate stays refused: stop with one line saying so, not retry forever.
            Err(e @ TelegramError::Certificate(_)) => return Err(StartError::Telegram(e)),
            Err(e) => {
                backoff = poller::next_backoff(backoff);
                log::warn!(
                    "getMe failed: {e}; retrying in {}s (links already made are served meanwhile)",
                    backoff.as_secs()
                );
                crate::event::emit(crate::event::Event::LoginRetry { secs: backoff.as_secs() });
                app.bot.login.set(Login::Retrying { at: crate::units::now_unix() + backoff.as_secs() });
                async_io::Timer::after(backoff).await;
            }
        }
    }
}

/// How start-up ended before the bot was logged in.
enum Interrupted {
    Signal(&'static str),
    Failed(StartError),
}

/// Opens what the bot runs on, binds the port, and builds the state (not logged in yet).
async fn open(ex: &Rc<LocalExecutor<'static>>, config: Config) -> Result<(App, TcpListener, SocketAddr), StartError> {
    let store = Store::open(&config.data_dir).map_err(StartError::Store)?;
    crate::secret::warn_if_shared(&config.data_dir.join(crate::store::DB_FILE));
    let signer = Signer::new(&crate::secret::link_secret(&config).map_err(StartError::Secret)?);
    let api = transport(&config)?;
    let addr = SocketAddr::new(config.bind_address, config.port);
    let listener = TcpListener::bind(addr).await.map_err(|e| StartError::Bind(addr, e))?;
    let local = listener.local_addr().map_err(|e| StartError::Bind(addr, e))?;
    let base_url = config.base_url.clone().unwrap_or_else(|| format!("http://localhost:{}", local.port()));
    let direct = crate::sessions::pool(&config, &store, ex, Box::new(NoKeys)).map_err(StartError::Store)?;
    let files = Files::with_direct(api, config.local_files.as_deref(), direct, ex.clone())
        .map_err(|e| StartError::LocalFiles(config.local_files.clone().unwrap_or_default(), e))?;
    Ok((App::new(config, store, signer, files, base_url), listener, local))
}

/// Runs the bot until SIGINT or SIGTERM. The HTTP side is up first (existing links work while
/// Telegram is unreachable); updates are polled once `getMe` answered.
pub async fn run(ex: Rc<LocalExecutor<'static>>, config: Config) -> Result<(), StartError> {
    if let Some(mut m) = crate::memory::monitor::Monitor::new() {
        m.log("startup");
    }
    let _lock = DataLock::take(&config.data_dir).map_err(StartError::Locked)?;
    let mut signals = async_signal::Signals::new([async_signal::Signal::Term, async_signal::Signal::Int])
        .map_err(StartError::Signals)?;
    let (app, listener, local) = open(&ex, config).await?;
    let app = Rc::new(app);
    crate::sessions::attach(&app);
    let (trigger, shutdown) = shutdown::channel();
    log::info!("listening on http://{local}");
    if app.core.config.direct_ignored {
        log::info!(
            "TELEGRAM_API_ID and TELEGRAM_API_HASH are set, and so is TELEGRAM_LOCAL_FILES: local mode (the pair is the local Bot API server's), not direct mode"
        );
        crate::event::emit(crate::event::Event::FilesMode { mode: "local" });
    }
    log::info!("links: {}/dl/<token>/<name>, expiry {}", app.core.base_url, app.core.config.link_expiry_text());
    let server = ex.spawn(http::server::run(ex.clone(), app.clone(), listener, shutdown.clone()));
    let logged_in = futures_lite::future::or(async { log_in(&app).await.map_err(Interrupted::Failed) }, async {
        Err(Interrupted::Signal(signal_name(signals.next().await)))
    })
    .await;
    if let Err(interrupted) = logged_in {
        trigger.fire();
        server.await;
        stop(&app);
        return match interrupted {
            Interrupted::Signal(name) => {
                log::info!("shut down ({name}) before telegram answered");
                Ok(())
            }
            Interrupted::Failed(e) => Err(e),
        };
    }
    announce(&app.core).await;
    bot::broadcast::resume(&app).await;
    let poller = ex.spawn(poll(ex.clone(), app.clone(), shutdown.clone()));
    let cleanups = cleanup::spawn_all(&ex, &app, &shutdown);
    app.ops.log_memory("web server started");

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
    // Returns once no update runs: each finished, or was cut and stays journaled for the next start.
    poller.await;
    server.await;
    for task in cleanups {
        task.await;
    }
    drain_streams(&app).await;
    stop(&app);
    Ok(())
}

/// Polling mode (no webhook) and the command menus: everyone's, and in each admin's chat the
/// admin commands too (`BotCommandScope::Chat`). Failures only cost those.
async fn announce(core: &Core) {
    if let Err(e) = core.api.delete_webhook(&DeleteWebhookParams::builder().build()).await {
        log::warn!("deleteWebhook failed: {e}");
    }
    let to_commands = |list: Vec<(&str, String)>| -> Vec<BotCommand> {
        list.into_iter().map(|(c, d)| BotCommand::builder().command(c).description(d).build()).collect()
    };
    let everyone = to_commands(bot::handlers::command_list());
    if let Err(e) = core.api.set_my_commands(&SetMyCommandsParams::builder().commands(everyone).build()).await {
        log::warn!("setMyCommands failed: {e}");
    }
    let mut admin_menu = bot::handlers::command_list();
    admin_menu.extend(bot::handlers::admin_command_list());
    for &admin in &core.config.admins {
        let Ok(chat) = i64::try_from(admin) else { continue };
        let scope = BotCommandScope::Chat(BotCommandScopeChat { chat_id: ChatId::Integer(chat) });
        let params = SetMyCommandsParams::builder().commands(to_commands(admin_menu.clone())).scope(scope).build();
        if let Err(e) = core.api.set_my_commands(&params).await {
            // Telegram refuses a chat the admin never opened with the bot ("chat not found").
            log::warn!("setMyCommands for admin {admin} failed: {e}");
        }
    }
}

/// The last steps once every task ended: bandwidth to the store, a checkpoint, the memory line.
fn stop(app: &App) {
    match app.serving.flush_bandwidth(&app.core.store, crate::units::now_unix()) {
        Ok(n) => log::info!("bandwidth: {} counted at shutdown", crate::units::human_size(n)),
        Err(e) => log::error!("cannot save the bandwidth counted since the last flush: {e}"),
    }
    if let Err(e) = app.core.store.checkpoint() {
        log::warn!("database checkpoint at shutdown failed: {e}");
    }
    app.ops.log_memory("shutdown");
    log::info!("stopped");
}

/// Lets running downloads finish for the grace period, then ends the rest and waits (briefly)
/// for their connections to let go.
async fn drain_streams(app: &App) {
    let grace = app.core.config.timers.shutdown_grace;
    let deadline = Instant::now() + grace;
    let step = Duration::from_millis(50);
    if app.serving.streams.active() > 0 {
        log::info!("waiting up to {}s for {} running downloads", grace.as_secs(), app.serving.streams.active());
        crate::event::emit(crate::event::Event::ShutdownDraining {
            downloads: app.serving.streams.active(),
            grace_secs: grace.as_secs(),
        });
    }
    while app.serving.streams.active() > 0 && Instant::now() < deadline {
        async_io::Timer::after(step).await;
    }
    let ended = app.serving.streams.end_all();
    if ended > 0 {
        log::warn!("ended {ended} downloads still running after the {}s grace period", grace.as_secs());
        let deadline = Instant::now() + Duration::from_secs(2);
        while app.serving.streams.active() > 0 && Instant::now() < deadline {
            async_io::Timer::after(step).await;
        }
    }
}

fn signal_name(signal: Option<std::io::Result<async_signal::Signal>>) -> &'static str {
    match signal {
        Some(Ok(async_signal::Signal::Term)) => "SIGTERM",
        Some(Ok(async_signal::Signal::Int)) => "SIGINT",
        _ => "signal",
    }
}

/// Runs the poller; each update is handled under its own panic catcher, so a panic costs that
/// update only.
async fn poll(ex: Rc<LocalExecutor<'static>>, app: Rc<App>, shutdown: Shutdown) {
    let handler: crate::telegram::dispatch::Handler = {
        let app = app.clone();
        Rc::new(move |update| {
            let app = app.clone();
            Box::pin(async move {
                let kind = bot::handlers::kind(&update);
                app.ops.panics.catch(crate::panics::Domain::Update, kind, bot::handlers::handle(&app, update)).await;
                app.bot.updates_handled.set(app.bot.updates_handled.get() + 1);
            })
        })
    };
    let overflow: crate::telegram::dispatch::Overflow = {
        let app = app.clone();
        Rc::new(move |chat, waiting| {
            let app = app.clone();
            Box::pin(async move {
                app.ops
                    .panics
                    .catch(
                        crate::panics::Domain::Update,
                        "slow-down note",
                        bot::handlers::slow_down(&app.core, chat, waiting),
                    )
                    .await;
            })
        })
    };
    let settings = poller::Settings {
        poll_timeout_secs: app.core.config.poll_timeout_secs,
        grace: app.core.config.timers.shutdown_grace,
        channel_posts: !app.core.config.channels.is_empty(),
    };
    poller::run(&app.core.api, &app.core.store, ex, settings, &shutdown, handler, overflow).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        let mut all = vec![("BOT_TOKEN", "1:abc")];
        all.extend_from_slice(vars);
        Config::from_lookup(|n| all.iter().rev().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())).unwrap()
    }

    #[test]
    fn check_refuses_a_data_dir_it_cannot_create_naming_data_dir_and_the_fix() {
        let file = std::env::temp_dir().join(format!("streambot-notadir-{}", std::process::id()));
        std::fs::write(&file, b"a file, not a directory").unwrap();
        let dir = file.join("data");
        let err = preflight(&config(&[("DATA_DIR", dir.to_str().unwrap()), ("PORT", "0")])).unwrap_err();
        let _ = std::fs::remove_file(&file);
        let text = err.to_string();
        assert_eq!(err.exit_code(), 2, "{text}");
        assert!(text.starts_with(&format!("DATA_DIR {} is not writable", dir.display())), "{text}");
        let (uid, gid) = lock::running_as().unwrap();
        assert!(text.contains(&format!("`chown {uid}:{gid} {}`", dir.display())), "{text}");
    }

    #[test]
    fn a_port_in_use_is_a_configuration_error_naming_port_and_bind_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port().to_string();
        let dir = std::env::temp_dir().join(format!("streambot-portcheck-{}", std::process::id()));
        let c = config(&[("DATA_DIR", dir.to_str().unwrap()), ("PORT", &port), ("BIND_ADDRESS", "127.0.0.1")]);
        let err = preflight(&c).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        let text = err.to_string();
        assert_eq!(err.exit_code(), 2, "{text}");
        assert!(text.starts_with(&format!("PORT {port} is already in use on BIND_ADDRESS 127.0.0.1")), "{text}");
    }

    #[test]
    fn check_says_what_the_bot_will_use() {
        let report = check_report(&config(&[]), "my_bot");
        for part in [
            "ok: @my_bot via https://api.telegram.org",
            "BASE_URL       http://localhost:8080 (not public",
            "listens on     0.0.0.0:8080",
            "DATA_DIR       ./data (writable)",
            "admins         none (a user sends /id",
            "cloud Bot API, files up to 20.0 MiB",
            "link expiry    1 day",
            "bandwidth      100 GB per month, 25% of it per user",
        ] {
            assert!(report.contains(part), "{part:?} missing from:\n{report}");
        }
        assert!(!report.contains("warning"), "{report}");
    }

    #[test]
    fn check_names_direct_mode_with_its_limits_and_no_hash() {
        let hash = "0123456789abcdef0123456789abcdef";
        let report = check_report(&config(&[("TELEGRAM_API_ID", "777"), ("TELEGRAM_API_HASH", hash)]), "my_bot");
        assert!(report.contains("mode           direct: files read from Telegram's data centres (api_id 777), up to 1.95 GiB (3.91 GiB from Premium senders)"), "{report}");
        assert!(!report.contains(hash), "{report}");
    }

    #[test]
    fn check_warns_about_a_base_url_path() {
        let c = config(&[("BASE_URL", "https://example.com/files"), ("ADMINS", "7 8")]);
        let report = check_report(&c, "b");
        assert!(report.contains("(public: replies carry Download"), "{report}");
        assert!(report.contains("admins         7, 8"), "{report}");
        assert!(report.contains("warning: BASE_URL has a path (/files)"), "{report}");
    }

    #[test]
    fn start_errors_that_wrap_an_error_give_it_as_their_source() {
        use std::error::Error;
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        for e in [
            StartError::DataDir("/data".into(), io()),
            StartError::Signals(io()),
            StartError::Telegram(TelegramError::Timeout),
            StartError::Store(StoreError::Create("/data".into(), io())),
        ] {
            assert!(e.source().is_some(), "{e:?}");
        }
    }
}
