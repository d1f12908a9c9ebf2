//! No chat holds up another, and no reply is lost to a fault: 150 files from one user under
//! Telegram's one-message-a-second pace leave another user's link prompt, survive a restart in
//! order and once each; a chat past its queue bound is told once; resets and 5xx are retried.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, is_link_reply, linked_names, token_in};
use crate::support::fake_telegram::{FakeUser, Fault, Sent};

fn link_to(chat: u64) -> impl Fn(&Sent) -> bool {
    move |s| is_link_reply(s) && s.chat_id() == Some(chat as i64)
}

fn journal_rows(world: &World) -> i64 {
    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    db.query_row("SELECT count(*) FROM update_journal", [], |r| r.get(0)).unwrap()
}

/// Sends `n` small documents named `<prefix>-NNN.bin` from `user`.
fn send_files(world: &World, user: &FakeUser, prefix: &str, n: usize) {
    for i in 0..n {
        let file = world.tg.add_file(bytes(100, i as u64), &format!("{prefix}-{i:03}.bin"), "application/octet-stream");
        world.tg.send_document(user, &file);
    }
}

#[test]
fn another_users_link_comes_at_once_behind_150_files_and_a_restart_loses_and_repeats_none() {
    const FILES: usize = 150;
    let world = World::new("fair-150");
    world.tg.set_chat_send_interval(Some(Duration::from_secs(1)));
    let bot = world.start_bot(&[("SHUTDOWN_GRACE_SECS", "5")]);
    let (alice, bob) = (world.user.clone(), FakeUser::new(2002, "Bob"));
    send_files(&world, &alice, "alice", FILES);
    world.tg.wait_for_sent(WAIT, link_to(alice.id)).expect("Alice's first link");

    let file = world.tg.add_file(bytes(500, 9), "bob.bin", "application/octet-stream");
    let sent_at = Instant::now();
    world.tg.send_document(&bob, &file);
    world.tg.wait_for_sent(WAIT, link_to(bob.id)).expect("Bob's link");
    let file_latency = sent_at.elapsed();
    // Carol has had no reply yet, so Telegram's pace of her own chat does not enter her figure.
    let carol = FakeUser::new(3003, "Carol");
    let sent_at = Instant::now();
    world.tg.send_text(&carol, "/id");
    world.tg.wait_for_sent(WAIT, |s| s.chat_id() == Some(carol.id as i64)).expect("Carol's /id");
    let id_latency = sent_at.elapsed();
    eprintln!(
        "behind {FILES} files: Bob's link in {} ms, Carol's /id in {} ms",
        file_latency.as_millis(),
        id_latency.as_millis()
    );
    assert!(file_latency < Duration::from_secs(2), "Bob's link waited {file_latency:?}");
    assert!(id_latency < Duration::from_secs(2), "Carol's /id waited {id_latency:?}");

    // Stop in the middle: what is left stays in the journal, which Telegram no longer holds.
    world.tg.wait_for_nth_sent(WAIT, 3, link_to(alice.id)).expect("three of Alice's links");
    bot.signal("TERM");
    assert!(bot.wait_exit(WAIT).expect("exits").success());
    drop(bot);
    let left = journal_rows(&world);
    let done = linked_names(&world, alice.id).len();
    assert!(left > 0 && done < FILES, "stopped in the middle: {done} sent, {left} journaled");
    assert_eq!(world.tg.pending_updates(), 0, "every update was confirmed to Telegram");

    world.tg.set_chat_send_interval(None);
    let _bot = world.start_bot(&[]);
    let all = world.tg.wait_for_nth_sent(Duration::from_secs(60), FILES, link_to(alice.id));
    assert!(all.is_some(), "{} of {FILES} links", linked_names(&world, alice.id).len());
    let expected: Vec<String> = (0..FILES).map(|i| format!("alice-{i:03}.bin")).collect();
    assert_eq!(linked_names(&world, alice.id), expected, "in order, each once");
    let tokens: HashSet<String> =
        world.tg.sent().iter().filter(|s| link_to(alice.id)(s)).filter_map(|s| token_in(s.text()?)).collect();
    assert_eq!(tokens.len(), FILES, "one link per file");
}

