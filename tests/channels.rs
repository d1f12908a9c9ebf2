//! Channel posts: a media post in a channel listed in `CHANNELS` gets Download / Watch buttons
//! after its own, an unlisted channel gets nothing, edits and restarts keep the one link, an
//! admin revokes it, and channel links count against no user's daily limit.

use serde_json::{Value, json};

use crate::harness::{SECRET, WAIT, World, bytes, get, token_in};
use crate::support::bot_process::BotProcess;
use crate::support::fake_telegram::{FakeUser, Fault, Sent};
use streambot::links::Signer;

const CHANNEL: i64 = -1_001_000_000_001;
const OTHER_CHANNEL: i64 = -1_001_000_000_002;
/// Telegram refuses loopback URLs in buttons: links need a public-looking host (never resolved).
const BASE: &str = "https://dl.example.com";

fn channel_bot(world: &World, extra: &[(&str, &str)]) -> BotProcess {
    let mut env = vec![("BASE_URL", BASE), ("CHANNELS", "-1001000000001")];
    env.extend_from_slice(extra);
    world.start_bot(&env)
}

fn is_button_edit(s: &Sent) -> bool {
    s.method == "editMessageReplyMarkup"
}

/// The `n`-th button edit (1-based), waited for.
fn nth_edit(world: &World, n: usize) -> Sent {
    world
        .tg
        .wait_for_nth_sent(WAIT, n, is_button_edit)
        .unwrap_or_else(|| panic!("no button edit {n}: {:#?}", world.tg.sent()))
}

