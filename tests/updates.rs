//! Updates side by side: a flood wait in one chat leaves the other chats alone, a reply cut off
//! by shutdown or a crash comes once after the restart with the same link, and a burst of a
//! thousand files from fifty users gets every link, in order per user.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::harness::{SECRET, WAIT, World, bytes, get, is_link_reply, linked_names, token_in};
use crate::support::fake_telegram::{FakeUser, Fault};
use streambot::links::{Claims, Signer};

fn is_link_to(chat: u64) -> impl Fn(&crate::support::fake_telegram::Sent) -> bool {
    move |s| is_link_reply(s) && s.chat_id() == Some(chat as i64)
}

/// Tokens of the link rows in the bot's database, in id order, minted as the bot mints them.
fn stored_tokens(world: &World) -> Vec<String> {
    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    let mut query = db.prepare("SELECT id, expires_at FROM links ORDER BY id").unwrap();
    let signer = Signer::new(SECRET.as_bytes());
    query
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .map(|row| {
            let (id, expires_at) = row.unwrap();
            signer.mint(Claims { link_id: id as u64, expires_at: expires_at as u64 })
        })
        .collect()
}

#[test]
fn a_flood_wait_in_one_chat_holds_back_that_chat_only() {
    let world = World::new("flood");
    let _bot = world.start_bot(&[]);
    let alice = world.user.clone();
    let bob = FakeUser::new(2002, "Bob");
    for _ in 0..3 {
        world.tg.fail_next_for_chat("sendMessage", alice.id as i64, Fault::too_many_requests(8));
    }
    for i in 0..3 {
        let file = world.tg.add_file(bytes(1000 + i, i as u64), &format!("alice-{i}.bin"), "application/octet-stream");
        world.tg.send_document(&alice, &file);
    }
    // Alice's first reply met its 429: her chat waits 8 s now, three times over.
    assert!(world.tg.wait_for_calls("sendMessage", 1, WAIT), "Alice's first reply was never tried");
    let flood_began = Instant::now();

    let file = world.tg.add_file(bytes(500, 9), "bob.bin", "application/octet-stream");
    let sent_at = Instant::now();
    world.tg.send_document(&bob, &file);
    world.tg.wait_for_sent(WAIT, is_link_to(bob.id)).expect("Bob gets his link during Alice's flood wait");
    let latency = sent_at.elapsed();
    eprintln!("flood fairness: Bob's link came {} ms after his file, during Alice's flood wait", latency.as_millis());
    assert!(latency < Duration::from_secs(2), "Bob waited {latency:?} behind Alice's flood wait");
    assert!(linked_names(&world, alice.id).is_empty(), "Alice's chat is held back still");

    let third = world.tg.wait_for_nth_sent(Duration::from_secs(60), 3, is_link_to(alice.id));
    assert!(third.is_some(), "Alice's links: {:?}", linked_names(&world, alice.id));
    assert!(flood_began.elapsed() >= Duration::from_secs(23), "three 8 s waits were not honoured");
    assert_eq!(linked_names(&world, alice.id), ["alice-0.bin", "alice-1.bin", "alice-2.bin"]);
    assert_eq!(world.tg.calls("sendMessage"), 3 + 3 + 1, "three refused tries, then every link once");
}

/// A reply stuck behind a 30 s flood wait when `stop` ends the bot (grace 1 s); the restart on
/// the same data sends that link once, the same token the first run stored.
fn stuck_reply_comes_once_after_restart(tag: &str, stop: &str) -> ExitStatus {
    let world = World::new(tag);
    world.tg.fail_next_for_chat("sendMessage", world.user.id as i64, Fault::too_many_requests(30));
    let data = bytes(2000, 7);
    let file = world.tg.add_file(data.clone(), "stuck.bin", "application/octet-stream");
    let bot = world.start_bot(&[("SHUTDOWN_GRACE_SECS", "1")]);
    world.tg.send_document(&world.user, &file);
    assert!(bot.wait_for_event(WAIT, "rate_limited", &[("method", "sendMessage")]).is_some(), "{}", bot.output());
    let stopped = Instant::now();
    bot.signal(stop);
    let status = bot.wait_exit(WAIT).expect("the bot exits");
    assert!(stopped.elapsed() < Duration::from_secs(10), "exit took {:?} with a 1 s grace", stopped.elapsed());
    assert!(!world.tg.sent().iter().any(is_link_reply), "no link went out before the stop");
    let stored = stored_tokens(&world);
    assert_eq!(stored.len(), 1, "the first run stored the link before replying");
    let first_log = bot.output();
    drop(bot);

    let bot = world.start_bot(&[]);
    let reply = world.tg.wait_for_sent(WAIT, is_link_reply).unwrap_or_else(|| panic!("no link:\n{}", bot.output()));
    assert_eq!(token_in(reply.text().unwrap()).as_ref(), Some(&stored[0]), "the stored link, not a new one");
    // A later update's reply comes after any duplicate would have.
    world.tg.send_text(&world.user, "/about");
    world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("streambot"))).unwrap();
    assert_eq!(world.tg.sent().iter().filter(|s| is_link_reply(s)).count(), 1, "{:#?}", world.tg.sent());
    assert_eq!(stored_tokens(&world), stored, "no second link row");
    let res = get(bot.addr(), &format!("/dl/{}", stored[0]));
    assert!(res.status == 200 && res.body == data, "the link serves the file");
    assert!(bot.output().contains("did not finish before the last stop"), "{}", bot.output());
    if stop == "TERM" {
        assert!(first_log.contains("gave up on update"), "{first_log}");
    }
    status
}

