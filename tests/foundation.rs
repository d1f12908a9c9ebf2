//! The first slice end to end: a file sent to the bot becomes a working link; bad links, restarts,
//! Telegram failures, bad configuration and the thread budget.

use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, is_link_reply, mode_of, percent_decode, request, token_in};
use crate::support::bot_process::BotProcess;
use crate::support::fake_telegram::Fault;
use streambot::links::{Claims, Signer};

#[test]
fn document_link_serves_the_exact_bytes_with_headers() {
    let world = World::new("doc");
    let bot = world.start_bot(&[]);
    let data = bytes(300_000, 1);
    let file = world.tg.add_file(data.clone(), "report.pdf", "application/pdf");
    let token = world.link_for(&file);

    let reply = world.tg.wait_for_sent(WAIT, is_link_reply).unwrap();
    let text = reply.text().unwrap();
    assert!(text.contains("report.pdf") && text.contains("293.0 KiB") && text.contains("Expires:"), "{text}");
    assert_eq!(reply.chat_id(), Some(1001));

    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200);
    assert_eq!(res.body.len(), data.len());
    assert!(res.body == data, "body differs from the file");
    assert_eq!(res.header("content-type"), Some("application/pdf"));
    assert_eq!(res.header("content-length"), Some("300000"));
    assert_eq!(
        res.header("content-disposition"),
        Some("attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf")
    );
    // Without LOG_CHANNEL the file_id is the user's message's, and the link says which message.
    let message = world.tg.last_message_id_from(1001);
    assert_eq!(link_sources(&world), vec![(Some(1001), Some(message))]);
    // The link secret given by env is used; no secret file is written then.
    assert!(!world.data.path().join("link_secret").exists());
    // The token never reaches the log, the link token only as a prefix.
    let out = bot.output();
    assert!(!out.contains("TEST-secret_token"), "bot token leaked into the log");
    assert!(!out.contains(&token), "full link token in the log");
}

#[test]
fn unicode_file_name_round_trips_in_content_disposition() {
    let world = World::new("unicode");
    let bot = world.start_bot(&[]);
    let name = "отчёт 2026 — «итог» ✓.txt";
    let file = world.tg.add_file(b"hello".to_vec(), name, "text/plain");
    let token = world.link_for(&file);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200);
    let cd = res.header("content-disposition").unwrap();
    let encoded = cd.split("filename*=UTF-8''").nth(1).expect("filename* present");
    assert_eq!(String::from_utf8(percent_decode(encoded)).unwrap(), name);
    assert!(cd.is_ascii(), "header value must stay ASCII: {cd}");
}

#[test]
fn tampered_token_is_404_and_expired_token_is_410() {
    let world = World::new("badlinks");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(1000, 2), "a.bin", "application/octet-stream");
    let token = world.link_for(&file);

    let mut tampered = token.clone().into_bytes();
    tampered[3] = if tampered[3] == b'x' { b'y' } else { b'x' };
    let res = get(bot.addr(), &format!("/dl/{}", String::from_utf8(tampered).unwrap()));
    assert_eq!((res.status, res.text().trim()), (404, "link not found"));
    assert_eq!(get(bot.addr(), "/dl/short").status, 404);

    // The same link id, signed with the same secret, but expired a minute ago.
    let signer = Signer::new(crate::harness::SECRET.as_bytes());
    let claims = signer.verify(&token, 0).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expired = signer.mint(Claims { link_id: claims.link_id, expires_at: now - 60 });
    let res = get(bot.addr(), &format!("/dl/{expired}"));
    assert_eq!((res.status, res.text().trim()), (410, "link expired"));

    // A genuine token for a link id that was never stored.
    let unknown = signer.mint(Claims { link_id: claims.link_id ^ 1, expires_at: 0 });
    assert_eq!(get(bot.addr(), &format!("/dl/{unknown}")).status, 404);
}

