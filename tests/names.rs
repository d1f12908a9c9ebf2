//! Links under the file's name (`/dl/<token>/<name>`): the link message, clients that save under
//! the URL's last segment, `301` from a wrong name to the right one, the short form; and one link
//! per file: sending a file again answers with the link already made.

use std::process::Command;

use crate::clients::{run, tool};
use crate::harness::{WAIT, World, bytes, get, is_link_reply, request, token_in};
use crate::support::bot_process::TempDir;
use crate::support::fake_telegram::Sent;

/// Sends `file` as a document and returns the bot's link reply and its token.
fn reply_for(world: &World, file: &crate::support::fake_telegram::FileRef) -> (Sent, String) {
    world.tg.send_document(&world.user, file);
    let reply =
        world.tg.wait_for_sent(WAIT, is_link_reply).unwrap_or_else(|| panic!("no link reply: {:#?}", world.tg.sent()));
    let token = token_in(reply.text().unwrap()).unwrap();
    (reply, token)
}

#[test]
#[cfg_attr(not(has_curl), ignore = "needs curl: apt-get install curl")]
fn the_link_message_carries_the_named_url_and_curl_and_wget_save_under_the_real_name() {
    let world = World::new("names");
    let bot = world.start_bot(&[]);
    let data = bytes(5000, 81);
    let file = world.tg.add_file(data.clone(), "report-2026_v2.pdf", "application/pdf");
    let (reply, token) = reply_for(&world, &file);
    let url = format!("{}/dl/{token}/report-2026_v2.pdf", bot.base_url());
    assert!(reply.text().unwrap().contains(&format!("/dl/{token}/report-2026_v2.pdf")), "{:?}", reply.text());

    // `curl -O` names the file after the URL's last segment as it stands (no decoding).
    let dir = TempDir::new("names-curl");
    let mut curl = Command::new(tool("curl", "curl"));
    curl.current_dir(dir.path()).args(["--silent", "--show-error", "--fail", "--max-time", "30", "-O", &url]);
    run(curl);
    assert!(std::fs::read(dir.path().join("report-2026_v2.pdf")).unwrap() == data, "curl -O saved the file");

    // wget decodes the segment: a name with spaces and letters beyond ASCII comes out whole.
    let spaced = world.tg.add_file(data.clone(), "мой отчёт 1.pdf", "application/pdf");
    world.tg.send_document(&world.user, &spaced);
    let second = world.tg.wait_for_nth_sent(WAIT, 2, is_link_reply).expect("a second link reply");
    let text = second.text().unwrap();
    let named = "%D0%BC%D0%BE%D0%B9%20%D0%BE%D1%82%D1%87%D1%91%D1%82%201.pdf";
    assert!(text.contains(&format!("/{named}")), "{text}");
    let Ok(wget) = which("wget") else {
        eprintln!("SKIP: wget is not installed; the download under a decoded name was not checked");
        return;
    };
    let second_token = token_in(text).unwrap();
    let mut cmd = Command::new(wget);
    cmd.current_dir(dir.path()).args(["-q", "--timeout=30", &format!("{}/dl/{second_token}/{named}", bot.base_url())]);
    run(cmd);
    assert!(std::fs::read(dir.path().join("мой отчёт 1.pdf")).unwrap() == data, "wget saved the decoded name");
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    let paths = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file()).ok_or(())
}

