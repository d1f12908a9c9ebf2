//! Direct mode end to end on long and interrupted downloads: a file of several hundred MB
//! byte-exact, a download resumed by Range after the bot was killed, stale file references
//! refreshed from the link's source message, and a bot whose home DC is not the file's DC.

use std::time::Instant;

use crate::direct::{DirectWorld, expect_generated};
use crate::harness::{bytes, get, raw};
use crate::support::fake_dc::Peer;
use crate::support::raw_http::send_streaming;

const MIB: u64 = 1024 * 1024;

/// The calls of `method` the fake DCs received, with their DC.
fn calls_of(w: &DirectWorld, method: &str) -> Vec<i32> {
    w.dc.methods().iter().filter(|(_, m)| m == method).map(|(dc, _)| *dc).collect()
}

#[test]
fn a_file_of_several_hundred_megabytes_streams_byte_exact() {
    let w = DirectWorld::new("direct-big");
    let size = 300 * MIB + 12_345;
    let file = w.dc.add_generated_document(2, size);
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "big.mkv");
    let started = Instant::now();
    let (res, mut body) = send_streaming(bot.addr(), &raw("GET", &format!("/dl/{token}"), &[], true)).unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some(size.to_string().as_str()));
    assert_eq!(expect_generated(&mut body, 0, size), size, "the body ended early");
    eprintln!("{size} bytes over MTProto in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(w.dc.bytes_served(2), size, "every byte was read from the DC once");
}

#[test]
fn a_download_cut_by_kill_9_resumes_by_range_after_a_restart_on_the_stored_key() {
    let w = DirectWorld::new("direct-kill");
    let size = 48 * MIB + 4_321;
    let file = w.dc.add_generated_document(2, size);
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "film.mkv");
    let path = format!("/dl/{token}");
    let (res, mut body) = send_streaming(bot.addr(), &raw("GET", &path, &[], true)).unwrap();
    assert_eq!(res.status, 200);
    let received = expect_generated(&mut body, 0, 10 * MIB + 777);
    assert_eq!(received, 10 * MIB + 777);
    bot.kill();
    // What the killed bot had in flight is lost; the client keeps what it checked.
    drop(body);

    let bot = w.start_bot(&[]);
    let range = format!("Range: bytes={received}-");
    let (res, mut body) = send_streaming(bot.addr(), &raw("GET", &path, &[&range], true)).unwrap();
    assert_eq!(res.status, 206);
    assert_eq!(res.header("content-range"), Some(format!("bytes {received}-{}/{size}", size - 1).as_str()));
    assert_eq!(expect_generated(&mut body, received, size - received), size - received);
    assert_eq!(w.dc.handshakes(2), 1, "the restarted bot used the auth key stored before the kill");
}

#[test]
fn an_expired_file_reference_is_refreshed_from_the_users_message() {
    let w = DirectWorld::new("direct-ref-user");
    let data = bytes(3 * MIB as usize + 5, 23);
    let file = w.dc.add_document(2, data.clone());
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "clip.mp4");
    let message = w.world.tg.last_message_id_from(w.world.user.id);
    w.dc.put_message(Peer::User(w.world.user.id as i64), message as i32, &file);
    w.dc.rotate_file_reference(&file);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body == data, "body differs ({} bytes)", res.body.len());
    assert!(!calls_of(&w, "messages.getMessages").is_empty(), "the message was read: {:?}", w.dc.methods());
}

#[test]
fn an_expired_file_reference_is_refreshed_from_the_log_channel_copy() {
    let w = DirectWorld::new("direct-ref-channel");
    let channel: i64 = 1_234_567_890;
    let data = bytes(2 * MIB as usize + 9, 29);
    let file = w.dc.add_document(2, data.clone());
    let bot = w.start_bot(&[("LOG_CHANNEL", &format!("-100{channel}"))]);
    let token = w.link_for(&file, "clip.mp4");
    let sent = w.world.tg.sent();
    let forward = sent.iter().find(|s| s.method == "forwardMessage").expect("the file was forwarded to LOG_CHANNEL");
    let copy = forward.message_id.expect("the forward made a message");
    w.dc.put_message(Peer::Channel(channel), copy as i32, &file);
    w.dc.rotate_file_reference(&file);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body == data, "body differs ({} bytes)", res.body.len());
    assert!(!calls_of(&w, "channels.getMessages").is_empty(), "the channel copy was read: {:?}", w.dc.methods());
}

#[test]
fn a_bot_whose_home_dc_is_elsewhere_carries_its_login_to_the_files_dc() {
    let w = DirectWorld::new("direct-home");
    w.dc.set_home_dc(4);
    let data = bytes(MIB as usize + 3, 31);
    let file = w.dc.add_document(2, data.clone());
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "a.bin");
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body == data, "body differs ({} bytes)", res.body.len());
    assert!(calls_of(&w, "auth.importBotAuthorization").contains(&4), "logged in on DC 4: {:?}", w.dc.methods());
    assert_eq!(calls_of(&w, "auth.exportAuthorization"), vec![4], "{:?}", w.dc.methods());
    assert_eq!(calls_of(&w, "auth.importAuthorization"), vec![2], "{:?}", w.dc.methods());
    assert!(w.dc.get_file_calls(2) > 0, "the parts came from DC 2");
}
