//! Direct mode against the fake MTProto DCs: file bytes read over MTProto (the Bot API's getFile
//! never called), byte-exact, by range, through flood waits, migrations, lost logins and dropped
//! connections; keys kept across restarts.

use std::time::Duration;

use crate::harness::{World, bytes, get, request};
use crate::support::bot_process::BotProcess;
use crate::support::fake_dc::{DcFault, DcFile, FakeDc, PUBLIC_KEY_PATH};
use crate::support::fake_telegram::FileRef;

/// A made-up application id and hash: the fake DC does not check them.
const API_ID: &str = "123456";
const API_HASH: &str = "0123456789abcdef0123456789abcdef";

/// A world with fake DCs 2 and 4 beside the fake Bot API.
pub struct DirectWorld {
    pub world: World,
    pub dc: FakeDc,
}

impl DirectWorld {
    pub fn new(tag: &str) -> DirectWorld {
        DirectWorld { world: World::new(tag), dc: FakeDc::start_dcs(crate::harness::TOKEN, &[2, 4]) }
    }

    /// The bot in direct mode, its DCs pointed at the fakes.
    pub fn start_bot(&self, extra: &[(&str, &str)]) -> BotProcess {
        let dcs = format!("2=127.0.0.1:{},4=127.0.0.1:{}", self.dc.port(2), self.dc.port(4));
        let mut env = vec![
            ("TELEGRAM_API_ID", API_ID.to_string()),
            ("TELEGRAM_API_HASH", API_HASH.to_string()),
            ("TELEGRAM_SERVER_KEY", PUBLIC_KEY_PATH.to_string()),
            ("TELEGRAM_DC_ADDRESS", dcs),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.world.start_bot(&env)
    }

    /// A link to `file` (on the fake DC), sent by the user as a document.
    pub fn link_for(&self, file: &DcFile, name: &str) -> String {
        let sent = FileRef {
            file_id: file.bot_api_file_id(),
            file_unique_id: format!("U{}", file.id),
            size: file.size,
            name: name.into(),
            mime: "video/mp4".into(),
        };
        self.world.link_for(&sent)
    }
}

#[test]
fn a_file_past_the_cloud_limit_streams_over_mtproto_byte_exact() {
    let w = DirectWorld::new("direct-whole");
    let data = bytes(24 * 1024 * 1024 + 12_345, 7);
    let file = w.dc.add_document(2, data.clone());
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "film.mp4");
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body == data, "body differs ({} bytes of {})", res.body.len(), data.len());
    assert_eq!(w.world.tg.calls("getFile"), 0, "direct mode never asks the Bot API for the file");
    assert_eq!(w.dc.handshakes(2), 1, "one auth key for the DC");
}

#[test]
fn ranges_read_only_the_parts_they_need() {
    let w = DirectWorld::new("direct-ranges");
    let data = bytes(9 * 1024 * 1024 + 77, 3);
    let file = w.dc.add_document(2, data.clone());
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "film.mp4");
    let path = format!("/dl/{token}");
    let len = data.len();
    for (range, from, to) in [
        ("bytes=0-0", 0, 0),
        ("bytes=1048575-1048576", 1048575, 1048576),
        ("bytes=5000000-6000000", 5_000_000, 6_000_000),
        ("bytes=-1000", len - 1000, len - 1),
        ("bytes=9437000-", 9_437_000, len - 1),
    ] {
        let res = request(bot.addr(), "GET", &path, &[&format!("Range: {range}")]);
        assert_eq!(res.status, 206, "{range}: {}", res.text());
        assert!(res.body == data[from..=to], "{range}: wrong bytes");
        assert_eq!(res.header("content-range").unwrap(), format!("bytes {from}-{to}/{len}"), "{range}");
    }
    // A seek near the end reads a few parts, not the file up to there.
    let served = w.dc.bytes_served(2);
    let res = request(bot.addr(), "GET", &path, &["Range: bytes=8000000-8000100"]);
    assert_eq!(res.status, 206);
    assert!(w.dc.bytes_served(2) - served <= 1024 * 1024, "a seek read {} bytes", w.dc.bytes_served(2) - served);
    let head = request(bot.addr(), "HEAD", &path, &[]);
    assert_eq!((head.status, head.header("content-length")), (200, Some(len.to_string().as_str())));
}

#[test]
fn flood_waits_migrations_lost_logins_and_dropped_connections_only_stall_a_download() {
    let w = DirectWorld::new("direct-faults");
    let data = bytes(6 * 1024 * 1024 + 5, 11);
    // The file_id says DC 2, but the file lives on DC 4: DC 2 answers FILE_MIGRATE_4.
    let mut file = w.dc.add_document(4, data.clone());
    file.dc_id = 2;
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "film.mp4");
    w.dc.fail_next_get_file(DcFault::FloodWait(1));
    w.dc.fail_next_get_file(DcFault::AuthKeyUnregistered);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body == data, "body differs ({} bytes)", res.body.len());
    assert!(w.dc.get_file_calls(4) > 0, "the download followed the file to DC 4");
    assert!(bot.count_lines("asks for a 1 s pause") > 0, "the flood wait was waited out");
    assert!(bot.count_lines("asks to log in again") > 0, "the lost login was imported again");
}

#[test]
fn a_dropped_connection_is_opened_again_and_the_download_goes_on() {
    let w = DirectWorld::new("direct-drop");
    let data = bytes(5 * 1024 * 1024 + 9, 13);
    let file = w.dc.add_document(2, data.clone());
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "film.mp4");
    w.dc.drop_connection_after_get_files(3);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body == data, "body differs ({} bytes)", res.body.len());
    // The new connection starts with initConnection around help.getConfig (the key is logged in).
    let inits = w.dc.methods().iter().filter(|(_, m)| m == "help.getConfig").count();
    assert!(inits >= 1, "no second connection: {:?}", w.dc.methods());
}

#[test]
fn auth_keys_and_the_login_survive_a_restart() {
    let w = DirectWorld::new("direct-restart");
    let data = bytes(300_000, 5);
    let file = w.dc.add_document(2, data.clone());
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "a.bin");
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).body, data);
    drop(bot);
    let bot = w.start_bot(&[]);
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).body, data);
    assert_eq!(w.dc.handshakes(2), 1, "the stored key was used again");
    let logins = w.dc.methods().iter().filter(|(_, m)| m == "auth.importBotAuthorization").count();
    assert_eq!(logins, 1, "the stored login was used again: {:?}", w.dc.methods());
}

#[test]
fn a_file_id_direct_mode_cannot_read_falls_back_to_the_bot_api() {
    let w = DirectWorld::new("direct-fallback");
    let data = bytes(4096, 9);
    let file =
        w.world.tg.add_file_with_id("not-a-tdlib-file-id", data.clone(), "small.bin", "application/octet-stream");
    let bot = w.start_bot(&[]);
    let token = w.world.link_for(&file);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200);
    assert_eq!(res.body, data);
    assert_eq!(w.world.tg.calls("getFile"), 1);
    assert!(bot.wait_for_line(Duration::from_secs(5), "over MTProto").is_some(), "one log line says why");
}
