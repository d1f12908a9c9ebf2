//! Runs the real `streambot` binary for integration tests: clean environment, captured
//! output lines, the address it reports listening on, signals and /proc probes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Most output lines kept per process; later lines are dropped.
pub const MAX_LINES: usize = 100_000;
/// How long [`BotProcess::start`] waits for the listening line.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The marker [`BotProcess::start`] looks for in the output.
pub const LISTEN_MARKER: &str = "listening on http://";
const BIN: &str = env!("CARGO_BIN_EXE_streambot");

/// The binary under test: `STREAMBOT_TEST_BIN` (a release build, to take figures with the
/// shipped profile; tests of the test hooks need the default) or the one cargo built.
fn bin() -> String {
    std::env::var("STREAMBOT_TEST_BIN").unwrap_or_else(|_| BIN.to_owned())
}

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    closed_streams: usize,
}

#[derive(Default)]
struct Output {
    lines: Mutex<Lines>,
    cond: Condvar,
}

impl Output {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, Lines>, dur: Duration) -> MutexGuard<'a, Lines> {
        match self.cond.wait_timeout(guard, dur) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        }
    }
}

/// A running `streambot` child process; killed and reaped on drop.
pub struct BotProcess {
    child: Mutex<Child>,
    pid: u32,
    output: Arc<Output>,
    addr: Option<SocketAddr>,
    _temp: Option<TempDir>,
}

impl BotProcess {
    /// Spawns the binary with `envs` (plus PATH and HOME) and waits up to 20 s for
    /// `listening on http://ADDR:PORT` and for readiness ([`BotProcess::wait_ready`]); panics with
    /// the collected output otherwise.
    pub fn start(envs: &[(&str, String)]) -> BotProcess {
        let bot = BotProcess::start_listening(envs);
        if !bot.wait_ready(START_TIMEOUT) {
            panic!("streambot did not log in to telegram within {START_TIMEOUT:?}\n--- output ---\n{}", bot.output());
        }
        bot
    }

