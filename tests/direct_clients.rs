//! Direct mode under real clients and load: aria2c with four connections, an ffmpeg seek into an
//! MP4, and a hundred slow downloads at once within the memory bound.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::clients::{aria2c_x4, run, tool};
use crate::direct::{DirectWorld, expect_generated};
use crate::harness::{WAIT, World, raw};
use crate::memory::wait_metric;
use crate::support::bot_process::{BotProcess, TempDir};

const MIB: u64 = 1024 * 1024;

/// The most memory the bot may use with a hundred downloads running: all of its RSS for a release
/// build (`STREAMBOT_TEST_BIN`); for the test build, its anonymous memory (heap and stacks, where
/// downloads live), since the debug binary's own file-backed pages alone are about 17 MiB.
const RSS_BOUND_KIB: u64 = 16 * 1024;

#[test]
#[cfg_attr(not(has_aria2c), ignore = "needs aria2c: apt-get install aria2")]
fn aria2c_with_four_connections_gets_a_generated_file_byte_exact() {
    let aria2c = tool("aria2c", "aria2");
    let w = DirectWorld::new("direct-aria2");
    let size = 64 * MIB + 333;
    let file = w.dc.add_generated_document(2, size);
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "g.bin");
    let out_dir = TempDir::new("direct-aria2-out");
    aria2c_x4(&aria2c, &format!("{}/dl/{token}", bot.base_url()), &out_dir, "g.bin", "32M", &[]);
    let mut got = std::fs::File::open(out_dir.path().join("g.bin")).unwrap();
    assert_eq!(got.metadata().unwrap().len(), size);
    assert_eq!(expect_generated(&mut got, 0, size), size);
}

/// A 20 s MP4 (25 fps, a key frame every second, the index first) of noise over the test
/// pattern, so that it is tens of MB and a seek lands far from the start.
fn make_clip(dir: &TempDir) -> Vec<u8> {
    let path = dir.path().join("clip.mp4");
    let mut cmd = Command::new(tool("ffmpeg", "ffmpeg"));
    cmd.args(["-v", "error", "-f", "lavfi", "-i", "testsrc=duration=20:size=320x240:rate=25,noise=alls=60:allf=t"]);
    cmd.args(["-c:v", "mpeg4", "-q:v", "2", "-g", "25", "-movflags", "+faststart", path.to_str().unwrap()]);
    run(cmd);
    std::fs::read(path).unwrap()
}

#[test]
#[cfg_attr(not(has_ffmpeg), ignore = "needs ffmpeg: apt-get install ffmpeg")]
fn an_ffmpeg_seek_reads_the_part_it_seeks_to_not_the_file_before_it() {
    let clips = TempDir::new("direct-ffmpeg-clip");
    let clip = make_clip(&clips);
    let w = DirectWorld::new("direct-ffmpeg");
    let file = w.dc.add_document(2, clip.clone());
    let bot = w.start_bot(&[]);
    let token = w.link_for(&file, "clip.mp4");
    let mut cmd = Command::new(tool("ffmpeg", "ffmpeg"));
    cmd.args(["-v", "info", "-ss", "15", "-i", &format!("{}/dl/{token}", bot.base_url())]);
    cmd.args(["-frames:v", "1", "-f", "null", "-"]);
    let out = run(cmd);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("frame=    1"), "ffmpeg decoded no frame:\n{log}");
    let served = w.dc.bytes_served(2);
    eprintln!("ffmpeg -ss 15: the DC served {served} of {} bytes", clip.len());
    assert!(served < clip.len() as u64 / 2, "a seek to 15 s of 20 read {served} of {} bytes", clip.len());
}

/// Opens a download of `path` from byte `from` and reads `n` bytes of the answer, then leaves it.
fn start_slow_download(addr: SocketAddr, path: &str, from: u64, n: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(&raw("GET", path, &[&format!("Range: bytes={from}-")], true)).unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = 0;
    while got < n {
        match s.read(&mut buf) {
            Ok(0) => panic!("download {path} from {from} ended after {got} bytes"),
            Ok(k) => got += k,
            Err(e) => panic!("download {path} from {from}: {e}"),
        }
    }
    s
}

/// A `/proc/PID/status` figure of `bot` in KiB (`RssAnon`: heap and stacks); 0 if gone.
fn status_kib(bot: &BotProcess, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", bot.pid())).unwrap_or_default();
    let line = status.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':'));
    line.and_then(|rest| rest.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

/// The highest RSS and anonymous RSS of `bot` over `span`, sampled every 100 ms.
fn peak_kib(bot: &BotProcess, span: Duration) -> (u64, u64) {
    let end = Instant::now() + span;
    let mut peak = (0, 0);
    loop {
        peak = (peak.0.max(bot.rss_kib()), peak.1.max(status_kib(bot, "RssAnon")));
        if Instant::now() >= end {
            return peak;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_hundred_slow_downloads_stay_within_the_memory_bound() {
    let w = DirectWorld::new("direct-hundred");
    let limits = [
        ("MAX_CONNECTIONS", "300"),
        ("MAX_CONNECTIONS_PER_IP", "300"),
        ("MAX_DOWNLOADS_PER_IP", "300"),
        ("REQUESTS_PER_MINUTE", "0"),
    ];
    let bot = w.start_bot(&limits);
    let files: Vec<_> = (0..4).map(|_| w.dc.add_generated_document(2, 512 * MIB + 17)).collect();
    let paths: Vec<String> =
        files.iter().enumerate().map(|(i, f)| format!("/dl/{}", w.link_for(f, &format!("{i}.mkv")))).collect();
    let (idle, idle_anon) = (bot.rss_kib(), status_kib(&bot, "RssAnon"));
    let conns: Vec<TcpStream> = (0..100u64)
        .map(|i| start_slow_download(bot.addr(), &paths[i as usize % 4], i * 5 * MIB + i * 4099, 64 * 1024))
        .collect();
    wait_metric(bot.addr(), "active_streams", 100);
    // Every download has filled what it buffers (the socket, its chunk, parts in flight) by now.
    let (peak, anon) = peak_kib(&bot, Duration::from_secs(3));
    eprintln!("100 slow downloads: rss {idle} -> {peak} KiB, anonymous {idle_anon} -> {anon} KiB");
    let release = std::env::var_os("STREAMBOT_TEST_BIN").is_some();
    let (what, used) = if release { ("rss", peak) } else { ("anonymous memory", anon) };
    assert!(
        used <= RSS_BOUND_KIB,
        "100 slow downloads took the bot's {what} to {used} KiB (bound {RSS_BOUND_KIB} KiB)"
    );
    wait_metric(bot.addr(), "active_streams", 100);
    drop(conns);
}

#[test]
fn an_idle_direct_mode_bot_costs_no_more_memory_than_a_cloud_mode_one() {
    let cloud_world = World::new("idle-cloud");
    let cloud = cloud_world.start_bot(&[]);
    let (cloud_rss, _) = peak_kib(&cloud, Duration::from_secs(2));
    drop(cloud);
    let w = DirectWorld::new("idle-direct");
    let direct = w.start_bot(&[]);
    let (direct_rss, _) = peak_kib(&direct, Duration::from_secs(2));
    eprintln!("idle rss: cloud mode {cloud_rss} KiB, direct mode {direct_rss} KiB");
    assert!(direct_rss <= cloud_rss + 1024, "idle direct mode {direct_rss} KiB vs cloud mode {cloud_rss} KiB");
}
