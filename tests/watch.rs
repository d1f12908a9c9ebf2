//! The `/watch` player page and the Watch link in the bot's reply (built-in page, or
//! `VIDEO_FRONTEND_URL`); the player-app links, the `/m3u` playlist and the Copy link button.

use streambot::links::{Claims, Signer};

use crate::harness::{SECRET, WAIT, World, bytes, get, is_link_reply, request, token_in};
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

/// The reply's buttons as JSON objects, in order.
fn button_objects(reply: &Sent) -> Vec<serde_json::Value> {
    let markup = &reply.params["reply_markup"];
    let markup: serde_json::Value = match markup.as_str() {
        Some(text) => serde_json::from_str(text).unwrap(),
        None => markup.clone(),
    };
    let rows = markup["inline_keyboard"].as_array().cloned().unwrap_or_default();
    rows.iter().flat_map(|row| row.as_array().cloned().unwrap_or_default()).collect()
}

#[test]
fn the_playlist_names_the_stream_and_answers_410_and_404_like_every_face() {
    let world = World::new("m3u");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(3000, 45), "my clip.webm", "video/webm");
    let token = world.link_for(&file);
    let res = get(bot.addr(), &format!("/m3u/{token}"));
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.header("content-type"), Some("audio/x-mpegurl"));
    let cd = res.header("content-disposition").unwrap();
    assert!(cd.starts_with("attachment; filename=\"my clip.m3u\""), "{cd}");
    // Without BASE_URL, links name localhost and the port.
    let stream = format!("http://localhost:{}/stream/{token}/my%20clip.webm", bot.addr().port());
    assert_eq!(res.text(), format!("#EXTM3U\n#EXTINF:-1,my clip.webm\n{stream}\n"));
    assert_eq!(get(bot.addr(), &format!("/stream/{token}")).body.len(), 3000, "the entry is the file");

    let head = request(bot.addr(), "HEAD", &format!("/m3u/{token}"), &[]);
    assert_eq!((head.status, head.body.len(), head.header("content-type")), (200, 0, Some("audio/x-mpegurl")));
    assert_eq!(get(bot.addr(), "/m3u/not-a-token").status, 404);
    let signer = Signer::new(SECRET.as_bytes());
    let link_id = signer.verify(&token, 0).unwrap().link_id;
    let expired = signer.mint(Claims { link_id, expires_at: 1 });
    assert_eq!(get(bot.addr(), &format!("/m3u/{expired}")).status, 410);

    world.tg.send_text(&world.user, &format!("/revoke {token}"));
    world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("Link revoked"))).expect("revoked");
    let res = get(bot.addr(), &format!("/m3u/{token}"));
    assert_eq!((res.status, res.text().contains("revoked")), (410, true), "{res:?}");
}

#[test]
fn the_watch_page_links_vlc_mx_and_the_playlist_with_the_stream_url_escaped() {
    let world = World::new("apps");
    let base = "https://dl.example.com/a&b='c'";
    let bot = world.start_bot(&[("BASE_URL", base)]);
    let file = world.tg.add_file(bytes(2048, 46), "clip.mp4", "video/mp4");
    let token = world.link_for(&file);
    let res = get(bot.addr(), &format!("/watch/{token}"));
    let csp = res.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'sha256-") && !csp.contains("unsafe-inline"), "{csp}");
    let html = res.text();
    let escaped = format!("dl.example.com/a&amp;b=&#39;c&#39;/stream/{token}/clip.mp4");
    assert!(html.contains(&format!("href=\"vlc://https://{escaped}\">VLC</a>")), "{html}");
    let intent = format!("href=\"intent://{escaped}#Intent;scheme=https;package=org.videolan.vlc;type=video/mp4;");
    assert!(html.contains(&intent), "{html}");
    assert!(
        html.contains(&format!("href=\"intent://{escaped}#Intent;scheme=https;package=com.mxtech.videoplayer.ad;"))
    );
    assert!(html.contains(&format!("href=\"../m3u/{token}/clip.mp4\" download>mpv")));
    assert!(html.contains(&format!("readonly value=\"https://{escaped}\"")), "{html}");
    assert!(!html.contains("b='c'"), "no raw quote in an attribute");
}

#[test]
fn the_link_message_has_a_copy_link_button_with_the_download_url() {
    let world = World::new("copytext");
    let _bot = world.start_bot(&[("BASE_URL", "https://dl.example.com")]);
    let file = world.tg.add_file(bytes(100, 47), "film.mp4", "video/mp4");
    let reply = reply_for(&world, "video", &file);
    let token = token_in(reply.text().unwrap()).unwrap();
    let buttons = button_objects(&reply);
    let copy = buttons.iter().find(|b| b["text"] == "Copy link").unwrap_or_else(|| panic!("{buttons:?}"));
    assert_eq!(copy["copy_text"]["text"], format!("https://dl.example.com/dl/{token}/film.mp4"));
    assert!(copy.get("url").is_none_or(|u| u.is_null()), "{copy}");
    let open = buttons.iter().find(|b| b["text"] == "Open in app").unwrap_or_else(|| panic!("{buttons:?}"));
    assert_eq!(open["url"], format!("https://dl.example.com/watch/{token}/film.mp4#open"));
}