#[test]
fn restart_keeps_links_and_handles_no_update_twice() {
    let world = World::new("restart");
    let data = bytes(50_000, 3);
    let file = world.tg.add_file(data.clone(), "keep.bin", "application/octet-stream");
    let token = {
        let bot = world.start_bot(&[]);
        let token = world.link_for(&file);
        world.tg.send_text(&world.user, "hello");
        world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("Send me a file"))).unwrap();
        bot.signal("TERM");
        let status = bot.wait_exit(WAIT).expect("bot exits after SIGTERM");
        assert!(status.success(), "exit status {status:?}");
        token
    };
    let replies_before = world.tg.sent().iter().filter(|s| s.method == "sendMessage").count();
    assert_eq!(replies_before, 2);

    let bot = world.start_bot(&[]);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200);
    assert!(res.body == data);
    world.tg.send_text(&world.user, "after restart");
    world.tg.wait_for_nth_sent(WAIT, 3, |s| s.method == "sendMessage").expect("reply to the new update");
    // Give a duplicate the chance to show up: the reply to a later marker update arrives after it.
    world.tg.send_text(&world.user, "/about");
    world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("streambot"))).unwrap();
    let replies = world.tg.sent().iter().filter(|s| s.method == "sendMessage").count();
    assert_eq!(replies, 4, "each of the 4 updates answered exactly once: {:#?}", world.tg.sent());
    // The restarted bot asked for updates after the ones it had handled.
    let offsets = world.tg.get_updates_offsets();
    assert!(offsets.iter().all(|o| o != &Some(1)), "update 1 was confirmed before the restart: {offsets:?}");
}

#[test]
fn telegram_errors_are_survived_and_every_update_is_handled_once() {
    let world = World::new("faults");
    let bot = world.start_bot(&[]);
    // The bot is polling now; the next three polls fail in three different ways.
    assert!(world.tg.wait_for_calls("getUpdates", 1, WAIT));
    world.tg.fail_next("getUpdates", Fault::too_many_requests(1));
    world.tg.fail_next("getUpdates", Fault::server_error());
    world.tg.fail_next("getUpdates", Fault::Drop);
    // Wake the current long poll so the faults are served next.
    world.tg.send_text(&world.user, "one");
    world.tg.send_text(&world.user, "two");
    world.tg.send_text(&world.user, "three");
    let third = world.tg.wait_for_nth_sent(WAIT, 3, |s| s.method == "sendMessage");
    assert!(third.is_some(), "not all updates answered; log:\n{}", bot.output());
    world.tg.send_text(&world.user, "/help");
    world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("How to use"))).unwrap();
    let replies = world.tg.sent().iter().filter(|s| s.method == "sendMessage").count();
    assert_eq!(replies, 4, "{:#?}", world.tg.sent());
    let out = bot.output();
    assert!(out.contains("rate limit") || out.contains("retry after"), "429 not reported:\n{out}");
    assert!(!out.contains("TEST-secret_token"));
}

#[test]
fn missing_or_malformed_variables_exit_with_one_clear_line() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "missing BOT_TOKEN"),
        (&[("BOT_TOKEN", "123:abc"), ("PORT", "80x")], "invalid PORT '80x': expected 0-65535"),
        (&[("BOT_TOKEN", "not-a-token")], "invalid BOT_TOKEN '***'"),
        (&[("BOT_TOKEN", "123:abc"), ("ADMINS", "1,bob")], "invalid ADMINS '1,bob'"),
        (&[("BOT_TOKEN", "123:abc"), ("TELEGRAM_API_URL", "api.telegram.org")], "invalid TELEGRAM_API_URL"),
        (&[("BOT_TOKEN", "123:abc"), ("TELEGRAM_API_ID", "17")], "missing TELEGRAM_API_HASH"),
        (&[("BOT_TOKEN", "123:abc"), ("TELEGRAM_DC_ADDRESS", "2=127.0.0.1:4430")], "missing TELEGRAM_API_ID"),
        (
            &[
                ("BOT_TOKEN", "123:abc"),
                ("TELEGRAM_API_ID", "17"),
                ("TELEGRAM_API_HASH", "0123456789abcdef0123456789abcdef"),
                ("TELEGRAM_SERVER_KEY", "/nonexistent/server.pem"),
            ],
            "invalid TELEGRAM_SERVER_KEY '/nonexistent/server.pem'",
        ),
    ];
    for (env, expected) in cases {
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let bot = BotProcess::spawn_raw(&[], &env);
        let status = bot.wait_exit(WAIT).expect("exits");
        assert!(!status.success(), "{expected}: exited 0");
        let out = bot.output();
        let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line expected for {expected}: {out}");
        assert!(lines[0].contains(expected), "{expected} not in {out}");
    }
}