/// The edit's keyboard as rows of (text, url).
fn rows(edit: &Sent) -> Vec<Vec<(String, String)>> {
    let markup = match &edit.params["reply_markup"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    let row = |r: &Value| -> Vec<(String, String)> {
        let button = |b: &Value| (b["text"].as_str().unwrap().to_owned(), b["url"].as_str().unwrap_or("").to_owned());
        r.as_array().unwrap().iter().map(button).collect()
    };
    markup["inline_keyboard"].as_array().unwrap().iter().map(row).collect()
}

/// The token of the edit's Download button.
fn token_of(edit: &Sent) -> String {
    let rows = rows(edit);
    let (_, url) = rows.iter().flatten().find(|(text, _)| text == "Download").expect("a Download button");
    token_in(url).unwrap()
}

fn link_rows(world: &World) -> i64 {
    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    db.query_row("SELECT count(*) FROM links", [], |r| r.get(0)).unwrap()
}

fn expiry_of(token: &str) -> u64 {
    Signer::new(SECRET.as_bytes()).verify(token, 0).unwrap().expires_at
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn a_media_post_in_a_listed_channel_gets_buttons_after_its_own_and_the_download_serves_the_file() {
    let world = World::new("chanpost");
    let bot = channel_bot(&world, &[]);
    let data = bytes(5000, 71);
    let file = world.tg.add_file(data.clone(), "clip.mp4", "video/mp4");
    let own = json!({"inline_keyboard": [[{"text": "Shop", "url": "https://shop.example"}]]});
    let (_, post) = world.tg.post_in_channel(CHANNEL, "video", &file, Some(own));
    let edit = nth_edit(&world, 1);
    assert_eq!((edit.chat_id(), edit.param("message_id")), (Some(CHANNEL), Some(post.to_string())));
    let token = token_of(&edit);
    let expected = vec![
        vec![("Shop".to_owned(), "https://shop.example".to_owned())],
        vec![
            ("Download".into(), format!("{BASE}/dl/{token}/clip.mp4")),
            ("Watch".into(), format!("{BASE}/watch/{token}/clip.mp4")),
        ],
    ];
    assert_eq!(rows(&edit), expected);
    assert_eq!(expiry_of(&token), 0, "CHANNEL_LINK_EXPIRY_SECONDS defaults to the post's life");
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!((res.status, res.body == data), (200, true));
    assert!(world.tg.messages_to(CHANNEL).is_empty(), "nothing is posted in the channel");
}

#[test]
fn a_post_in_an_unlisted_channel_gets_no_buttons() {
    let world = World::new("chanother");
    let bot = channel_bot(&world, &[]);
    let file = world.tg.add_file(bytes(100, 72), "a.pdf", "application/pdf");
    world.tg.post_in_channel(OTHER_CHANNEL, "document", &file, None);
    assert!(
        bot.wait_for_event(WAIT, "channel_post_ignored", &[("channel", &OTHER_CHANNEL.to_string())]).is_some(),
        "{}",
        bot.output()
    );
    world.tg.post_in_channel(CHANNEL, "document", &file, None);
    assert_eq!(nth_edit(&world, 1).chat_id(), Some(CHANNEL));
    let edits: Vec<Sent> = world.tg.sent().into_iter().filter(is_button_edit).collect();
    assert_eq!(edits.len(), 1, "{edits:#?}");
    assert_eq!(link_rows(&world), 1);
}

#[test]
fn a_loopback_base_url_gets_a_warning_and_no_edit() {
    let world = World::new("chanloop");
    let bot = channel_bot(&world, &[("BASE_URL", "http://127.0.0.1:8080")]);
    let file = world.tg.add_file(bytes(100, 76), "a.pdf", "application/pdf");
    world.tg.post_in_channel(CHANNEL, "document", &file, None);
    assert!(bot.wait_for_event(WAIT, "buttons_skipped", &[("reason", "refused")]).is_some(), "{}", bot.output());
    assert_eq!(world.tg.calls("editMessageReplyMarkup"), 0);
    assert_eq!(link_rows(&world), 0, "no link no one can see");
}

#[test]
fn an_edited_post_keeps_its_link_and_its_buttons() {
    let world = World::new("chanedit");
    let bot = channel_bot(&world, &[]);
    let file = world.tg.add_file(bytes(100, 73), "a.pdf", "application/pdf");
    let (_, post) = world.tg.post_in_channel(CHANNEL, "document", &file, None);
    let token = token_of(&nth_edit(&world, 1));
    world.tg.edit_channel_post(post, "a new caption");
    assert!(bot.wait_for_event(WAIT, "buttons_skipped", &[("reason", "present")]).is_some(), "{}", bot.output());
    assert_eq!(world.tg.calls("editMessageReplyMarkup"), 1, "no second edit");
    assert_eq!(link_rows(&world), 1, "no second link");

    // A post whose buttons never landed gets them on its next edit, with the same link.
    world.tg.fail_next("editMessageReplyMarkup", Fault::status(400, "Bad Request: not enough rights"));
    let (_, post) = world.tg.post_in_channel(CHANNEL, "document", &file, None);
    assert!(world.tg.wait_for_calls("editMessageReplyMarkup", 2, WAIT));
    let (channel, post_id) = (CHANNEL.to_string(), post.to_string());
    let made = bot.wait_for_event(WAIT, "link_made", &[("channel", &channel), ("post", &post_id)]).unwrap();
    world.tg.edit_channel_post(post, "edited");
    let again = nth_edit(&world, 2);
    assert_eq!(again.param("message_id"), Some(post.to_string()));
    let second = token_of(&again);
    assert!(second != token && made.contains(&format!("token={}", &second[..8])), "{made} / {second}");
    assert_eq!(link_rows(&world), 2, "the edit found the post's link");
}

#[test]
fn an_edit_that_replaces_the_file_gets_a_new_link_whose_buttons_replace_the_old_ones() {
    let world = World::new("chanreplace");
    let bot = channel_bot(&world, &[]);
    let first = world.tg.add_file(bytes(100, 77), "a.pdf", "application/pdf");
    let own = json!({"inline_keyboard": [[{"text": "Shop", "url": "https://shop.example"}]]});
    let (_, post) = world.tg.post_in_channel(CHANNEL, "document", &first, Some(own));
    let old = token_of(&nth_edit(&world, 1));
    let data = bytes(3000, 78);
    let second = world.tg.add_file(data.clone(), "b.mp4", "video/mp4");
    world.tg.replace_channel_media(post, "video", &second);
    let edit = nth_edit(&world, 2);
    let new = token_of(&edit);
    assert_ne!(new, old, "a link to the new file");
    let expected = vec![
        vec![("Shop".to_owned(), "https://shop.example".to_owned())],
        vec![
            ("Download".into(), format!("{BASE}/dl/{new}/b.mp4")),
            ("Watch".into(), format!("{BASE}/watch/{new}/b.mp4")),
        ],
    ];
    assert_eq!(rows(&edit), expected, "the old link's row gave way");
    assert_eq!(link_rows(&world), 2);
    let res = get(bot.addr(), &format!("/dl/{new}"));
    assert_eq!((res.status, res.body == data), (200, true));
}

#[test]
fn a_restart_mid_way_edits_again_with_the_link_it_made() {
    let world = World::new("chanreplay");
    let bot = channel_bot(&world, &[]);
    for _ in 0..3 {
        world.tg.fail_next("editMessageReplyMarkup", Fault::Drop);
    }
    let file = world.tg.add_file(bytes(100, 74), "a.pdf", "application/pdf");
    world.tg.post_in_channel(CHANNEL, "document", &file, None);
    let made = bot.wait_for_event(WAIT, "link_made", &[("channel", &CHANNEL.to_string())]).expect("a link was made");
    assert!(world.tg.wait_for_calls("editMessageReplyMarkup", 1, WAIT));
    bot.kill();
    let bot = channel_bot(&world, &[]);
    let token = token_of(&nth_edit(&world, 1));
    assert!(made.contains(&format!("token={}", &token[..8])), "{made}");
    assert_eq!(bot.count_events("link_made", &[]), 0, "{}", bot.output());
    assert_eq!(link_rows(&world), 1);
}

#[test]
fn an_admin_revokes_a_channel_link_and_others_cannot() {
    let world = World::new("chanrevoke");
    let bot = channel_bot(&world, &[("ADMINS", "1001")]);
    let file = world.tg.add_file(bytes(100, 75), "a.pdf", "application/pdf");
    world.tg.post_in_channel(CHANNEL, "document", &file, None);
    let token = token_of(&nth_edit(&world, 1));
    let stranger = FakeUser::new(3003, "Eve");
    world.tg.send_text(&stranger, &format!("/revoke {BASE}/dl/{token}"));
    let refusal = world.tg.wait_for_sent(WAIT, |s| s.chat_id() == Some(3003)).unwrap();
    assert!(refusal.text().unwrap().contains("only the person who made"), "{refusal:?}");
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 200);
    world.tg.send_text(&world.user, &format!("/revoke {token}"));
    let done = world.tg.wait_for_sent(WAIT, |s| s.chat_id() == Some(1001)).unwrap();
    assert!(done.text().unwrap().contains("Link revoked"), "{done:?}");
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 410);
}

#[test]
fn channel_links_count_against_no_daily_limit_and_follow_their_own_expiry() {
    let world = World::new("chanlimit");
    let _bot = channel_bot(&world, &[("MAX_LINKS_PER_DAY", "1"), ("CHANNEL_LINK_EXPIRY_SECONDS", "3600")]);
    for i in 0..3 {
        let file = world.tg.add_file(bytes(100, 80 + i), &format!("p{i}.pdf"), "application/pdf");
        world.tg.post_in_channel(CHANNEL, "document", &file, None);
    }
    let token = token_of(&nth_edit(&world, 3));
    let expiry = expiry_of(&token);
    assert!(expiry.abs_diff(now() + 3600) < 60, "expires at {expiry}");
    let file = world.tg.add_file(bytes(100, 90), "mine.pdf", "application/pdf");
    let mine = world.link_for(&file);
    assert!(expiry_of(&mine).abs_diff(now() + 86_400) < 60, "a user's link keeps LINK_EXPIRY_SECONDS");
    assert_eq!(link_rows(&world), 4);
}
