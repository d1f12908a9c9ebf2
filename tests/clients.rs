//! Real clients from Debian packages: curl ranges, resume and HTTP/1.0, aria2c with four
//! connections, headless Chromium playing a WebM on `/watch`. Ignored, naming the package, when
//! the tool was missing at build time (build.rs), unless `STREAMBOT_REQUIRE_CLIENTS=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes};
use crate::support::bot_process::{BotProcess, TempDir};

/// Longest a client program may run.
pub const TOOL_DEADLINE: Duration = Duration::from_secs(60);

/// The full path of `program`, or a panic naming the Debian package that provides it.
pub fn tool(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file()));
    found.flatten().unwrap_or_else(|| {
        panic!("`{program}` is not installed: run .ci/run, or `apt-get install {package}`, to run this test")
    })
}

/// Runs `cmd` to completion within [`TOOL_DEADLINE`] (killed after it) and returns its output.
pub fn run(mut cmd: Command) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let deadline = Instant::now() + TOOL_DEADLINE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{what} ran past {TOOL_DEADLINE:?}:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{what} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A bot in local mode with one file linked; returns the bot, the `/dl` URL and the temp dirs.
fn local_link(tag: &str, data: &[u8], name: &str, mime: &str) -> (World, BotProcess, String, TempDir) {
    let world = World::new(tag);
    let files = TempDir::new(&format!("{tag}-files"));
    world.tg.set_local_dir(Some(files.path()));
    let bot = world.start_bot(&[("TELEGRAM_LOCAL_FILES", files.path().to_str().unwrap())]);
    let file = world.tg.add_file(data.to_vec(), name, mime);
    let token = world.link_for(&file);
    (world, bot, token, files)
}

fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new(tool("curl", "curl"));
    cmd.args(["--silent", "--show-error", "--fail", "--max-time", "30"]).args(args);
    run(cmd)
}

#[test]
#[cfg_attr(not(has_curl), ignore = "needs curl: apt-get install curl")]
fn curl_fetches_ranges_resumes_and_speaks_http10() {
    let data = bytes(3 * 1024 * 1024 + 11, 51);
    let (_world, bot, token, _files) = local_link("curl", &data, "c.bin", "application/octet-stream");
    let url = format!("{}/dl/{token}", bot.base_url());
    let out_dir = TempDir::new("curl-out");
    let out = out_dir.path().join("c.bin");
    let out_s = out.to_str().unwrap();

    let res = curl(&["-r", "1000-1999", "-o", out_s, "-w", "%{http_code}", &url]);
    assert_eq!(String::from_utf8_lossy(&res.stdout), "206");
    assert!(std::fs::read(&out).unwrap() == data[1000..2000]);

    // An interrupted download: the first 1 MiB is on disk; `-C -` asks for the rest.
    std::fs::write(&out, &data[..1024 * 1024]).unwrap();
    let res = curl(&["-C", "-", "-o", out_s, "-w", "%{http_code}", &url]);
    assert_eq!(String::from_utf8_lossy(&res.stdout), "206");
    assert_eq!(sha256_hex(&std::fs::read(&out).unwrap()), sha256_hex(&data), "resumed file differs");

    let res = curl(&["-0", "-o", out_s, "-w", "%{http_code} %{http_version}", &url]);
    assert_eq!(String::from_utf8_lossy(&res.stdout), "200 1.1");
    assert_eq!(sha256_hex(&std::fs::read(&out).unwrap()), sha256_hex(&data), "HTTP/1.0 download differs");

    let res = curl(&["-I", "-w", "%{http_code}", &url]);
    assert!(String::from_utf8_lossy(&res.stdout).ends_with("200"));
}

#[test]
#[cfg_attr(not(has_aria2c), ignore = "needs aria2c: apt-get install aria2")]
fn aria2c_with_four_connections_gets_the_same_checksum() {
    let aria2c = tool("aria2c", "aria2");
    let data = bytes(12 * 1024 * 1024 + 5, 52);
    let (_world, bot, token, _files) = local_link("aria2", &data, "a.bin", "application/octet-stream");
    let out_dir = TempDir::new("aria2-out");
    let url = format!("{}/dl/{token}", bot.base_url());
    let checksum = format!("--checksum=sha-256={}", sha256_hex(&data));
    aria2c_x4(&aria2c, &url, &out_dir, "a.bin", "6M", &["--check-certificate=false", &checksum]);
    let got = std::fs::read(out_dir.path().join("a.bin")).unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&data));
}

/// Downloads `url` with aria2c over four connections into `out_dir/name`, at most `limit` per
/// second (slow enough that the first connection cannot finish before the others start), and
/// checks that the bot answered at least three of them with a range.
pub fn aria2c_x4(aria2c: &std::path::Path, url: &str, out_dir: &TempDir, name: &str, limit: &str, extra: &[&str]) {
    let mut cmd = Command::new(aria2c);
    cmd.args(["-x4", "-s4", "-k1M", "--min-split-size=1M", &format!("--max-download-limit={limit}")]);
    cmd.args(["--allow-overwrite=true", "--file-allocation=none", "--console-log-level=info", "--summary-interval=0"]);
    cmd.args(extra).args(["-d", out_dir.path().to_str().unwrap(), "-o", name, url]);
    let out = run(cmd);
    // aria2c's own log shows each connection's answer (ours dedupes identical debug lines).
    let log = String::from_utf8_lossy(&out.stdout);
    let ranged = log.matches("content-range: bytes ").count();
    assert!(ranged >= 3, "aria2c got {ranged} ranged answers; with four connections it asks for three:\n{log}");
}

/// The `data-t` value (seconds played) the page script writes into the DOM.
fn played_seconds(dom: &str) -> Option<f64> {
    let at = dom.find("data-t=\"")? + "data-t=\"".len();
    dom[at..].split('"').next()?.parse().ok()
}

#[test]
#[cfg_attr(not(has_chromium), ignore = "needs chromium: apt-get install chromium")]
fn chromium_plays_the_webm_fixture_on_the_watch_page() {
    let chromium = tool("chromium", "chromium");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip.webm");
    let data = std::fs::read(&fixture).expect("tests/fixtures/clip.webm is committed");
    let world = World::new("chromium");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(data, "clip.webm", "video/webm");
    world.tg.send_media(&world.user, "video", &file);
    let reply = world
        .tg
        .wait_for_sent(WAIT, crate::harness::is_link_reply)
        .unwrap_or_else(|| panic!("no link reply: {:#?}", world.tg.sent()));
    let token = crate::harness::token_in(reply.text().unwrap()).unwrap();
    let profile = TempDir::new("chromium-profile");
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--virtual-time-budget=4000",
        &format!("--user-data-dir={}", profile.path().display()),
        "--dump-dom",
        &format!("{}/watch/{token}?autoplay=1", bot.base_url()),
    ]);
    let out = run(cmd);
    let dom = String::from_utf8_lossy(&out.stdout);
    let played = played_seconds(&dom).unwrap_or_else(|| panic!("no data-t in the page:\n{dom}"));
    assert!(played > 0.5, "currentTime did not advance (data-t = {played}):\n{dom}");
    assert!(bot.count_lines("/stream/") >= 1, "the player fetched the stream");
    // The player-app links render, and the copy button is shown: the script ran under the CSP hash.
    for link in ["href=\"vlc://", "href=\"intent://", &format!("href=\"../m3u/{token}/")] {
        assert!(dom.contains(link), "no {link} in the page:\n{dom}");
    }
    assert!(dom.contains("<button id=\"c\" type=\"button\">Copy link</button>"), "copy button hidden:\n{dom}");
}