#[test]
fn a_chat_past_500_waiting_is_told_once_to_slow_down_and_other_chats_go_on() {
    let world = World::new("fair-bound");
    world.tg.set_chat_send_interval(Some(Duration::from_secs(1)));
    let bot = world.start_bot(&[("SHUTDOWN_GRACE_SECS", "0")]);
    let bob = FakeUser::new(2002, "Bob");
    let rss_before = bot.rss_kib();
    for _ in 0..520 {
        world.tg.send_text(&world.user, "hello");
    }
    let told = world
        .tg
        .wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("Slow down")))
        .unwrap_or_else(|| panic!("no slow-down note:\n{}", bot.output()));
    assert!(told.text().unwrap().contains("500"), "{:?}", told.text());
    world.tg.send_text(&bob, "/id");
    world.tg.wait_for_sent(WAIT, |s| s.chat_id() == Some(bob.id as i64)).expect("Bob is answered");
    let rss_after = bot.rss_kib();
    eprintln!("500 updates queued in one chat: RSS {rss_before} KiB before, {rss_after} KiB after");
    assert!(rss_after < rss_before + 4096, "the queue lives in the journal, not in memory");
    bot.signal("TERM");
    assert!(bot.wait_exit(WAIT).expect("exits").success());
    let notes = world.tg.messages_to(world.user.id as i64).iter().filter(|t| t.contains("Slow down")).count();
    assert_eq!(notes, 1, "told once");
    let left = journal_rows(&world);
    assert!(left <= 500, "the journal keeps at most 500 of one chat, not {left}");
    assert!(bot.output().contains("dropped "), "{}", bot.output());
}

#[test]
fn every_link_arrives_through_resets_before_and_after_telegram_took_the_reply() {
    const USERS: u64 = 10;
    const FILES: usize = 10;
    let world = World::new("fair-resets");
    let _bot = world.start_bot(&[]);
    for _ in 0..8 {
        world.tg.fail_next("sendMessage", Fault::Drop);
    }
    for _ in 0..2 {
        world.tg.fail_next("sendMessage", Fault::DropAfterEffect);
    }
    let users: Vec<FakeUser> = (0..USERS).map(|i| FakeUser::new(5000 + i, &format!("U{i}"))).collect();
    for user in &users {
        send_files(&world, user, &format!("{}", user.id), FILES);
    }
    // Counted by file name: a reply sent twice must not pass for another file's link.
    let deadline = Instant::now() + Duration::from_secs(60);
    for user in &users {
        while linked_names(&world, user.id).iter().collect::<HashSet<_>>().len() < FILES {
            assert!(Instant::now() < deadline, "user {}: {:?}", user.id, linked_names(&world, user.id));
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let total = USERS as usize * FILES;
    world.tg.wait_for_nth_sent(WAIT, total + 2, is_link_reply).expect("the two replies that landed are sent again");
    let links: Vec<String> =
        world.tg.sent().iter().filter(|s| is_link_reply(s)).filter_map(|s| token_in(s.text()?)).collect();
    let distinct: HashSet<&String> = links.iter().collect();
    eprintln!("{total} files, 10 reset replies: {} distinct links, {} link messages", distinct.len(), links.len());
    assert_eq!(distinct.len(), total, "every file got its link");
    assert_eq!(links.len(), total + 2, "the two replies that landed before their reset are sent twice");
    assert_eq!(world.tg.calls("sendMessage"), total + 10, "each fault cost one call");
}

#[test]
fn a_reply_telegram_never_takes_is_counted_the_user_is_asked_again_and_keeps_the_quota() {
    let world = World::new("fair-lost");
    let bot = world.start_bot(&[("REPLY_RETRY_SECS", "2"), ("MAX_LINKS_PER_DAY", "1")]);
    let chat = world.user.id as i64;
    // A 2 s budget allows two tries (a pause of 1 s, then one of 2 s would end past it).
    for _ in 0..2 {
        world.tg.fail_next_for_chat("sendMessage", chat, Fault::server_error());
    }
    let file = world.tg.add_file(bytes(300, 1), "lost.bin", "application/octet-stream");
    world.tg.send_document(&world.user, &file);
    let sorry = world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("send the file again")));
    assert!(sorry.is_some(), "no try-again note:\n{}", bot.output());
    assert_eq!(world.tg.calls("sendMessage"), 3, "two tries of the link, one note");
    // The note goes out just before the handler returns and counts the loss.
    let deadline = Instant::now() + WAIT;
    while !String::from_utf8_lossy(&get(bot.addr(), "/metrics").body).contains("streambot_replies_lost_total 1") {
        assert!(Instant::now() < deadline, "the lost reply was never counted in /metrics");
        std::thread::sleep(Duration::from_millis(20));
    }
    let logged = bot.wait_for_event(WAIT, "reply_failed", &[]);
    assert!(logged.is_some(), "{}", bot.output());
    assert_eq!(bot.count_events("reply_failed", &[]), 1, "one line for the operator");

    // The lost link did not use up the day's one link.
    let token = world.link_for(&file);
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 200);
}