    /// Waits until `/health` answers 200, which it does once the bot is logged in to Telegram
    /// (503 before): readiness as the bot reports it to monitors, not a log line.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let head = b"GET /health HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n";
        while Instant::now() < deadline {
            if super::raw_http::send(self.addr(), head).is_ok_and(|r| r.status == 200) {
                return true;
            }
            if self.try_wait().is_some() {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Like [`BotProcess::start`], but returns once the HTTP side listens, logged in or not.
    pub fn start_listening(envs: &[(&str, String)]) -> BotProcess {
        BotProcess::wait_listening(BotProcess::launch(&[], envs))
    }

    /// Like [`BotProcess::start_listening`] for another build of the binary: `command` is the
    /// program and its first arguments (`["qemu-arm-static", "dist/streambot-linux-armv7"]`).
    pub fn start_program_listening(command: &[&str], envs: &[(&str, String)]) -> BotProcess {
        BotProcess::wait_listening(BotProcess::launch_program(command, &[], envs))
    }

    /// Like [`BotProcess::spawn_raw`] for another build of the binary (see above).
    pub fn spawn_program(command: &[&str], args: &[&str], envs: &[(&str, String)]) -> BotProcess {
        BotProcess::launch_program(command, args, envs)
    }

    fn wait_listening(mut bot: BotProcess) -> BotProcess {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut scanned = 0;
        loop {
            let found = {
                let g = bot.output.lock();
                let found = g.lines[scanned..].iter().find_map(|line| parse_listen_line(line));
                scanned = g.lines.len();
                found
            };
            match found {
                Some(Ok(addr)) => {
                    bot.addr = Some(addr);
                    return bot;
                }
                Some(Err(line)) => panic!(
                    "streambot: cannot parse the listening address in {line:?}\n--- output ---\n{}",
                    bot.output()
                ),
                None => {}
            }
            if let Some(status) = bot.try_wait() {
                bot.wait_streams_closed(Duration::from_secs(2));
                let late = bot.output.lock().lines[scanned..].iter().find_map(|line| parse_listen_line(line));
                if let Some(Ok(addr)) = late {
                    bot.addr = Some(addr);
                    return bot;
                }
                panic!("streambot exited ({status}) before listening\n--- output ---\n{}", bot.output());
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "streambot did not print {LISTEN_MARKER:?} within {START_TIMEOUT:?}\n--- output ---\n{}",
                    bot.output()
                );
            }
            let g = bot.output.lock();
            if g.lines.len() == scanned {
                drop(bot.output.wait(g, (deadline - now).min(Duration::from_millis(50))));
            }
        }
    }

    /// Spawns the binary with `args` and `envs` without waiting for anything (for
    /// `--check`, `--version` or bad configurations); see [`BotProcess::wait_exit`].
    pub fn spawn_raw(args: &[&str], envs: &[(&str, String)]) -> BotProcess {
        BotProcess::launch(args, envs)
    }

    fn launch(args: &[&str], envs: &[(&str, String)]) -> BotProcess {
        BotProcess::launch_program(&[&bin()], args, envs)
    }

    fn launch_program(command: &[&str], args: &[&str], envs: &[(&str, String)]) -> BotProcess {
        let mut cmd = Command::new(command[0]);
        cmd.args(&command[1..]).args(args).env_clear();
        for key in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        // Events are logged at debug under the target `event`; tests wait on them whatever
        // else the log filter says.
        cmd.env("RUST_LOG", "info,event=debug");
        for (key, value) in envs {
            match *key {
                "RUST_LOG" => cmd.env(key, format!("{value},event=debug")),
                _ => cmd.env(key, value),
            };
        }
        let data_dir = envs.iter().find(|(key, _)| *key == "DATA_DIR").map(|(_, value)| PathBuf::from(value));
        let temp = match data_dir {
            Some(_) => None,
            None => Some(TempDir::new("bot")),
        };
        let dir = match (&data_dir, &temp) {
            (Some(dir), _) => dir.clone(),
            (None, Some(temp)) => temp.path().to_path_buf(),
            (None, None) => unreachable!("a temp dir exists when DATA_DIR is not given"),
        };
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        cmd.current_dir(&dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", command.join(" ")));
        let output = Arc::new(Output::default());
        let echo = std::env::var_os("STREAMBOT_TEST_ECHO").is_some();
        if let Some(stdout) = child.stdout.take() {
            spawn_pump("stdout", stdout, Arc::clone(&output), echo);
        }
        if let Some(stderr) = child.stderr.take() {
            spawn_pump("stderr", stderr, Arc::clone(&output), echo);
        }
        BotProcess { pid: child.id(), child: Mutex::new(child), output, addr: None, _temp: temp }
    }

    fn lock_child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn try_wait(&self) -> Option<ExitStatus> {
        self.lock_child().try_wait().ok().flatten()
    }

    /// Waits until both output streams reached EOF or `timeout` passed.
    fn wait_streams_closed(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut g = self.output.lock();
        while g.closed_streams < 2 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            g = self.output.wait(g, deadline - now);
        }
    }

    /// Waits up to `timeout` for the process to exit; then also waits (up to 2 s) for the
    /// rest of its output. `None` if it is still running.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                self.wait_streams_closed(Duration::from_secs(2));
                return Some(status);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            thread::sleep((deadline - now).min(Duration::from_millis(20)));
        }
    }

    /// The address from the listening line; panics for a process from [`BotProcess::spawn_raw`].
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("BotProcess::addr: process was spawned without waiting for its address")
    }

    /// `http://ADDR:PORT` of the bot's HTTP server.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Process id of the child.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// All output lines so far (stdout and stderr interleaved as read), joined by `\n`.
    pub fn output(&self) -> String {
        self.output.lock().lines.join("\n")
    }

    /// All output lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.output.lock().lines.clone()
    }

    /// First output line for which `pred` holds, already printed or arriving before `timeout`.
    fn wait_for_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut scanned = 0;
        let mut g = self.output.lock();
        loop {
            if let Some(line) = g.lines[scanned..].iter().find(|l| pred(l)) {
                return Some(line.clone());
            }
            scanned = g.lines.len();
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            g = self.output.wait(g, deadline - now);
        }
    }

    /// The first `event=<name>` line (see `src/event.rs`) carrying every `key=value` of `fields`,
    /// already logged or arriving before `timeout`. The harness lets `event=debug` through.
    pub fn wait_for_event(&self, timeout: Duration, name: &str, fields: &[(&str, &str)]) -> Option<String> {
        self.wait_for_line(timeout, |line| is_event(line, name, fields))
    }

    /// Number of `event=<name>` lines so far carrying every `key=value` of `fields`.
    pub fn count_events(&self, name: &str, fields: &[(&str, &str)]) -> usize {
        self.output.lock().lines.iter().filter(|l| is_event(l, name, fields)).count()
    }

    /// Number of output lines so far containing `substr`.
    pub fn count_lines(&self, substr: &str) -> usize {
        self.output.lock().lines.iter().filter(|l| l.contains(substr)).count()
    }

    /// Sends a signal by name or number (`"TERM"`, `"HUP"`, `"9"`) with `kill`.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(e) = status {
            panic!("cannot run kill -{sig} {}: {e}", self.pid);
        }
    }

    /// Number of threads of the process (entries of /proc/PID/task; 0 if gone).
    pub fn thread_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid)).map(|dir| dir.count()).unwrap_or(0)
    }

    /// Resident set size in KiB (VmRSS of /proc/PID/status; 0 if gone).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&self) {
        let mut child = self.lock_child();
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Parses the address after [`LISTEN_MARKER`]; `None` if the line has no marker,
/// `Err(line)` if the address does not parse.
fn parse_listen_line(line: &str) -> Option<Result<SocketAddr, String>> {
    let (_, rest) = line.split_once(LISTEN_MARKER)?;
    let token = rest.split_whitespace().next().unwrap_or("");
    let token = token.trim_end_matches(['/', ',', '.', ';', ')', '"', '\'']);
    let addr =
        token.parse::<SocketAddr>().ok().or_else(|| token.to_socket_addrs().ok().and_then(|mut addrs| addrs.next()));
    Some(addr.ok_or_else(|| line.to_string()))
}

