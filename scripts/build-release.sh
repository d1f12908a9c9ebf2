#!/usr/bin/env bash
# Builds static musl release binaries with cargo-zigbuild (zig from the `ziglang` pip package)
# into dist/, named as Docker's TARGETARCH+TARGETVARIANT name them, plus dist/SHA256SUMS.
#
#   scripts/build-release.sh                  # all three: amd64 arm64 armv7
#   scripts/build-release.sh arm64 armv7      # some of them
#
# Needs: rustup, python3 -m pip install ziglang cargo-zigbuild. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

triple_of() {
    case "$1" in
        amd64) echo x86_64-unknown-linux-musl ;;
        arm64) echo aarch64-unknown-linux-musl ;;
        armv7) echo armv7-unknown-linux-musleabihf ;;
        *) echo "unknown architecture '$1': expected amd64, arm64 or armv7" >&2; exit 2 ;;
    esac
}

command -v cargo-zigbuild >/dev/null || { echo "cargo-zigbuild missing: python3 -m pip install ziglang cargo-zigbuild" >&2; exit 2; }
archs=("$@")
[ "${#archs[@]}" -gt 0 ] || archs=(amd64 arm64 armv7)
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p dist

for arch in "${archs[@]}"; do
    triple="$(triple_of "$arch")"
    rustup target add "$triple" >/dev/null 2>&1 || true
    if rustup target list --installed | grep -qx "$triple"; then
        cargo zigbuild --locked --release --target "$triple"
    else
        # No prebuilt std for this target on the mirror (seen for armv7 musleabihf): build std
        # from rust-src. panic_unwind because the release profile unwinds (panics are caught per
        # connection and per update). zig brings its own musl crt, hence link-self-contained=no.
        echo "build-release: no prebuilt std for $triple; building it with -Zbuild-std" >&2
        rustup component add rust-src >/dev/null
        RUSTC_BOOTSTRAP=1 RUSTFLAGS="${RUSTFLAGS:-} -C link-self-contained=no" \
            cargo zigbuild --locked --release --target "$triple" -Zbuild-std=std,panic_unwind
    fi
    cp "$target_dir/$triple/release/streambot" "dist/streambot-linux-$arch"
done

# The Dockerfile's empty /data (a scratch image has no mkdir).
mkdir -p dist/rootfs/data

# Sums over every binary in dist/, so a partial rebuild keeps the others listed.
(cd dist && sha256sum streambot-linux-* > SHA256SUMS)
echo "build-release: stripped sizes"
for f in dist/streambot-linux-*; do
    stat -c '%s %n' "$f" | awk '{ printf "  %-28s %9d bytes (%.2f MB)\n", $2, $1, $1 / 1e6 }'
done