#[test]
fn check_version_and_help_flags() {
    let world = World::new("flags");
    let env = world.env(&[]);
    let check = BotProcess::spawn_raw(&["--check"], &env);
    assert!(check.wait_exit(WAIT).unwrap().success(), "{}", check.output());
    assert!(check.output().contains("@fake_stream_bot"), "{}", check.output());
    for what in ["BASE_URL", "listens on     127.0.0.1:0", "(writable)", "admins", "cloud Bot API", "link expiry"] {
        assert!(check.output().contains(what), "--check names {what:?}: {}", check.output());
    }

    world.tg.fail_next("getMe", Fault::status(401, "Unauthorized"));
    let check = BotProcess::spawn_raw(&["--check"], &env);
    assert!(!check.wait_exit(WAIT).unwrap().success());
    assert!(check.output().contains("rejected BOT_TOKEN"), "{}", check.output());

    let version = BotProcess::spawn_raw(&["--version"], &[]);
    assert!(version.wait_exit(WAIT).unwrap().success());
    assert!(
        version.output().starts_with(&format!("streambot {} (", env!("CARGO_PKG_VERSION"))),
        "{}",
        version.output()
    );

    let help = BotProcess::spawn_raw(&["--help"], &[]);
    assert!(help.wait_exit(WAIT).unwrap().success());
    for var in ["BOT_TOKEN", "BASE_URL", "PORT", "DATA_DIR", "TELEGRAM_API_URL", "LINK_EXPIRY_SECONDS", "LOG_CHANNEL"] {
        assert!(help.output().contains(var), "--help lacks {var}");
    }
}

#[test]
fn health_root_and_unknown_routes() {
    let world = World::new("routes");
    let bot = world.start_bot(&[]);
    let res = get(bot.addr(), "/health");
    assert_eq!((res.status, res.text().trim()), (200, "ok"));
    let res = get(bot.addr(), "/");
    assert_eq!((res.status, res.header("location")), (302, Some("https://t.me/fake_stream_bot")));
    assert_eq!(get(bot.addr(), "/nope").status, 404);
    let res = request(bot.addr(), "DELETE", "/health", &[]);
    assert_eq!((res.status, res.header("allow")), (405, Some("GET, HEAD")));
}

#[test]
fn file_over_the_cloud_limit_gets_the_reason_and_no_link() {
    let world = World::new("toobig");
    let _bot = world.start_bot(&[]);
    // 21,000,000 bytes is 20.03 MiB: shown rounded up beside the limit rounded down, the two
    // numbers differ.
    let file = world.tg.add_file(vec![0u8; 21_000_000], "big.iso", "application/octet-stream");
    world.tg.send_document(&world.user, &file);
    let reply = world.tg.wait_for_sent(WAIT, |s| s.method == "sendMessage").unwrap();
    let text = reply.text().unwrap();
    assert!(text.contains("This file is 20.1 MiB") && text.contains("up to 20.0 MiB"), "{text}");
    assert!(text.contains("local Bot API server"), "{text}");
    assert!(!text.contains("/dl/"));
}

#[test]
fn every_media_kind_gets_a_working_link() {
    let world = World::new("kinds");
    let bot = world.start_bot(&[]);
    for (i, kind) in ["video", "audio", "photo", "animation", "voice", "video_note", "sticker"].iter().enumerate() {
        let data = bytes(10_000 + i, i as u64);
        let file = world.tg.add_file(data.clone(), &format!("f.{kind}"), "application/octet-stream");
        world.tg.send_media(&world.user, kind, &file);
        let reply =
            world.tg.wait_for_nth_sent(WAIT, i + 1, is_link_reply).unwrap_or_else(|| panic!("no link for {kind}"));
        let token = token_in(reply.text().unwrap()).unwrap();
        let res = get(bot.addr(), &format!("/dl/{token}"));
        assert_eq!(res.status, 200, "{kind}");
        assert!(res.body == data, "{kind} bytes differ");
    }
}

