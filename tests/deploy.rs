//! What deployments rely on: `--healthcheck` (a scratch image has no curl), and the ARM release
//! binaries from `scripts/build-release.sh` running under qemu-user against the fake Telegram.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{WAIT, World, bytes, get, request};
use crate::support::bot_process::{BotProcess, TempDir};

/// `streambot --healthcheck` with `extra` over the world's environment; its exit code and output.
fn healthcheck(world: &World, extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let probe = BotProcess::spawn_raw(&["--healthcheck"], &world.env(extra));
    let status = probe.wait_exit(WAIT).expect("--healthcheck ends within its 5 s deadlines");
    (status.code(), probe.output())
}

#[test]
fn healthcheck_exits_0_once_logged_in_and_reaches_a_wildcard_bind_on_loopback() {
    let world = World::new("healthok");
    let bot = world.start_bot(&[("BIND_ADDRESS", "0.0.0.0")]);
    let port = bot.addr().port().to_string();
    let (code, out) = healthcheck(&world, &[("BIND_ADDRESS", "0.0.0.0"), ("PORT", &port)]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn healthcheck_exits_1_naming_the_503_before_login_and_the_failure_when_nothing_listens() {
    let world = World::new("healthbad");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = format!("http://127.0.0.1:{closed}");
    let bot = BotProcess::start_listening(&world.env(&[("TELEGRAM_API_URL", &down)]));
    let port = bot.addr().port().to_string();
    let (code, out) = healthcheck(&world, &[("PORT", &port)]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("answered 503"), "{out}");
    drop(bot);
    let (code, out) = healthcheck(&world, &[("PORT", &port)]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("unhealthy") && out.contains("failed"), "{out}");
}

/// The release binaries and the qemu-user emulator that runs each.
const ARM_BUILDS: [(&str, &str); 2] =
    [("streambot-linux-arm64", "qemu-aarch64-static"), ("streambot-linux-armv7", "qemu-arm-static")];

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// The emulator's path, or why `binary` cannot run under it here.
fn runnable(emulator: &str, binary: &Path) -> Result<PathBuf, String> {
    let qemu = on_path(emulator).ok_or_else(|| format!("{emulator} not found (apt-get install qemu-user-static)"))?;
    if !binary.is_file() {
        return Err(format!("{} missing (scripts/build-release.sh arm64 armv7)", binary.display()));
    }
    Ok(qemu)
}

/// Under qemu a start takes a few seconds; the harness's deadline is 20 s.
const QEMU_LOGIN: Duration = Duration::from_secs(60);

fn serves_under_qemu(qemu: &Path, binary: &Path) {
    let command = [qemu.to_str().unwrap(), binary.to_str().unwrap()];
    let version = BotProcess::spawn_program(&command, &["--version"], &[]);
    assert_eq!(version.wait_exit(QEMU_LOGIN).and_then(|s| s.code()), Some(0), "{}", version.output());
    assert!(version.output().starts_with("streambot "), "{}", version.output());
    let world = World::new("qemu");
    let bot = BotProcess::start_program_listening(&command, &world.env(&[]));
    assert!(bot.wait_ready(QEMU_LOGIN), "{}", bot.output());
    assert_eq!(get(bot.addr(), "/health").status, 200, "{}", bot.output());
    let data = bytes(150_000, 121);
    let file = world.tg.add_file(data.clone(), "arm.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", bot.output());
    assert!(res.body == data, "byte-exact under qemu ({} of {} bytes)", res.body.len(), data.len());
    drop(bot);
    serves_a_local_file_under_qemu(&command);
    let _ = writeln!(
        std::io::stderr(),
        "qemu: {} ran --version, /health, a byte-exact download and a local file, whole and ranged",
        binary.display()
    );
}

/// Local Bot API mode: the file goes out with `sendfile` (`sendfile64` on 32-bit ARM), whole
/// and from an offset.
fn serves_a_local_file_under_qemu(command: &[&str]) {
    let world = World::new("qemu-local");
    let files = TempDir::new("qemu-local-files");
    world.tg.set_local_dir(Some(files.path()));
    let dir = files.path().display().to_string();
    let bot = BotProcess::start_program_listening(command, &world.env(&[("TELEGRAM_LOCAL_FILES", &dir)]));
    assert!(bot.wait_ready(QEMU_LOGIN), "{}", bot.output());
    let data = bytes(3_000_000, 122);
    let file = world.tg.add_file(data.clone(), "arm-local.bin", "application/octet-stream");
    let path = format!("/dl/{}", world.link_for(&file));
    // The pre-warm's getFile writes the file into the directory.
    let deadline = std::time::Instant::now() + QEMU_LOGIN;
    while std::fs::read_dir(files.path()).unwrap().next().is_none() {
        assert!(std::time::Instant::now() < deadline, "the fake never wrote the file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let res = get(bot.addr(), &path);
    assert_eq!(res.status, 200, "{}", bot.output());
    assert!(res.body == data, "byte-exact from disk ({} of {} bytes)", res.body.len(), data.len());
    let res = request(bot.addr(), "GET", &path, &["Range: bytes=2000000-"]);
    assert_eq!(res.status, 206, "{}", bot.output());
    assert!(res.body == data[2_000_000..], "the range from disk ({} bytes)", res.body.len());
}

/// Ignored, naming what is missing, unless qemu-user and both binaries in `dist/` were there at
/// build time (build.rs); `STREAMBOT_REQUIRE_QEMU=1` (set by CI once it built the binaries) runs
/// it regardless, so a missing piece fails it.
#[test]
#[cfg_attr(not(has_qemu_arm), ignore = "needs qemu-user-static and dist/ (scripts/build-release.sh arm64 armv7)")]
fn the_arm_release_binaries_answer_health_and_serve_a_byte_exact_link_under_qemu() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
    for (name, emulator) in ARM_BUILDS {
        let binary = dist.join(name);
        let qemu = runnable(emulator, &binary).unwrap_or_else(|why| panic!("{why}"));
        serves_under_qemu(&qemu, &binary);
    }
}
