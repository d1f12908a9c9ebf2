//! The `streambot` command: parse arguments, load the config, start the logger, run the bot on one
//! `LocalExecutor`, and turn the outcome into an exit code.

use std::process::ExitCode;
use std::rc::Rc;

use smol::LocalExecutor;
use streambot::config::{Config, VARIABLES};
use streambot::{logger, run};

fn help() -> String {
    let mut out = format!(
        "streambot {}\nTurns files sent to a Telegram bot into HTTP download links.\n\nUSAGE:\n    streambot [--check | --version | --help]\n\nOPTIONS:\n    --check      validate the configuration, call getMe, print the bot's username and exit\n    --version    print the version and exit\n    --help       print this help and exit\n\nENVIRONMENT (also read from ./.env):\n",
        streambot::version()
    );
    for v in VARIABLES {
        out.push_str(&format!("    {:<24} {} [default: {}]\n", v.name, v.help, v.default));
    }
    out
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
        None | Some("--check") => {}
        Some(other) => {
            eprintln!("error: unknown argument '{other}': expected --check, --version or --help");
            return ExitCode::from(2);
        }
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
    let ex = Rc::new(LocalExecutor::new());
    if arg.as_deref() == Some("--check") {
        return match smol::block_on(ex.run(run::check(&config))) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    log::info!("streambot {} starting; data in {}", streambot::version(), config.data_dir.display());
    match smol::block_on(ex.run(run::run(ex.clone(), config))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            // A second instance on the same DATA_DIR is a usage error, like a bad variable.
            if matches!(e, run::StartError::Locked(_)) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
