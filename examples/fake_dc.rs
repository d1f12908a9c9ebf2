//! Stand-alone fake Telegram DCs (MTProto) for benchmarks of direct mode: listens on one address,
//! serves one generated document and prints a JSON line per DC and per file, then runs until killed.

#[path = "../tests/support/fake_dc/mod.rs"]
mod fake_dc;
#[allow(dead_code)]
#[path = "../tests/support/hub.rs"]
mod hub;
/// Where the fake DC finds the hub in the test tree.
mod support {
    pub(crate) use super::hub;
}

use fake_dc::{FakeDc, PUBLIC_KEY_PATH};
use serde_json::json;
use std::net::Ipv4Addr;

const USAGE: &str = "usage: fake_dc [--listen IPV4] [--dcs 1,2,3,4,5] [--token TOKEN] [--size BYTES] [--file-dc N] [--home-dc N]
  --listen   address to listen on and to name in help.getConfig (default 127.0.0.1)
  --dcs      DC ids, one listener each on an ephemeral port (default 1,2,3,4,5)
  --token    bot token the DCs log in (default $BOT_TOKEN, else 123456:fake)
  --size     size of the generated document served (default 314572800, 0 for none)
  --file-dc  DC storing the document (default 2)
  --home-dc  the bot's home DC: logins elsewhere answer USER_MIGRATE_X (default: any DC)
Prints {\"dc\",\"host\",\"port\",\"server_key\"} per DC and {\"file_id\",\"dc\",\"size\",...} per file, one JSON object a line.";

/// The command line, checked.
struct Args {
    listen: Ipv4Addr,
    dcs: Vec<i32>,
    token: String,
    size: u64,
    file_dc: i32,
    home_dc: Option<i32>,
}

fn parse() -> Result<Args, String> {
    let token = std::env::var("BOT_TOKEN").unwrap_or_else(|_| "123456:fake".to_string());
    let mut args = Args {
        listen: Ipv4Addr::LOCALHOST,
        dcs: vec![1, 2, 3, 4, 5],
        token,
        size: 300 << 20,
        file_dc: 2,
        home_dc: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag}: {what}, got {value:?}");
        match flag.as_str() {
            "--listen" => args.listen = value.parse().map_err(|_| bad("an IPv4 address"))?,
            "--dcs" => {
                args.dcs = value
                    .split(',')
                    .map(|d| d.trim().parse())
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad("DC ids like 1,2,3"))?
            }
            "--token" => args.token = value,
            "--size" => args.size = value.parse().map_err(|_| bad("a size in bytes"))?,
            "--file-dc" => args.file_dc = value.parse().map_err(|_| bad("a DC id"))?,
            "--home-dc" => args.home_dc = Some(value.parse().map_err(|_| bad("a DC id"))?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    for dc in [Some(args.file_dc), args.home_dc].into_iter().flatten() {
        if !args.dcs.contains(&dc) {
            return Err(format!("DC {dc} is not among --dcs {:?}", args.dcs));
        }
    }
    Ok(args)
}

fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("{}{USAGE}", if e.is_empty() { String::new() } else { format!("{e}\n") });
        std::process::exit(if e.is_empty() { 0 } else { 2 });
    });
    let dc = FakeDc::start_on(args.listen, &args.token, &args.dcs).unwrap_or_else(|e| {
        eprintln!("cannot listen on {}: {e}", args.listen);
        std::process::exit(1);
    });
    if let Some(home) = args.home_dc {
        dc.set_home_dc(home);
    }
    for &id in &args.dcs {
        println!(
            "{}",
            json!({"dc": id, "host": args.listen.to_string(), "port": dc.port(id), "server_key": PUBLIC_KEY_PATH})
        );
    }
    if args.size > 0 {
        let file = dc.add_generated_document(args.file_dc, args.size);
        let reference: String = file.file_reference.iter().map(|b| format!("{b:02x}")).collect();
        let line = json!({
            "file_id": file.bot_api_file_id(), "dc": file.dc_id, "size": file.size, "id": file.id,
            "access_hash": file.access_hash, "file_reference": reference,
            "dc_address": format!("{}={}:{}", file.dc_id, args.listen, dc.port(file.dc_id)),
        });
        println!("{line}");
    }
    // Serving happens on the fake's own threads; this one only keeps the process alive.
    loop {
        std::thread::park();
    }
}
