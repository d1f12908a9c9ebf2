//! Who may use the bot: `ALLOWED_USERS`, and an admin's `/ban` (with `revoke`), `/unban` and
//! `/banned`; refused users are told once and get no links, and broadcasts pass them by.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::harness::{WAIT, World, bytes, get, is_link_reply, raw, read_all, token_in};
use crate::support::fake_telegram::{FakeUser, Fault, Sent};

/// The `n`-th message sent to `chat` whose text contains `needle`.
fn nth_to(world: &World, chat: u64, n: usize, needle: &str) -> Sent {
    let pred = |s: &Sent| {
        (s.method == "sendMessage" || s.method == "editMessageText")
            && s.chat_id() == Some(chat as i64)
            && s.text().is_some_and(|t| t.contains(needle))
    };
    world
        .tg
        .wait_for_nth_sent(WAIT, n, pred)
        .unwrap_or_else(|| panic!("no {needle:?} to {chat}: {:#?}", world.tg.sent()))
}

fn links_to(world: &World, chat: u64) -> usize {
    world.tg.sent().iter().filter(|s| is_link_reply(s) && s.chat_id() == Some(chat as i64)).count()
}

fn file(world: &World, seed: u64) -> crate::support::fake_telegram::FileRef {
    world.tg.add_file(bytes(1000, seed), &format!("f{seed}.bin"), "application/octet-stream")
}

#[test]
fn a_user_allowed_users_does_not_list_is_told_once_and_gets_no_link() {
    let world = World::new("allowed");
    let admin = FakeUser::new(7, "Root");
    let friend = FakeUser::new(2002, "Friend");
    let bot = world.start_bot(&[("ALLOWED_USERS", "2002"), ("ADMINS", "7")]);
    world.tg.send_document(&world.user, &file(&world, 1));
    nth_to(&world, world.user.id, 1, "this bot is private");
    world.tg.send_document(&world.user, &file(&world, 2));
    assert!(bot.wait_for_event(WAIT, "refused_silently", &[("user", "1001")]).is_some(), "{}", bot.output());
    world.tg.send_callback(&world.user, 1, "help");
    assert!(world.tg.wait_for_calls("answerCallbackQuery", 1, WAIT), "the press was answered");
    assert_eq!(world.tg.messages_to(world.user.id as i64).len(), 1, "one refusal, then silence");
    assert_eq!(links_to(&world, world.user.id), 0);

    world.tg.send_document(&friend, &file(&world, 3));
    world.tg.send_document(&admin, &file(&world, 4));
    let pred = |s: &Sent| is_link_reply(s);
    assert!(world.tg.wait_for_nth_sent(WAIT, 2, pred).is_some(), "the listed user and the admin get links");
    assert_eq!(links_to(&world, world.user.id), 0);
}

#[test]
fn a_ban_outlives_a_restart_and_unban_restores_the_user() {
    let world = World::new("ban");
    let admin = FakeUser::new(7, "Root");
    let env = [("ADMINS", "7")];
    let bot = world.start_bot(&env);
    let token = world.link_for(&file(&world, 1));
    world.tg.send_text(&admin, "/ban 7");
    nth_to(&world, admin.id, 1, "admins cannot be banned");
    world.tg.send_text(&admin, "/ban alice");
    nth_to(&world, admin.id, 1, "is not a user id");
    world.tg.send_text(&admin, "/ban 1001");
    nth_to(&world, admin.id, 1, "<code>1001</code> is banned");
    world.tg.send_text(&admin, "/ban 1001");
    nth_to(&world, admin.id, 1, "already banned");
    world.tg.send_document(&world.user, &file(&world, 2));
    nth_to(&world, world.user.id, 1, "You have been banned");
    assert_eq!(links_to(&world, world.user.id), 1, "no link for the banned user's file");
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 200, "a ban without revoke keeps their links");
    drop(bot);

    let _bot = world.start_bot(&env);
    world.tg.send_text(&admin, "/banned");
    let list = nth_to(&world, admin.id, 1, "Banned users");
    assert!(list.text().unwrap().contains("1. <code>1001</code>, banned by <code>7</code> on "), "{list:?}");
    world.tg.send_document(&world.user, &file(&world, 3));
    nth_to(&world, world.user.id, 2, "You have been banned");
    world.tg.send_text(&admin, "/unban 1001");
    nth_to(&world, admin.id, 1, "<code>1001</code> is unbanned");
    world.tg.send_text(&admin, "/unban 1001");
    nth_to(&world, admin.id, 1, "is not banned");
    world.link_for(&file(&world, 4));
    assert_eq!(links_to(&world, world.user.id), 2, "the file sent while banned after the restart got none");
}

