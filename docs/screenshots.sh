#!/usr/bin/env bash
# Regenerates docs/watch-phone.png (390x844) and docs/watch-desktop.png (1280x800): the watch page
# of tests/fixtures/clip.webm, served by the bot running against the fake Telegram, shot by
# headless Chromium (Debian: apt-get install chromium).
# Usage: docs/screenshots.sh  (from anywhere; FAKE_PORT and BOT_PORT pick the ports)
set -euo pipefail
cd "$(dirname "$0")/.."

fake_port=${FAKE_PORT:-18081}
bot_port=${BOT_PORT:-18080}
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium not found: apt-get install chromium" >&2; exit 1; }

cargo build --quiet --bin streambot --example fake_telegram
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 20 s for a URL to answer.
wait_for() {
    for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.2; done
    echo "no answer from $1" >&2
    exit 1
}

FAKE_PORT=$fake_port "$target/debug/examples/fake_telegram" >"$work/fake.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$fake_port/_fake/sent"
BOT_TOKEN=123456:fake TELEGRAM_API_URL="http://127.0.0.1:$fake_port" DATA_DIR="$work/data" \
    PORT=$bot_port BIND_ADDRESS=127.0.0.1 BASE_URL="http://127.0.0.1:$bot_port" RUST_LOG=warn \
    "$target/debug/streambot" >"$work/bot.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$bot_port/health"

curl -fs --data-binary @tests/fixtures/clip.webm \
    "http://127.0.0.1:$fake_port/_fake/upload?name=clip.webm&mime=video/webm&user=1" >/dev/null
watch=""
for _ in $(seq 100); do
    watch=$(curl -fs "http://127.0.0.1:$fake_port/_fake/sent" | grep -o "http://127.0.0.1:$bot_port/watch/[A-Za-z0-9_-]*" | head -n1 || true)
    [ -n "$watch" ] && break
    sleep 0.2
done
[ -n "$watch" ] || { echo "the bot sent no watch link; see $work/bot.log" >&2; exit 1; }

shoot() {
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile" --virtual-time-budget=3000 \
        --window-size="$2" --screenshot="$1" "$watch" 2>/dev/null
    echo "$1: $(stat -c %s "$1") bytes"
}
shoot docs/watch-phone.png 390,844
shoot docs/watch-desktop.png 1280,800