fn spawn_pump(name: &str, src: impl Read + Send + 'static, output: Arc<Output>, echo: bool) {
    let spawned = thread::Builder::new().name(format!("bot-{name}")).spawn(move || pump(src, &output, echo));
    if let Err(e) = spawned {
        panic!("cannot start the {name} reader: {e}");
    }
}

fn pump(src: impl Read, output: &Output, echo: bool) {
    let mut reader = BufReader::new(src);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
        if echo {
            eprintln!("[streambot] {line}");
        }
        let mut g = output.lock();
        if g.lines.len() < MAX_LINES {
            g.lines.push(line);
        }
        output.cond.notify_all();
    }
    output.lock().closed_streams += 1;
    output.cond.notify_all();
}

/// Creates a fresh, unique directory under the system temp dir (not removed automatically;
/// see [`TempDir`] for that).
pub fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let tag: String = tag.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let path = std::env::temp_dir().join(format!("streambot-{tag}-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    path
}

/// A unique temporary directory, removed with its contents on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates the directory (see [`temp_dir`]).
    pub fn new(tag: &str) -> TempDir {
        TempDir { path: temp_dir(tag) }
    }

    /// Path of the directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Whether `line` is the event `name` with every `key=value` of `fields` (`src/event.rs` writes
/// `event=<name> key=value …` under the log target `event`).
fn is_event(line: &str, name: &str, fields: &[(&str, &str)]) -> bool {
    let Some((_, rest)) = line.split_once(" event: ") else { return false };
    let mut words = rest.split(' ');
    if words.next().and_then(|w| w.strip_prefix("event=")) != Some(name) {
        return false;
    }
    let pairs: Vec<(&str, &str)> = words.filter_map(|w| w.split_once('=')).collect();
    fields.iter().all(|f| pairs.contains(f))
}