#[test]
fn a_wrong_name_moves_permanently_to_the_right_one_and_the_short_form_still_serves() {
    let world = World::new("renamed");
    let bot = world.start_bot(&[]);
    let data = bytes(3000, 82);
    let file = world.tg.add_file(data.clone(), "../a/b c.mkv", "video/x-matroska");
    let (reply, token) = reply_for(&world, &file);
    let name = ".._a_b%20c.mkv";
    assert!(reply.text().unwrap().contains(&format!("/dl/{token}/{name}")), "{:?}", reply.text());
    // Without BASE_URL the links name localhost.
    let base = format!("http://localhost:{}", bot.addr().port());

    let right = get(bot.addr(), &format!("/dl/{token}/{name}"));
    assert_eq!(right.status, 200);
    assert!(right.body == data);
    assert!(right.header("content-disposition").unwrap().contains("filename*=UTF-8''..%2Fa%2Fb%20c.mkv"));
    assert_eq!(
        get(bot.addr(), &format!("/dl/{token}/.._a_b%20c%2emkv")).status,
        200,
        "the same name, escaped otherwise"
    );
    let short = get(bot.addr(), &format!("/dl/{token}"));
    assert!(short.status == 200 && short.body == data, "the short form serves: {}", short.status);

    for (face, wrong) in [
        ("dl", "old.mkv?x=1&y=%20"),
        ("stream", "b%20c.mkv"),
        ("watch", ""),
        ("dl", "%FF%FE%00.mkv"),
        ("dl", "a/b/c"),
        ("stream", &"%41".repeat(2000)),
    ] {
        let query = wrong.split_once('?').map_or(String::new(), |(_, q)| format!("?{q}"));
        let expected = format!("{base}/{face}/{token}/{name}{query}");
        for method in ["GET", "HEAD"] {
            let res = request(bot.addr(), method, &format!("/{face}/{token}/{wrong}"), &[]);
            assert_eq!((res.status, res.header("location")), (301, Some(expected.as_str())), "{method} {face} {wrong}");
        }
    }
    assert_eq!(get(bot.addr(), "/dl/not-a-token/b%20c.mkv").status, 404, "a name never rescues a bad token");
    assert_eq!(world.tg.file_requests().len(), 3, "redirects fetched nothing");
}

/// A link message (not a `/mylinks` page, which carries links too).
fn link_message(s: &Sent) -> bool {
    is_link_reply(s) && s.text().is_some_and(|t| t.contains("<b>Download:</b>"))
}

fn nth_text(world: &World, n: usize, pred: impl Fn(&Sent) -> bool) -> String {
    let sent =
        world.tg.wait_for_nth_sent(WAIT, n, pred).unwrap_or_else(|| panic!("no message {n}: {:#?}", world.tg.sent()));
    sent.text().unwrap().to_owned()
}

#[test]
fn a_file_sent_again_gets_the_link_already_made_until_it_is_revoked() {
    let world = World::new("onelink");
    let bot = world.start_bot(&[("MAX_LINKS_PER_DAY", "1")]);
    let file = world.tg.add_file(bytes(1000, 83), "once.bin", "application/octet-stream");
    let first = world.link_for(&file);

    // The day's one link is made: a new link would be refused, the link already made is not.
    world.tg.send_document(&world.user, &file);
    let again = nth_text(&world, 2, link_message);
    assert!(again.contains("You already have a link to this file"), "{again}");
    assert_eq!(token_in(&again).as_deref(), Some(first.as_str()), "the same link: {again}");
    assert!(again.contains(&format!("/dl/{first}/once.bin")), "{again}");
    world.tg.send_text(&world.user, "/mylinks");
    let list = nth_text(&world, 1, |s| s.text().is_some_and(|t| t.contains("Your links")));
    assert!(list.contains("<b>Your links</b> (1)"), "still one link: {list}");

    world.tg.send_text(&world.user, &format!("/revoke {first}"));
    nth_text(&world, 1, |s| s.text().is_some_and(|t| t.contains("Link revoked")));
    assert_eq!(get(bot.addr(), "/_test/clock?advance=86400").status, 200, "a new day for the limit");
    world.tg.send_document(&world.user, &file);
    let new = nth_text(&world, 3, link_message);
    assert!(new.contains("Your link is ready"), "{new}");
    let token = token_in(&new).unwrap();
    assert_ne!(token, first, "a revoked link is never handed out again");
    assert_eq!(get(bot.addr(), &format!("/dl/{token}/once.bin")).status, 200);
}
