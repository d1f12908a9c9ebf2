//! The `/watch` player page and the Watch link in the bot's reply (built-in page, or
//! `VIDEO_FRONTEND_URL`).

use crate::harness::{WAIT, World, bytes, get, is_link_reply, request, token_in};
use crate::support::fake_telegram::{FileRef, Sent};

/// Sends `file` as `kind` and returns the bot's link reply.
fn reply_for(world: &World, kind: &str, file: &FileRef) -> Sent {
    world.tg.send_media(&world.user, kind, file);
    world.tg.wait_for_sent(WAIT, is_link_reply).unwrap_or_else(|| panic!("no link reply: {:#?}", world.tg.sent()))
}

/// URLs of the reply's inline buttons, by button text.
fn buttons(reply: &Sent) -> Vec<(String, String)> {
    let markup = &reply.params["reply_markup"];
    let markup = match markup.as_str() {
        Some(text) => serde_json::from_str(text).unwrap(),
        None => markup.clone(),
    };
    markup["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .map(|b| (b["text"].as_str().unwrap_or("").to_owned(), b["url"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_video_gets_a_watch_page_with_its_escaped_name_and_a_download_button() {
    let world = World::new("watch");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(4096, 41), "<b>&\"clip\".webm", "video/webm");
    let reply = reply_for(&world, "video", &file);
    let text = reply.text().unwrap();
    let token = token_in(text).unwrap();
    assert!(text.contains(&format!("/watch/{token}")), "{text}");

    let res = get(bot.addr(), &format!("/watch/{token}"));
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(res.header("content-security-policy").unwrap().contains("default-src 'none'"));
    let html = res.text();
    assert!(html.contains("&lt;b&gt;&amp;&quot;clip&quot;.webm"), "{html}");
    assert!(!html.contains("<b>&"));
    // The short form is one level up from the named one: its relative links climb one level.
    let name = "%3Cb%3E%26%22clip%22.webm";
    assert!(html.contains(&format!("<source src=\"../stream/{token}/{name}\" type=\"video/webm\">")), "{html}");
    assert!(html.contains(&format!("href=\"../dl/{token}/{name}\"")) && html.contains("4.00 KiB"));
    assert!(text.contains(&format!("/watch/{token}/{name}")), "the message carries the named link: {text}");
    let named = get(bot.addr(), &format!("/watch/{token}/{name}")).text();
    assert!(named.contains(&format!("<source src=\"../../stream/{token}/{name}\"")), "{named}");
    let head = request(bot.addr(), "HEAD", &format!("/watch/{token}"), &[]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(get(bot.addr(), "/watch/not-a-token").status, 404);
}

#[test]
fn documents_that_are_not_media_get_no_watch_link() {
    let world = World::new("nowatch");
    let _bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(100, 42), "notes.zip", "application/zip");
    let reply = reply_for(&world, "document", &file);
    assert!(!reply.text().unwrap().contains("/watch/"));
}

#[test]
fn public_links_get_watch_buttons_and_the_frontend_when_configured() {
    let world = World::new("frontend");
    let _bot = world.start_bot(&[("BASE_URL", "https://dl.example.com")]);
    let file = world.tg.add_file(bytes(100, 43), "song.mp3", "audio/mpeg");
    let reply = reply_for(&world, "audio", &file);
    let token = token_in(reply.text().unwrap()).unwrap();
    let urls = buttons(&reply);
    assert!(urls.contains(&("Watch".into(), format!("https://dl.example.com/watch/{token}/song.mp3"))), "{urls:?}");
    assert!(urls.contains(&("Download".into(), format!("https://dl.example.com/dl/{token}/song.mp3"))), "{urls:?}");

    let world = World::new("frontend2");
    let _bot = world
        .start_bot(&[("BASE_URL", "https://dl.example.com"), ("VIDEO_FRONTEND_URL", "https://player.example/play")]);
    let file = world.tg.add_file(bytes(100, 44), "film.mp4", "video/mp4");
    let reply = reply_for(&world, "video", &file);
    let token = token_in(reply.text().unwrap()).unwrap();
    let expected =
        format!("https://player.example/play?url=https%3A%2F%2Fdl.example.com%2Fstream%2F{token}%2Ffilm.mp4");
    assert!(buttons(&reply).contains(&("Watch".into(), expected.clone())), "{:?}", buttons(&reply));
    assert!(reply.text().unwrap().contains(&expected));
}

#[test]
fn the_watch_page_of_a_pdf_has_no_player_and_keeps_the_download_button() {
    let world = World::new("watchpdf");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(2048, 43), "report.pdf", "application/pdf");
    let token = world.link_for(&file);
    let res = get(bot.addr(), &format!("/watch/{token}"));
    let html = res.text();
    assert_eq!(res.status, 200);
    assert!(!html.contains("<video") && !html.contains("<audio"), "{html}");
    assert!(html.contains(&format!("href=\"../dl/{token}/report.pdf\" download>Download</a>")), "{html}");
}