#[test]
fn ban_with_revoke_makes_the_users_links_answer_410_and_ends_their_running_download() {
    let world = World::new("banrevoke");
    let admin = FakeUser::new(7, "Root");
    let bot = world.start_bot(&[("ADMINS", "7")]);
    let size = 19 * 1024 * 1024;
    let big = world.tg.add_file(bytes(size, 51), "big.bin", "application/octet-stream");
    let running_token = world.link_for(&big);
    let idle_token = world.link_for(&file(&world, 2));
    world.tg.send_document(&admin, &file(&world, 3));
    let admins_link = world.tg.wait_for_sent(WAIT, |s| is_link_reply(s) && s.chat_id() == Some(7)).unwrap();
    let admins_token = token_in(admins_link.text().unwrap()).unwrap();
    // A slow reader: it takes the first 256 KiB and then reads no more while the ban comes.
    let mut running = TcpStream::connect(bot.addr()).unwrap();
    running.set_read_timeout(Some(WAIT)).unwrap();
    running.write_all(&raw("GET", &format!("/dl/{running_token}"), &[], true)).unwrap();
    assert!(read_all(&mut running, 256 * 1024) >= 256 * 1024, "the download started");

    world.tg.send_text(&admin, "/ban 1001 revoke");
    let reply = nth_to(&world, admin.id, 1, "is banned");
    assert!(reply.text().unwrap().contains("Revoked 2 links; 1 running download ended."), "{reply:?}");
    for token in [&running_token, &idle_token] {
        assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 410);
    }
    assert_eq!(get(bot.addr(), &format!("/dl/{admins_token}")).status, 200, "other users' links work");
    let rest = read_all(&mut running, size);
    assert!(rest + 256 * 1024 < size, "the running download was cut: {rest} more bytes");
}

#[test]
fn a_download_that_was_starting_when_its_link_was_revoked_gets_410_not_the_file() {
    let world = World::new("banrace");
    let admin = FakeUser::new(7, "Root");
    let bot = world.start_bot(&[("ADMINS", "7")]);
    let token = world.link_for(&file(&world, 1));
    // The download waits on getFile (no stream registered yet) while the ban revokes the link.
    world.tg.fail_next("getFile", Fault::Stall(Duration::from_secs(5)));
    let addr = bot.addr();
    let path = format!("/dl/{token}");
    let download = std::thread::spawn(move || get(addr, &path).status);
    assert!(world.tg.wait_for_calls("getFile", 1, WAIT), "the download asked for the file");
    world.tg.send_text(&admin, "/ban 1001 revoke");
    let reply = nth_to(&world, admin.id, 1, "is banned");
    assert!(reply.text().unwrap().contains("Revoked 1 link; 0 running downloads ended."), "{reply:?}");
    assert_eq!(download.join().unwrap(), 410);
}

#[test]
fn a_broadcast_passes_a_banned_user_by() {
    let world = World::new("banbroadcast");
    let _bot = world.start_bot(&[("ADMINS", "1001")]);
    let users: Vec<FakeUser> = (0..3).map(|i| FakeUser::new(3000 + i, "U")).collect();
    for u in &users {
        world.tg.send_text(u, "/start");
    }
    let hi = |s: &Sent| s.method == "sendMessage" && s.text().is_some_and(|t| t.starts_with("Hi U!"));
    assert!(world.tg.wait_for_nth_sent(WAIT, 3, hi).is_some(), "not all registered");
    world.tg.send_text(&world.user, "/ban 3001");
    nth_to(&world, world.user.id, 1, "<code>3001</code> is banned");
    world.tg.send_text(&world.user, "News");
    let post_id = world.tg.last_message_id_from(world.user.id);
    world.tg.send_text_replying(&world.user, "/broadcast", post_id);
    nth_to(&world, world.user.id, 1, "Broadcast finished");
    let mut copies: Vec<i64> =
        world.tg.sent().iter().filter(|s| s.method == "copyMessage").filter_map(Sent::chat_id).collect();
    copies.sort();
    assert_eq!(copies, [1001, 3000, 3002]);
}
