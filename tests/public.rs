//! A public instance: the daily link limit, revoking (button, `/revoke`, `/mylinks`), `/mylinks`
//! pages, force-subscribe, `/broadcast`, and StreamBot's full `/api/info`.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{WAIT, World, bytes, get, is_link_reply, raw, read_all, token_in};
use crate::support::fake_telegram::{FakeUser, Fault, Sent};

/// The inline buttons of a sent message, as (text, url or callback_data).
fn buttons(sent: &Sent) -> Vec<(String, String)> {
    let markup = &sent.params["reply_markup"];
    let markup: Value = match markup.as_str() {
        Some(text) => serde_json::from_str(text).unwrap(),
        None => markup.clone(),
    };
    let rows = markup["inline_keyboard"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| {
            let target = b["url"].as_str().or(b["callback_data"].as_str()).unwrap_or("").to_owned();
            (b["text"].as_str().unwrap_or("").to_owned(), target)
        })
        .collect()
}

fn button(sent: &Sent, text: &str) -> String {
    buttons(sent).into_iter().find(|(t, _)| t == text).map(|(_, d)| d).unwrap_or_else(|| panic!("no {text}: {sent:?}"))
}

/// The `n`-th message to `chat` whose text contains `needle` (sent or edited).
fn nth_to(world: &World, chat: u64, n: usize, needle: &str) -> Sent {
    let chat = chat as i64;
    let pred = |s: &Sent| {
        (s.method == "sendMessage" || s.method == "editMessageText")
            && s.chat_id() == Some(chat)
            && s.text().is_some_and(|t| t.contains(needle))
    };
    world
        .tg
        .wait_for_nth_sent(WAIT, n, pred)
        .unwrap_or_else(|| panic!("no {needle:?} to {chat}: {:#?}", world.tg.sent()))
}

fn file(world: &World, seed: u64) -> crate::support::fake_telegram::FileRef {
    world.tg.add_file(bytes(1000, seed), &format!("f{seed}.bin"), "application/octet-stream")
}

/// The link reply to the `n`-th file `user` sent.
fn link_reply(world: &World, user: &FakeUser, n: usize) -> Sent {
    let pred = |s: &Sent| is_link_reply(s) && s.chat_id() == Some(user.id as i64);
    world.tg.wait_for_nth_sent(WAIT, n, pred).unwrap_or_else(|| panic!("no link reply {n}: {:#?}", world.tg.sent()))
}

#[test]
fn the_sixth_link_in_a_day_is_refused_until_the_clock_moves_24_hours() {
    let world = World::new("daily");
    let admin = FakeUser::new(7, "Root");
    let bot = world.start_bot(&[("ADMINS", "7"), ("MAX_LINKS_PER_DAY", "5")]);
    for seed in 0..5 {
        world.link_for(&file(&world, seed));
    }
    // Refused for size: no link, and it does not count.
    let big = world.tg.add_file(vec![0u8; 21_000_000], "big.iso", "application/octet-stream");
    world.tg.send_document(&world.user, &big);
    nth_to(&world, world.user.id, 1, "This file is");
    world.tg.send_document(&world.user, &file(&world, 5));
    let refusal = nth_to(&world, world.user.id, 1, "links in the last 24 hours");
    let text = refusal.text().unwrap();
    // The oldest of the five was made moments ago: a slot frees in 24 h, less those moments.
    let when = text.contains("UTC (in 23 h 59 min).") || text.contains("UTC (in 24 h 0 min).");
    assert!(text.contains("You have made 5 links") && when, "{text}");
    assert_eq!(world.tg.sent().iter().filter(|s| is_link_reply(s)).count(), 5);

    for seed in 10..17 {
        world.tg.send_document(&admin, &file(&world, seed));
    }
    link_reply(&world, &admin, 7);

    assert_eq!(get(bot.addr(), "/_test/clock?advance=86400").status, 200);
    world.tg.send_document(&world.user, &file(&world, 6));
    link_reply(&world, &world.user, 6);
    world.tg.send_text(&admin, "/stats");
    let stats = nth_to(&world, admin.id, 1, "Links made in the last 24 h: 1\n");
    assert!(stats.text().unwrap().contains("Free disk in DATA_DIR: "), "{stats:?}");
}

