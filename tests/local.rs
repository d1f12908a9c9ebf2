//! Local Bot API mode: the fake answers `getFile` with an absolute path in a temp directory and
//! the bot reads the file itself. Ranges on fresh and kept-alive connections, files past the cloud
//! limit, paths that lead out of the directory, vanished files, shared `getFile` calls.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, raw, request};
use crate::streaming::run_cases;
use crate::support::bot_process::{BotProcess, TempDir};
use crate::support::fake_telegram::{Fault, FileRef};
use crate::support::raw_http::{self, Conn};

/// A bot in local mode: the fake writes files into `files`, the bot reads them from there.
struct Local {
    world: World,
    files: TempDir,
    bot: BotProcess,
}

impl Local {
    fn start(tag: &str, extra: &[(&str, &str)]) -> Local {
        let world = World::new(tag);
        let files = TempDir::new(&format!("{tag}-files"));
        world.tg.set_local_dir(Some(files.path()));
        let dir = files.path().display().to_string();
        let mut env = vec![("TELEGRAM_LOCAL_FILES", dir.as_str())];
        env.extend_from_slice(extra);
        let bot = world.start_bot(&env);
        Local { world, files, bot }
    }

    /// A link for `data`, once the pre-warm wrote the file into the directory.
    fn link(&self, data: &[u8], name: &str) -> (FileRef, String) {
        let file = self.world.tg.add_file(data.to_vec(), name, "application/octet-stream");
        let token = self.world.link_for(&file);
        wait_for_file_in(self.files.path());
        (file, token)
    }
}

/// The single file in `dir`, waiting (with a deadline) for the fake to write it.
fn wait_for_file_in(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = std::fs::read_dir(dir).ok().and_then(|d| d.flatten().map(|e| e.path()).find(|p| p.is_file()));
        if let Some(path) = found {
            return path;
        }
        assert!(Instant::now() < deadline, "no file appeared in {}", dir.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Small deterministic generator for range positions.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn local_ranges_heads_and_preconditions_on_fresh_and_kept_alive_connections() {
    // The compose file gives the local server TELEGRAM_API_ID and TELEGRAM_API_HASH; the bot sees
    // them too and stays in local mode, saying so once.
    let api = [("TELEGRAM_API_ID", "12345"), ("TELEGRAM_API_HASH", "0123456789abcdef0123456789abcdef")];
    let local = Local::start("local-ranges", &api);
    assert!(local.bot.wait_for_event(WAIT, "files_mode", &[("mode", "local")]).is_some(), "{}", local.bot.output());
    let data = bytes(crate::streaming::LEN, 21);
    let (file, token) = local.link(&data, "l.bin");
    let etag = format!("\"{}\"", file.file_unique_id);
    run_cases(local.bot.addr(), &format!("/dl/{token}"), &data, &etag);
    run_cases(local.bot.addr(), &format!("/stream/{token}"), &data, &etag);
    assert!(local.world.tg.file_requests().is_empty(), "local mode never downloads over HTTP");
    assert_eq!(local.world.tg.calls("getFile"), 1, "pre-warmed once at intake, then cached");
    assert_eq!(local.bot.count_events("files_mode", &[]), 1, "said once");
}

#[test]
fn a_file_past_the_cloud_limit_reassembles_from_sixteen_random_ranges() {
    let local = Local::start("local-big", &[]);
    let data = bytes(25 * 1024 * 1024 + 7, 22);
    let (_, token) = local.link(&data, "big.bin");
    let reply = local.world.tg.wait_for_sent(WAIT, crate::harness::is_link_reply).unwrap();
    assert!(reply.text().unwrap().contains("first download may wait"), "{:?}", reply.text());
    let path = format!("/dl/{token}");
    let head = request(local.bot.addr(), "HEAD", &path, &[]);
    assert_eq!((head.status, head.header("content-length")), (200, Some(data.len().to_string().as_str())));

    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut cuts: Vec<usize> = (0..15).map(|_| (next(&mut seed) % data.len() as u64) as usize).collect();
    cuts.extend([0, data.len()]);
    cuts.sort_unstable();
    let mut order: Vec<usize> = (0..16).collect();
    order.sort_by_key(|_| next(&mut seed));
    let mut parts = vec![Vec::new(); 16];
    let mut conn = Conn::open(local.bot.addr()).unwrap();
    for (n, &i) in order.iter().enumerate() {
        let (a, b) = (cuts[i], cuts[i + 1]);
        if a == b {
            continue;
        }
        let range = format!("Range: bytes={a}-{}", b - 1);
        // Half on one kept-alive connection, half on fresh ones.
        let res = if n % 2 == 0 {
            conn.send(&raw("GET", &path, &[&range], false)).unwrap()
        } else {
            request(local.bot.addr(), "GET", &path, &[&range])
        };
        assert_eq!(res.status, 206, "{range}");
        parts[i] = res.body;
    }
    assert!(parts.concat() == data, "the reassembled file differs");
}

#[test]
fn a_dot_dot_path_out_of_the_directory_is_refused() {
    let world = World::new("local-dotdot");
    let base = TempDir::new("local-dotdot-base");
    let inside = base.path().join("inside");
    std::fs::create_dir_all(&inside).unwrap();
    // The fake answers `<base>/inside/../outside/file_N`: it starts with the allowed directory
    // as text but resolves outside it.
    world.tg.set_local_dir(Some(&inside.join("..").join("outside")));
    let bot = world.start_bot(&[("TELEGRAM_LOCAL_FILES", inside.to_str().unwrap())]);
    let data = bytes(5000, 23);
    let file = world.tg.add_file(data.clone(), "secret.bin", "application/octet-stream");
    let token = world.link_for(&file);
    wait_for_file_in(&base.path().join("outside"));
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 500);
    assert!(res.body != data);
    assert!(bot.wait_for_event(WAIT, "file_unreadable", &[("reason", "outside")]).is_some(), "the refusal is logged");
}

#[test]
fn a_symlink_out_of_the_directory_is_refused() {
    let local = Local::start("local-symlink", &[]);
    let secret = TempDir::new("local-symlink-secret");
    let secret_file = secret.path().join("secret.bin");
    std::fs::write(&secret_file, b"do not serve me").unwrap();
    let data = bytes(15, 24);
    let file = local.world.tg.add_file(data, "inno.bin", "application/octet-stream");
    let token = local.world.link_for(&file);
    let path = wait_for_file_in(local.files.path());
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&secret_file, &path).unwrap();
    let res = get(local.bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 500);
    assert!(!res.text().contains("do not serve me"));
    assert!(local.bot.wait_for_event(WAIT, "file_unreadable", &[("reason", "outside")]).is_some());
}