#[test]
fn a_reply_cut_off_by_shutdown_comes_once_after_the_restart_with_the_same_link() {
    let status = stuck_reply_comes_once_after_restart("replay-term", "TERM");
    assert!(status.success(), "a shutdown that cut an update is still clean: {status:?}");
}

#[test]
fn a_reply_lost_in_a_crash_comes_once_after_the_restart_with_the_same_link() {
    let status = stuck_reply_comes_once_after_restart("replay-kill", "KILL");
    assert!(!status.success());
}

#[test]
fn a_burst_of_a_thousand_files_from_fifty_users_gets_every_link_in_order_per_user() {
    const USERS: u64 = 50;
    const FILES: usize = 20;
    let world = World::new("burst");
    let bot = world.start_bot(&[]);
    assert!(world.tg.wait_for_calls("getUpdates", 1, WAIT));
    let users: Vec<FakeUser> = (0..USERS).map(|i| FakeUser::new(10_000 + i, &format!("U{i}"))).collect();
    let files: Vec<Vec<_>> = users
        .iter()
        .map(|u| {
            (0..FILES)
                .map(|n| {
                    world.tg.add_file(bytes(64, u.id * 100 + n as u64), &format!("{}-{n:02}.bin", u.id), "text/plain")
                })
                .collect()
        })
        .collect();

    let started = Instant::now();
    let mut last_update = 0;
    // Round-robin over the users: their files interleave in the update queue.
    for n in 0..FILES {
        for (user, theirs) in users.iter().zip(&files) {
            last_update = world.tg.send_document(user, &theirs[n]);
        }
    }
    let total = USERS as usize * FILES;
    let all = world.tg.wait_for_nth_sent(Duration::from_secs(120), total, is_link_reply);
    let secs = started.elapsed().as_secs_f64();
    let links: Vec<String> =
        world.tg.sent().iter().filter(|s| is_link_reply(s)).filter_map(|s| token_in(s.text()?)).collect();
    assert!(all.is_some(), "{} of {total} links", links.len());
    eprintln!("burst: {total} links to {USERS} users in {secs:.2} s: {:.0} links/s", total as f64 / secs);
    let mut distinct = links.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!((links.len(), distinct.len()), (total, total), "every file one link, every link its own token");
    for user in &users {
        let expected: Vec<String> = (0..FILES).map(|n| format!("{}-{n:02}.bin", user.id)).collect();
        assert_eq!(linked_names(&world, user.id), expected, "replies to {} out of order", user.id);
    }

    // Everything finished: a clean stop leaves no journal, and the offset is past the burst.
    bot.signal("TERM");
    assert!(bot.wait_exit(WAIT).expect("exits").success());
    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    let journal: i64 = db.query_row("SELECT count(*) FROM update_journal", [], |r| r.get(0)).unwrap();
    let offset: String = db.query_row("SELECT value FROM kv WHERE key = 'poll_offset'", [], |r| r.get(0)).unwrap();
    assert_eq!((journal, offset), (0, (last_update + 1).to_string()));
}

#[test]
fn a_flood_wait_on_the_log_channel_skips_the_backup_and_holds_up_no_link() {
    const CHANNEL: i64 = -1009876;
    let world = World::new("flood-channel");
    let bot = world.start_bot(&[("LOG_CHANNEL", &CHANNEL.to_string())]);
    world.tg.fail_next_for_chat("forwardMessage", CHANNEL, Fault::too_many_requests(30));
    for i in 0..2 {
        let data = bytes(3000, 40 + i);
        let file = world.tg.add_file(data.clone(), &format!("c-{i}.bin"), "application/octet-stream");
        let started = Instant::now();
        let token = world.link_for(&file);
        assert!(started.elapsed() < Duration::from_secs(2), "link {i} waited {:?} for the channel", started.elapsed());
        let res = get(bot.addr(), &format!("/dl/{token}"));
        assert!(res.status == 200 && res.body == data, "link {i} serves the original file");
    }
    assert_eq!(world.tg.calls("forwardMessage"), 1, "while the channel is held, no backup is tried");
    let skipped = bot.count_events("backup_skipped", &[("channel", &CHANNEL.to_string()), ("reason", "failed")]);
    assert_eq!(skipped, 2, "{}", bot.output());
}