#[test]
fn the_owner_revokes_a_link_and_it_answers_410_at_once_even_mid_download() {
    let world = World::new("revoke");
    let bot = world.start_bot(&[]);
    let size = 19 * 1024 * 1024;
    let big = world.tg.add_file(bytes(size, 51), "big.bin", "application/octet-stream");
    let token = world.link_for(&big);
    let reply = link_reply(&world, &world.user, 1);
    let mut running = TcpStream::connect(bot.addr()).unwrap();
    running.set_read_timeout(Some(WAIT)).unwrap();
    running.write_all(&raw("GET", &format!("/dl/{token}"), &[], true)).unwrap();
    assert!(read_all(&mut running, 256 * 1024) >= 256 * 1024, "the download started");

    world.tg.send_callback(&world.user, reply.message_id.unwrap(), &button(&reply, "Revoke"));
    let edited = nth_to(&world, world.user.id, 1, "Link revoked");
    assert_eq!(edited.method, "editMessageText");
    for face in ["dl", "stream", "watch"] {
        let res = get(bot.addr(), &format!("/{face}/{token}"));
        assert_eq!((res.status, res.text().contains("revoked")), (410, true), "/{face}: {res:?}");
    }
    let rest = read_all(&mut running, size);
    assert!(rest + 256 * 1024 < size, "the running download was cut: {rest} more bytes");
}

#[test]
fn a_stranger_cannot_revoke_but_revoke_works_as_a_reply_and_with_the_token() {
    let world = World::new("revoke2");
    let bot = world.start_bot(&[]);
    let stranger = FakeUser::new(2002, "Mallory");
    let first = world.link_for(&file(&world, 1));
    let second = world.link_for(&file(&world, 2));
    world.tg.send_text(&stranger, &format!("/revoke {}/dl/{first}", bot.base_url()));
    let refused = nth_to(&world, stranger.id, 1, "Sorry, only the person who made this link");
    assert!(refused.text().is_some());
    assert_eq!(get(bot.addr(), &format!("/dl/{first}")).status, 200);

    let reply = link_reply(&world, &world.user, 1);
    world.tg.send_text_replying(&world.user, "/revoke", reply.message_id.unwrap());
    nth_to(&world, world.user.id, 1, "Link revoked");
    assert_eq!(get(bot.addr(), &format!("/dl/{first}")).status, 410);
    world.tg.send_text(&world.user, &format!("/revoke {second}"));
    nth_to(&world, world.user.id, 2, "Link revoked");
    assert_eq!(get(bot.addr(), &format!("/dl/{second}")).status, 410);
}

#[test]
fn mylinks_with_23_links_has_3_pages_and_revokes_from_the_list() {
    let world = World::new("mylinks");
    let bot = world.start_bot(&[("MAX_LINKS_PER_DAY", "0")]);
    for seed in 0..23 {
        world.tg.send_document(&world.user, &file(&world, seed));
    }
    let newest = token_in(link_reply(&world, &world.user, 23).text().unwrap()).unwrap();
    assert_eq!(get(bot.addr(), &format!("/dl/{newest}")).status, 200);
    world.tg.send_text(&world.user, "/mylinks");
    let page1 = nth_to(&world, world.user.id, 1, "page 1 of 3");
    let text = page1.text().unwrap();
    assert!(text.contains("1. <b>f22.bin</b>") && text.contains("· 1 download\n"), "newest first: {text}");
    let id = page1.message_id.unwrap();
    world.tg.send_callback(&world.user, id, &button(&page1, "Next »"));
    let page2 = nth_to(&world, world.user.id, 1, "page 2 of 3");
    world.tg.send_callback(&world.user, id, &button(&page2, "Next »"));
    let page3 = nth_to(&world, world.user.id, 1, "page 3 of 3");
    assert!(page3.text().unwrap().contains("23. <b>f0.bin</b>"), "{page3:?}");
    assert!(!buttons(&page3).iter().any(|(t, _)| t == "Next »"));
    assert!(buttons(&page3).iter().any(|(t, _)| t == "« Previous"));

    world.tg.send_callback(&world.user, id, &button(&page1, "Revoke 1"));
    nth_to(&world, world.user.id, 1, "Your links</b> (22)");
    assert_eq!(get(bot.addr(), &format!("/dl/{newest}")).status, 410);
}

