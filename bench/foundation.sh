#!/usr/bin/env bash
# Foundation figures: stripped release binary size, idle RSS after start-up, and peak RSS while
# 10 downloads of one 19 MiB file run at once. Uses the fake Bot API example on loopback.
# Usage: bash bench/foundation.sh   (needs curl)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
cargo build --example fake_telegram -q
work=$(mktemp -d)
fake_port=18181
bot_port=18180
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

FAKE_PORT=$fake_port target/debug/examples/fake_telegram >"$work/fake.log" 2>&1 &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$fake_port/_fake/sent" >/dev/null && break; sleep 0.1; done
BOT_TOKEN=123456:bench TELEGRAM_API_URL=http://127.0.0.1:$fake_port DATA_DIR="$work/data" PORT=$bot_port \
  BIND_ADDRESS=127.0.0.1 target/release/streambot 2>"$work/bot.log" &
bot=$!
for _ in $(seq 100); do grep -q "listening on" "$work/bot.log" && break; sleep 0.1; done
sleep 1
rss() { awk '/VmRSS/ {print $2}' "/proc/$bot/status"; }
echo "binary: $(stat -c %s target/release/streambot) bytes (stripped)"
echo "idle rss: $(rss) KiB"

head -c $((19 * 1024 * 1024)) /dev/urandom >"$work/file.bin"
curl -sf --data-binary @"$work/file.bin" "http://127.0.0.1:$fake_port/_fake/upload?name=file.bin&mime=application/octet-stream" >/dev/null
link=""
for _ in $(seq 100); do
  link=$(curl -sf "http://127.0.0.1:$fake_port/_fake/sent" | grep -o "/dl/[A-Za-z0-9_-]*" | head -1 || true)
  [ -n "$link" ] && break
  sleep 0.1
done
echo "rss after intake: $(rss) KiB"
url="http://127.0.0.1:$bot_port$link"
peak=0
for i in $(seq 10); do curl -sf --limit-rate 4M -o "$work/out$i" "$url" & done
while [ "$(jobs -r | wc -l)" -gt 2 ]; do
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.05
done
wait $(jobs -p | tail -n +3) 2>/dev/null || true
for i in $(seq 10); do cmp -s "$work/file.bin" "$work/out$i" || echo "download $i differs"; done
echo "peak rss during 10 concurrent downloads: $peak KiB"
echo "rss after downloads: $(rss) KiB"
echo "threads: $(ls /proc/$bot/task | wc -l)"
