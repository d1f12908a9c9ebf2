//! Puts the git hash and the build date into the environment for `--version` and `/about`, and
//! tells the integration tests which real clients this machine has (`has_curl`, …). Warns,
//! never fails: a build from a source tarball without git says `unknown`.

use std::path::Path;
use std::process::Command;

/// The programs some integration tests drive, and the cfg each sets when it is on `PATH`.
const CLIENTS: &[(&str, &str)] =
    &[("curl", "has_curl"), ("aria2c", "has_aria2c"), ("chromium", "has_chromium"), ("ffmpeg", "has_ffmpeg")];

/// Sets a cfg per client found, so a test whose client is missing is reported `ignored` with
/// the package to install, not passed. `STREAMBOT_REQUIRE_CLIENTS=1` (CI) sets them all: a
/// missing client then fails its test, naming the package.
fn clients() {
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rerun-if-env-changed=STREAMBOT_REQUIRE_CLIENTS");
    let require = std::env::var_os("STREAMBOT_REQUIRE_CLIENTS").is_some_and(|v| v == "1");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path).filter(|d| d.is_dir()).collect();
    for dir in &dirs {
        // Installing a client changes its directory: the build script runs again.
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for (program, cfg) in CLIENTS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if require || dirs.iter().any(|d| d.join(program).is_file()) {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    // The ARM release binaries under qemu-user: both emulators and both binaries in dist/.
    println!("cargo:rerun-if-changed=dist");
    println!("cargo:rerun-if-env-changed=STREAMBOT_REQUIRE_QEMU");
    println!("cargo::rustc-check-cfg=cfg(has_qemu_arm)");
    let on_path = |p: &str| dirs.iter().any(|d| d.join(p).is_file());
    let arm = ["qemu-aarch64-static", "qemu-arm-static"].iter().all(|q| on_path(q))
        && ["streambot-linux-arm64", "streambot-linux-armv7"].iter().all(|b| Path::new("dist").join(b).is_file());
    if arm || std::env::var_os("STREAMBOT_REQUIRE_QEMU").is_some_and(|v| v == "1") {
        println!("cargo:rustc-cfg=has_qemu_arm");
    }
    // The static x86_64 release binary, whose idle memory the README quotes.
    println!("cargo::rustc-check-cfg=cfg(has_dist_amd64)");
    let x86 = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "x86_64");
    if x86 && Path::new("dist/streambot-linux-amd64").is_file() {
        println!("cargo:rustc-cfg=has_dist_amd64");
    }
    println!("cargo::rustc-check-cfg=cfg(has_telethon)");
    let telethon = Command::new("python3").args(["-c", "import telethon"]).output().is_ok_and(|o| o.status.success());
    if require || telethon {
        println!("cargo:rustc-cfg=has_telethon");
    }
}

fn main() {
    clients();
    let hash = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let hash = hash.unwrap_or_else(|| {
        println!("cargo:warning=git hash unavailable; --version will say 'unknown'");
        "unknown".to_owned()
    });
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    println!("cargo:rustc-env=STREAMBOT_GIT_HASH={hash}");
    println!("cargo:rustc-env=STREAMBOT_BUILD_DATE={year:04}-{month:02}-{day:02}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
}