#[test]
fn a_non_member_gets_join_and_try_again_and_the_link_after_joining() {
    let world = World::new("forcesub");
    let _bot = world.start_bot(&[("FORCE_SUB_CHANNEL", "@fake_channel")]);
    world.tg.set_member_status(world.user.id, "left");
    world.tg.send_document(&world.user, &file(&world, 1));
    let gate = nth_to(&world, world.user.id, 1, "join our channel");
    assert_eq!(button(&gate, "Join"), "https://t.me/fake_channel");
    let again = button(&gate, "Try again");
    assert!(!world.tg.sent().iter().any(is_link_reply), "no link before joining");

    world.tg.set_member_status(world.user.id, "member");
    world.tg.send_callback(&world.user, gate.message_id.unwrap(), &again);
    let reply = link_reply(&world, &world.user, 1);
    assert!(reply.text().unwrap().contains("f1.bin"), "{reply:?}");

    // A second press on the same (now deleted) Join message makes no second link.
    world.tg.send_callback(&world.user, gate.message_id.unwrap(), &again);
    let answered = |s: &Sent| s.method == "answerCallbackQuery" && s.text().is_some_and(|t| t.contains("Done already"));
    assert!(world.tg.wait_for_nth_sent(WAIT, 1, answered).is_some(), "{:#?}", world.tg.sent());
    let links = world.tg.sent().iter().filter(|s| is_link_reply(s)).count();
    assert_eq!(links, 1, "one link for one file, however often Try again is pressed");
}

#[test]
fn when_membership_cannot_be_checked_users_get_links_and_the_operator_is_told_why() {
    let world = World::new("forcesub2");
    let bot = world.start_bot(&[("FORCE_SUB_CHANNEL", "-1001234567890")]);
    let inaccessible = || Fault::status(400, "Bad Request: member list is inaccessible");
    world.tg.fail_next("getChatMember", inaccessible());
    world.tg.fail_next("getChatMember", inaccessible());
    let other = FakeUser::new(2003, "Bob");
    world.link_for(&file(&world, 1));
    world.tg.send_document(&other, &file(&world, 2));
    link_reply(&world, &other, 1);
    world.link_for(&file(&world, 3));
    let unchecked = bot.count_events("membership_unchecked", &[("reason", "not_admin")]);
    assert_eq!(unchecked, 2, "the two failed checks let their requests through: {}", bot.output());
    assert!(bot.output().contains("the bot is not an admin of FORCE_SUB_CHANNEL"));
}

#[test]
fn a_failed_membership_check_lets_only_that_request_through_and_the_next_is_checked_again() {
    let world = World::new("forcesub3");
    let bot = world.start_bot(&[("FORCE_SUB_CHANNEL", "@fake_channel")]);
    let other = FakeUser::new(2004, "Bob");
    world.tg.set_member_status(other.id, "left");
    world.tg.fail_next("getChatMember", Fault::status(400, "Bad Request: member list is inaccessible"));
    world.link_for(&file(&world, 1));
    assert_eq!(bot.count_events("membership_unchecked", &[("reason", "not_admin")]), 1, "{}", bot.output());

    world.tg.send_document(&other, &file(&world, 2));
    nth_to(&world, other.id, 1, "join our channel");
    world.tg.set_member_status(world.user.id, "left");
    world.tg.send_document(&world.user, &file(&world, 3));
    nth_to(&world, world.user.id, 1, "join our channel");
    assert_eq!(world.tg.calls("getChatMember"), 3, "every request after the failure was checked");
    assert!(!world.tg.sent().iter().any(|s| is_link_reply(s) && s.chat_id() == Some(other.id as i64)));
}

/// Users 3000.. who said /start; returns them once all are registered.
fn register(world: &World, n: u64) -> Vec<FakeUser> {
    let users: Vec<FakeUser> = (0..n).map(|i| FakeUser::new(3000 + i, "U")).collect();
    for u in &users {
        world.tg.send_text(u, "/start");
    }
    let hi = |s: &Sent| s.method == "sendMessage" && s.text().is_some_and(|t| t.starts_with("Hi U!"));
    assert!(world.tg.wait_for_nth_sent(WAIT * 2, n as usize, hi).is_some(), "not all registered");
    users
}

fn copies(world: &World) -> Vec<i64> {
    world.tg.sent().iter().filter(|s| s.method == "copyMessage").filter_map(Sent::chat_id).collect()
}

