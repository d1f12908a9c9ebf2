//! The `streambot` command: parse arguments, load the config, start the logger, run the bot on one
//! `LocalExecutor`, and turn the outcome into an exit code.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use smol::LocalExecutor;
use streambot::config::{self, Config, VARIABLES};
use streambot::{logger, run};

fn help() -> String {
    let mut out = format!(
        "streambot {}\nTurns files sent to a Telegram bot into HTTP download links.\n\nUSAGE:\n    streambot [--check | --healthcheck | --version | --help]\n\nOPTIONS:\n    --check        validate the configuration, DATA_DIR, PORT and getMe, print what the bot would run with; exit 2 if it could not start\n    --healthcheck  GET /health of the running bot on BIND_ADDRESS/PORT (reads nothing else); exit 0 on 200, else 1\n    --version      print the version and exit\n    --help         print this help and exit\n\nENVIRONMENT (also read from ./.env):\n",
        streambot::version()
    );
    for v in VARIABLES {
        out.push_str(&format!("    {:<24} {} [default: {}]\n", v.name, v.help, v.default));
    }
    out
}

/// `--healthcheck`: a scratch image has no curl, so the binary asks its own `/health` (blocking
/// std I/O, 5 s deadlines). A wildcard bind address is reached on loopback.
fn healthcheck() -> ExitCode {
    // Only the address: a probe must not fail over BOT_TOKEN or any other variable.
    let address = config::load_dotenv().and_then(|()| config::listen_address(|name| std::env::var(name).ok()));
    let (bind_address, port) = match address {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            // Docker reserves exit code 2 of a HEALTHCHECK; unhealthy is 1.
            return ExitCode::FAILURE;
        }
    };
    let ip = match bind_address {
        ip if ip.is_unspecified() && ip.is_ipv6() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, port);
    match health_status(addr) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("unhealthy: GET http://{addr}/health answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: GET http://{addr}/health failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The status code of `GET /health` at `addr`.
fn health_status(addr: SocketAddr) -> std::io::Result<u16> {
    let deadline = Duration::from_secs(5);
    let mut conn = TcpStream::connect_timeout(&addr, deadline)?;
    conn.set_read_timeout(Some(deadline))?;
    conn.set_write_timeout(Some(deadline))?;
    write!(conn, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        match conn.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    // "HTTP/1.1 200 OK": the code is bytes 9..12 (RFC 9112 section 4).
    let line = std::str::from_utf8(&head[..got]).unwrap_or("");
    line.get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad answer '{}'", line.trim())))
}

fn main() -> ExitCode {
    // Before any thread exists, so the arena setting covers them all.
    streambot::tune_allocator();
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("--version" | "-V") => {
            println!("streambot {}", streambot::version());
            return ExitCode::SUCCESS;
        }
        Some("--help" | "-h") => {
            print!("{}", help());
            return ExitCode::SUCCESS;
        }
        None | Some("--check" | "--healthcheck") => {}
        Some(other) => {
            eprintln!("error: unknown argument '{other}': expected --check, --healthcheck, --version or --help");
            return ExitCode::from(2);
        }
    }
    if arg.as_deref() == Some("--healthcheck") {
        return healthcheck();
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sink = config.log_file.clone().map(|path| logger::FileSink { path, max_bytes: config.log_file_max_bytes });
    if let Err(e) = logger::init(sink) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    streambot::panics::install_hook();
    for warning in config::misspelt_variables() {
        log::warn!("{warning}");
    }
    let ex = Rc::new(LocalExecutor::new());
    if arg.as_deref() == Some("--check") {
        return match streambot::executor::block_on(&ex, run::check(&config, &ex)) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code())
            }
        };
    }
    log::info!("streambot {} starting; data in {}", streambot::version(), config.data_dir.display());
    match streambot::executor::block_on(&ex, run::run(ex.clone(), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            // A second instance on the same DATA_DIR or a port in use is a configuration
            // error, like a bad variable: systemd does not restart on 2.
            ExitCode::from(e.exit_code())
        }
    }
}