#[test]
fn a_vanished_file_is_fetched_again() {
    let local = Local::start("local-vanished", &[]);
    let data = bytes(70_000, 25);
    let (_, token) = local.link(&data, "v.bin");
    std::fs::remove_file(wait_for_file_in(local.files.path())).unwrap();
    let res = get(local.bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200);
    assert!(res.body == data);
    assert_eq!(local.world.tg.calls("getFile"), 2, "asked again once the cached path was gone");
}

#[test]
fn concurrent_downloads_share_one_get_file_call() {
    let world = World::new("coalesce");
    let bot = world.start_bot(&[]);
    let data = bytes(100_000, 26);
    let file = world.tg.add_file(data.clone(), "c.bin", "application/octet-stream");
    let token = world.link_for(&file);
    world.tg.fail_next("getFile", Fault::Stall(Duration::from_millis(700)));
    let addr = bot.addr();
    let downloads: Vec<_> = (0..4)
        .map(|_| {
            let path = format!("/dl/{token}");
            std::thread::spawn(move || get(addr, &path))
        })
        .collect();
    for d in downloads {
        let res = d.join().unwrap();
        assert_eq!(res.status, 200);
        assert!(res.body == data);
    }
    assert_eq!(world.tg.calls("getFile"), 1);
    get(addr, &format!("/dl/{token}"));
    assert_eq!(world.tg.calls("getFile"), 1, "the answer is cached");
}

#[test]
fn an_empty_file_is_served_empty_and_any_range_is_unsatisfiable() {
    let local = Local::start("local-empty", &[]);
    let (_, token) = local.link(&[], "empty.txt");
    let path = format!("/dl/{token}");
    let res = get(local.bot.addr(), &path);
    assert_eq!((res.status, res.header("content-length"), res.body.len()), (200, Some("0"), 0));
    let res = request(local.bot.addr(), "GET", &path, &["Range: bytes=0-0"]);
    assert_eq!((res.status, res.header("content-range")), (416, Some("bytes */0")));
    let res = request(local.bot.addr(), "HEAD", &path, &[]);
    assert_eq!((res.status, res.header("content-length")), (200, Some("0")));
}

#[test]
fn a_fifo_in_place_of_a_file_gets_an_error_at_once_and_the_bot_keeps_answering() {
    let local = Local::start("local-fifo", &[]);
    let (_, token) = local.link(&bytes(1000, 27), "fifo.bin");
    let path = wait_for_file_in(local.files.path());
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    let addr = local.bot.addr();
    let started = Instant::now();
    let download = std::thread::spawn(move || raw_http::send(addr, &raw("GET", &format!("/dl/{token}"), &[], true)));
    let health = raw_http::send(addr, &raw("GET", "/health", &[], true)).expect("/health answers");
    assert_eq!(health.status, 200);
    let res = download.join().unwrap().expect("the download is answered");
    assert_eq!(res.status, 500);
    assert!(started.elapsed() < Duration::from_secs(5), "answered in {:?}", started.elapsed());
    assert!(
        local.bot.wait_for_event(WAIT, "file_unreadable", &[("reason", "not_regular")]).is_some(),
        "{}",
        local.bot.output()
    );
}