#[test]
fn a_broadcast_reaches_everyone_once_skips_the_blocked_and_the_bot_keeps_answering() {
    let world = World::new("broadcast");
    let bot = world.start_bot(&[("ADMINS", "1001")]);
    let users = register(&world, 200);
    for u in users.iter().step_by(10) {
        let blocked = Fault::status(403, "Forbidden: bot was blocked by the user");
        world.tg.fail_next_for_chat("copyMessage", u.id as i64, blocked);
    }
    world.tg.fail_next("copyMessage", Fault::too_many_requests(1));
    let post = world.tg.send_text(&world.user, "Hello everyone");
    let _ = post;
    let post_id = world.tg.last_message_id_from(world.user.id);
    world.tg.send_text_replying(&world.user, "/broadcast", post_id);
    assert!(world.tg.wait_for_calls("copyMessage", 20, WAIT), "the broadcast started");
    let late = FakeUser::new(9000, "Late");
    let asked = Instant::now();
    world.tg.send_text(&late, "/start");
    nth_to(&world, late.id, 1, "Hi Late!");
    assert!(asked.elapsed() < Duration::from_secs(2), "answered in {:?}", asked.elapsed());

    let report = nth_to(&world, world.user.id, 1, "Broadcast finished");
    let text = report.text().unwrap();
    assert!(text.contains("Blocked (skipped from now on): 20"), "{text}");
    let to_users: Vec<i64> = copies(&world).into_iter().filter(|c| (3000..3200).contains(c)).collect();
    let mut distinct = to_users.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!((to_users.len(), distinct.len()), (180, 180), "none twice");
    let progress = |s: &Sent| s.method == "editMessageText" && s.text().is_some_and(|t| t.contains("Left: "));
    assert!(world.tg.sent().iter().any(progress), "progress was edited");
    world.tg.send_text(&world.user, "/stats");
    nth_to(&world, world.user.id, 1, "(20 blocked the bot)");
    assert!(bot.output().contains("rate limit on copyMessage"), "the 429 was met and waited out");
}

#[test]
fn broadcast_cancel_stops_it_early() {
    let world = World::new("broadcast2");
    let _bot = world.start_bot(&[("ADMINS", "1001")]);
    register(&world, 100);
    world.tg.send_text(&world.user, "News");
    let post_id = world.tg.last_message_id_from(world.user.id);
    world.tg.send_text_replying(&world.user, "/broadcast", post_id);
    assert!(world.tg.wait_for_calls("copyMessage", 5, WAIT));
    world.tg.send_text_replying(&world.user, "/broadcast", post_id);
    nth_to(&world, world.user.id, 1, "already running");
    world.tg.send_text(&world.user, "/broadcast cancel");
    nth_to(&world, world.user.id, 1, "Broadcast cancelled");
    let sent = copies(&world).len();
    assert!(sent < 100, "{sent} copies");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(copies(&world).len(), sent, "nothing after the report");
}

#[test]
fn api_info_has_streambots_keys_and_answers_503_while_telegram_is_down() {
    let world = World::new("apiinfo");
    let bot = world.start_bot(&[("BANDWIDTH_LIMIT_GB", "0"), ("FORCE_SUB_CHANNEL", "@fake_channel")]);
    let info = get(bot.addr(), "/api/info");
    assert_eq!(info.status, 200);
    let v = info.json().unwrap();
    let kinds = [
        ("/bot_info/id", "number"),
        ("/bot_info/username", "string"),
        ("/bot_info/first_name", "string"),
        ("/bot_info/mention", "string"),
        ("/features/force_subscribe", "bool"),
        ("/features/force_subscribe_channel_id", "string"),
        ("/features/link_expiry_enabled", "bool"),
        ("/features/link_expiry_duration_seconds", "number"),
        ("/features/link_expiry_duration_human", "string"),
        ("/bandwidth_info/limit_gb", "number"),
        ("/bandwidth_info/used_gb", "number"),
        ("/bandwidth_info/used_bytes", "number"),
        ("/bandwidth_info/month", "string"),
        ("/bandwidth_info/limit_enabled", "bool"),
        ("/bandwidth_info/remaining_gb", "null"),
        ("/version", "string"),
        ("/totaluser", "number"),
        ("/uptime", "string"),
        ("/bot_status", "string"),
    ];
    for (pointer, kind) in kinds {
        let x = v.pointer(pointer).unwrap_or_else(|| panic!("{pointer} missing: {v}"));
        let ok = match kind {
            "number" => x.is_number(),
            "string" => x.is_string(),
            "bool" => x.is_boolean(),
            _ => x.is_null(),
        };
        assert!(ok, "{pointer} is not a {kind}: {v}");
    }
    assert_eq!(v["bandwidth_info"]["limit_enabled"], false);
    assert_eq!(v["bot_info"]["mention"], "@fake_stream_bot");
    assert_eq!(v["bot_status"], "connected");

    for _ in 0..3 {
        world.tg.fail_next("getUpdates", Fault::server_error());
    }
    assert!(bot.wait_for_event(WAIT, "poll_failed", &[]).is_some(), "{}", bot.output());
    let down = get(bot.addr(), "/api/info");
    assert_eq!(down.status, 503);
    assert_eq!(down.json().unwrap()["bot_status"], "disconnected");
}

#[test]
fn api_info_counts_a_bandwidth_limit_in_gb() {
    let world = World::new("apiinfo2");
    let bot = world.start_bot(&[("BANDWIDTH_LIMIT_GB", "1.5")]);
    let v = get(bot.addr(), "/api/info").json().unwrap();
    assert_eq!(v["bandwidth_info"]["limit_enabled"], true);
    assert_eq!(v["bandwidth_info"]["limit_gb"], 1.5);
    assert_eq!(v["bandwidth_info"]["remaining_gb"], 1.5);
}