#[test]
fn start_buttons_work_through_callbacks_and_text_gets_a_hint() {
    let world = World::new("buttons");
    let _bot = world.start_bot(&[]);
    world.tg.send_text(&world.user, "/start");
    let start = world.tg.wait_for_sent(WAIT, |s| s.method == "sendMessage").unwrap();
    assert!(start.text().unwrap().contains("Hi Alice"));
    let markup = start.params["reply_markup"].to_string();
    for data in ["\"help\"", "\"about\"", "\"close\""] {
        assert!(markup.contains(data), "{markup}");
    }
    let message_id = world.tg.last_bot_message_id().expect("bot message id");

    world.tg.send_callback(&world.user, message_id, "help");
    let edit = world.tg.wait_for_sent(WAIT, |s| s.method == "editMessageText").unwrap();
    assert!(edit.text().unwrap().contains("How to use"));
    world.tg.send_callback(&world.user, message_id, "about");
    world.tg.wait_for_nth_sent(WAIT, 2, |s| s.method == "editMessageText").unwrap();
    world.tg.send_callback(&world.user, message_id, "close");
    let deleted = world.tg.wait_for_sent(WAIT, |s| s.method == "deleteMessage").unwrap();
    assert_eq!(deleted.param("message_id"), Some(message_id.to_string()));
    assert!(world.tg.wait_for_nth_sent(WAIT, 3, |s| s.method == "answerCallbackQuery").is_some());

    // An update the bot cannot decode is skipped; the next one is still answered.
    world.tg.push_raw_update(serde_json::json!({"message": {"message_id": "not a number"}}));
    world.tg.send_text(&world.user, "what is this");
    let hint = world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("Send me a file"))).unwrap();
    assert_eq!(hint.chat_id(), Some(1001));
    world.tg.send_text(&world.user, "/frobnicate");
    world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("Unknown command /frobnicate"))).unwrap();
}

#[test]
fn log_channel_copy_is_what_the_link_serves() {
    let world = World::new("logchannel");
    let bot = world.start_bot(&[("LOG_CHANNEL", "-1009876")]);
    let data = bytes(4096, 9);
    let file = world.tg.add_file(data.clone(), "backup.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let fwd = world.tg.wait_for_sent(WAIT, |s| s.method == "forwardMessage").unwrap();
    assert_eq!(fwd.chat_id(), Some(-1009876));
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200);
    assert!(res.body == data);
    let requests = world.tg.file_requests();
    assert_eq!(requests.len(), 1);
    assert_ne!(requests[0].path, "", "downloaded through getFile of the copy");
    // The link's source is the channel's copy, the message its file_id came from.
    let sources = link_sources(&world);
    let [(Some(-1009876), Some(copy))] = sources[..] else { panic!("sources: {sources:?}") };
    let copy = world.tg.message(copy).expect("the copy is a stored message");
    assert_eq!(
        (copy["chat"]["id"].as_i64(), copy["forward_origin"]["sender_user"]["id"].as_u64()),
        (Some(-1009876), Some(1001))
    );
}

/// (source_chat, source_message) of every stored link, oldest first.
fn link_sources(world: &World) -> Vec<(Option<i64>, Option<i64>)> {
    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    let mut q = db.prepare("SELECT source_chat, source_message FROM links ORDER BY created_at, update_id").unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn the_link_secret_and_the_database_files_are_private() {
    let world = World::new("secret");
    let mut env = world.env(&[]);
    env.retain(|(k, _)| *k != "LINK_SECRET");
    // `start` returns once the bot listens, after the store is open.
    let _bot = BotProcess::start(&env);
    for name in ["link_secret", "streambot.db", "streambot.db-wal", "streambot.db-shm"] {
        assert_eq!(mode_of(&world.data.path().join(name)), 0o600, "{name}");
    }
}

#[test]
fn one_thread_does_the_work() {
    let world = World::new("threads");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(200_000, 5), "t.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let addr = bot.addr();
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let token = token.clone();
            std::thread::spawn(move || {
                if i % 4 == 0 {
                    // `Expect: 100-continue` with a body: async-h1's server spawned a helper thread for it.
                    let mut raw = format!(
                        "POST /dl/{token} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                    )
                    .into_bytes();
                    raw.extend_from_slice(b"hello");
                    crate::support::raw_http::send(addr, &raw).unwrap().status
                } else {
                    get(addr, &format!("/dl/{token}")).status
                }
            })
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 405), "{statuses:?}");
    // Let any thread a library starts lazily show up.
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut most = 0;
    while Instant::now() < deadline {
        most = most.max(bot.thread_count());
        std::thread::sleep(Duration::from_millis(50));
    }
    // main (all our work) + the async-io reactor. async-h1's server, with its async-io 1.x
    // timer thread and its async-global-executor pool for 100-continue, is no longer used.
    assert!(most <= 2, "{most} threads: {}", crate::harness::thread_names(bot.pid()));
}
