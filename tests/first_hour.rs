//! What a newcomer meets first: the web side up while Telegram is not, one instance per
//! `DATA_DIR`, the admin command menu.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, is_link_reply, token_in};
use crate::support::bot_process::BotProcess;
use crate::support::fake_telegram::{FakeTelegram, Fault};

/// Polls `/health` until its status is `status` and its body holds `says`; returns the body.
fn health_becomes(bot: &BotProcess, status: u16, says: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let res = get(bot.addr(), "/health");
        if res.status == status && res.text().contains(says) {
            return res.text();
        }
        assert!(Instant::now() < deadline, "/health still {} ({}) after {within:?}", res.status, res.text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn with_telegram_down_the_web_side_is_up_and_says_so_until_telegram_comes_up() {
    let world = World::new("tgdown");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let bot = BotProcess::start_listening(&world.env(&[("TELEGRAM_API_URL", &url)]));
    health_becomes(&bot, 503, "telegram: unreachable (retrying in", WAIT);
    let tg = FakeTelegram::start_on(port);
    // Within one retry: the backoff is at most a few seconds this early.
    health_becomes(&bot, 200, "ok", WAIT);
    let file = tg.add_file(bytes(500, 71), "late.txt", "text/plain");
    tg.send_document(&world.user, &file);
    let reply = tg.wait_for_sent(WAIT, is_link_reply).expect("a link once telegram is up");
    assert!(token_in(reply.text().unwrap()).is_some());
}

#[test]
fn links_already_made_are_served_while_get_me_fails() {
    let world = World::new("getmefails");
    let data = bytes(3000, 72);
    let file = world.tg.add_file(data.clone(), "old.bin", "application/octet-stream");
    let token = {
        let _first = world.start_bot(&[]);
        world.link_for(&file)
    };
    for _ in 0..3 {
        world.tg.fail_next("getMe", Fault::status(502, "Bad Gateway"));
    }
    let bot = BotProcess::start_listening(&world.env(&[]));
    health_becomes(&bot, 503, "telegram: unreachable", WAIT);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!((res.status, res.body == data), (200, true), "the old link downloads meanwhile");
    health_becomes(&bot, 200, "ok", WAIT);
}

#[test]
fn a_weak_link_secret_stops_the_bot_at_start_with_exit_2_saying_how_to_make_one() {
    let world = World::new("weak-secret");
    for weak in ["sixteen-chars-ok", "abcdefghijklmnopqrstuvwxyzabcdefgh", "0123456789012345678901234567890123"] {
        let bot = BotProcess::spawn_raw(&[], &world.env(&[("LINK_SECRET", weak)]));
        let status = bot.wait_exit(WAIT).expect("the bot exits");
        let output = bot.output();
        assert_eq!(status.code(), Some(2), "{output}");
        let line = output.lines().find(|l| l.contains("LINK_SECRET")).unwrap_or_else(|| panic!("{output}"));
        assert!(line.contains("openssl rand -hex 32") && !line.contains(weak), "{line}");
    }
}

#[test]
fn a_second_instance_on_the_same_data_dir_exits_2_naming_the_first() {
    let world = World::new("twice");
    let first = world.start_bot(&[]);
    let second = BotProcess::spawn_raw(&[], &world.env(&[]));
    let status = second.wait_exit(WAIT).expect("the second instance exits");
    assert_eq!(status.code(), Some(2), "{}", second.output());
    assert!(second.output().contains(&format!("pid {}", first.pid())), "{}", second.output());
    assert_eq!(get(first.addr(), "/health").status, 200, "the first keeps working");
}

#[test]
fn admins_get_the_admin_commands_in_their_menu_and_others_do_not() {
    let world = World::new("menu");
    let _bot = world.start_bot(&[("ADMINS", "1001")]);
    let two_menus = world.tg.wait_for_nth_sent(WAIT, 2, |s| s.method == "setMyCommands");
    assert!(two_menus.is_some(), "two menus set: {:#?}", world.tg.sent());
    let menus = world.tg.sent().into_iter().filter(|s| s.method == "setMyCommands").collect::<Vec<_>>();
    let names = |s: &crate::support::fake_telegram::Sent| s.params["commands"].to_string();
    let admin = menus.iter().find(|s| s.params["scope"]["chat_id"] == 1001).expect("a menu for the admin's chat");
    let everyone = menus.iter().find(|s| s.params["scope"].is_null()).expect("the default menu");
    assert!(names(admin).contains("\"memory\"") && names(admin).contains("\"id\""), "{}", names(admin));
    assert!(!names(everyone).contains("\"memory\"") && names(everyone).contains("\"id\""), "{}", names(everyone));
}

#[test]
fn a_token_telegram_rejects_still_stops_the_bot_at_once_with_a_clear_line() {
    let world = World::new("badtoken");
    world.tg.fail_next("getMe", Fault::status(401, "Unauthorized"));
    let bot = BotProcess::spawn_raw(&[], &world.env(&[]));
    let status = bot.wait_exit(WAIT).expect("exits without retrying");
    assert_eq!(status.code(), Some(1), "{}", bot.output());
    assert!(bot.output().contains("telegram rejected BOT_TOKEN (401 Unauthorized)"), "{}", bot.output());
}

#[test]
fn check_exits_2_when_the_port_is_taken_or_another_instance_holds_data_dir() {
    let world = World::new("check-preflight");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let check = BotProcess::spawn_raw(&["--check"], &world.env(&[("PORT", &port)]));
    let status = check.wait_exit(WAIT).expect("--check exits");
    assert_eq!(status.code(), Some(2), "{}", check.output());
    let said = format!("PORT {port} is already in use on BIND_ADDRESS 127.0.0.1");
    assert!(check.output().contains(&said) && !check.output().contains("ok: @"), "{}", check.output());
    drop(taken);
    let first = world.start_bot(&[]);
    let check = BotProcess::spawn_raw(&["--check"], &world.env(&[]));
    let status = check.wait_exit(WAIT).expect("--check exits");
    assert_eq!(status.code(), Some(2), "{}", check.output());
    assert!(check.output().contains(&format!("pid {}", first.pid())), "{}", check.output());
}

#[test]
fn a_port_in_use_at_start_exits_2_naming_port_and_bind_address() {
    let world = World::new("port-taken");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let bot = BotProcess::spawn_raw(&[], &world.env(&[("PORT", &port)]));
    let status = bot.wait_exit(WAIT).expect("the bot exits");
    assert_eq!(status.code(), Some(2), "{}", bot.output());
    let said = format!("PORT {port} is already in use on BIND_ADDRESS 127.0.0.1");
    assert!(bot.output().contains(&said), "{}", bot.output());
}

#[test]
fn healthcheck_needs_only_the_address_not_a_token_or_a_valid_config() {
    let world = World::new("health-only");
    let bot = world.start_bot(&[]);
    let port = bot.addr().port().to_string();
    let env = [("PORT", port), ("BIND_ADDRESS", "127.0.0.1".to_owned()), ("LINK_SECRET", "short".to_owned())];
    let probe = BotProcess::spawn_raw(&["--healthcheck"], &env);
    let status = probe.wait_exit(WAIT).expect("--healthcheck exits");
    assert!(status.success(), "{}", probe.output());
}

#[test]
fn a_misspelt_variable_in_the_environment_or_dotenv_gets_one_warning_naming_ours() {
    let world = World::new("misspelt");
    std::fs::write(world.data.path().join(".env"), "BOT_TOKN=1:abc\n").unwrap();
    let check = BotProcess::spawn_raw(&["--check"], &world.env(&[("BANDWITH_LIMIT_GB", "5")]));
    let status = check.wait_exit(WAIT).expect("--check exits");
    let output = check.output();
    assert!(status.success(), "a warning does not stop the bot: {output}");
    assert_eq!(
        check.count_lines("unknown variable BANDWITH_LIMIT_GB: did you mean BANDWIDTH_LIMIT_GB?"),
        1,
        "{output}"
    );
    assert_eq!(check.count_lines("unknown variable BOT_TOKN: did you mean BOT_TOKEN?"), 1, "{output}");
    assert_eq!(check.count_lines("unknown variable"), 2, "PATH, HOME and the rest are not ours: {output}");
}