#[test]
fn a_restart_mid_broadcast_resumes_it_and_sends_to_nobody_twice() {
    let world = World::new("broadcast3");
    let bot = world.start_bot(&[("ADMINS", "1001")]);
    register(&world, 100);
    world.tg.send_text(&world.user, "News");
    let post_id = world.tg.last_message_id_from(world.user.id);
    world.tg.send_text_replying(&world.user, "/broadcast", post_id);
    assert!(world.tg.wait_for_calls("copyMessage", 20, WAIT));
    bot.kill();
    let before = copies(&world).len();
    assert!(before < 100, "cut off mid-way: {before}");
    let _bot = world.start_bot(&[("ADMINS", "1001")]);
    nth_to(&world, world.user.id, 1, "interrupted by a restart");
    nth_to(&world, world.user.id, 1, "Broadcast finished");
    let to_users: Vec<i64> = copies(&world).into_iter().filter(|c| (3000..3100).contains(c)).collect();
    let mut distinct = to_users.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(to_users.len(), distinct.len(), "none twice");
    assert!(distinct.len() >= 99, "at most the one in flight is missed: {}", distinct.len());
}

#[test]
fn one_owner_past_their_share_gets_503_while_other_owners_links_and_intake_go_on() {
    let world = World::new("share");
    // 1 MB a month and 25 % each: an owner's links stop once 250 000 bytes went out.
    let vars = [("BANDWIDTH_LIMIT_GB", "0.001"), ("BANDWIDTH_USER_SHARE", "25"), ("ADMINS", "7")];
    let bot = world.start_bot(&vars);
    let data = bytes(100_000, 31);
    let alice =
        format!("/dl/{}", world.link_for(&world.tg.add_file(data.clone(), "a.bin", "application/octet-stream")));
    let bob = FakeUser::new(2004, "Bob");
    world.tg.send_document(&bob, &world.tg.add_file(data.clone(), "b.bin", "application/octet-stream"));
    let bobs = format!("/dl/{}", token_in(link_reply(&world, &bob, 1).text().unwrap()).unwrap());
    for i in 0..3 {
        let res = get(bot.addr(), &alice);
        assert!(res.status == 200 && res.body == data, "download {i} is within the share");
    }
    let refused = get(bot.addr(), &alice);
    assert_eq!(refused.status, 503);
    assert!(refused.text().contains("owner has used their share of this month's bandwidth"), "{}", refused.text());
    assert!(refused.text().contains("1st at 00:00 UTC"), "{}", refused.text());
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 31 * 86_400, "retry-after {retry} points at the next month");
    let range = crate::harness::request(bot.addr(), "GET", &bobs, &["Range: bytes=0-99"]);
    assert!(range.status == 206 && range.body == data[..100], "another owner's link goes on");
    assert_eq!(get(bot.addr(), &bobs).status, 200);

    world.tg.send_document(&world.user, &file(&world, 40));
    let refusal = nth_to(&world, world.user.id, 1, "your share of this bot's bandwidth");
    assert!(!refusal.text().unwrap().contains("/dl/"));
    world.tg.send_document(&bob, &file(&world, 41));
    link_reply(&world, &bob, 2);

    world.tg.send_text(&world.user, "/mylinks");
    let page = nth_to(&world, world.user.id, 1, "<b>Your links</b>");
    let text = page.text().unwrap();
    assert!(text.contains("Bandwidth this month: 293.0 KiB of your share of 244.1 KiB (25%)"), "{text}");

    let v = get(bot.addr(), "/api/info").json().unwrap();
    assert_eq!(v["bandwidth_info"]["used_bytes"], 3 * 100_000 + 100 + 100_000, "{v}");
    // 599 900 bytes left: 0.0006 GB, shown to three places like StreamBot.
    assert_eq!(
        (v["bandwidth_info"]["limit_bytes"].as_u64(), v["bandwidth_info"]["remaining_gb"].as_f64()),
        (Some(1_000_000), Some(0.001)),
        "{v}"
    );

    world.tg.send_text(&FakeUser::new(7, "Root"), "/stats");
    let stats = nth_to(&world, 7, 1, "Share per user");
    let text = stats.text().unwrap();
    for part in
        ["Share per user: 25% (244.1 KiB), 1 user past it", "1. Alice (1001): 293.0 KiB", "2. Bob (2004): 97.8 KiB"]
    {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
}
