#!/usr/bin/env bash
# Streaming benchmark (not a test): one file (SIZE_MIB, default 512 MiB) on loopback in local mode.
#  1. single-stream throughput, streambot vs nginx (sendfile on), curl as the client, ROUNDS
#     alternating rounds, medians and their ratio (target >= 0.8);
#  2. streambot RSS with SLOW concurrent slow downloads on a fresh process (target <= 12 MiB).
# Needs nginx, curl and python3 (nginx is installed with apt-get if missing). Builds release.
# Usage: bench/streaming.sh    (env: ROUNDS=5 SIZE_MIB=512 SLOW=100 SLOW_SECS=15 BENCH_PORT=18580, and
# STREAMBOT_BIN=path to measure another build instead of building this tree)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-5}
SIZE_MIB=${SIZE_MIB:-512}
SLOW=${SLOW:-100}
SLOW_SECS=${SLOW_SECS:-15}
BOT_PORT=${BENCH_PORT:-18580}
NGINX_PORT=$((BOT_PORT + 1))
FAKE_PORT=$((BOT_PORT + 2))


if [ -z "${STREAMBOT_BIN:-}" ]; then
    cargo build --release --quiet
fi
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}
WORK=$(mktemp -d /tmp/streambot-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

FILE="$WORK/files/big.bin"
mkdir -p "$WORK/files" "$WORK/data" "$WORK/nginx"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$FILE"
chmod -R a+rX "$WORK"

source "$ROOT/bench/nginx.sh"
start_nginx

python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" "$FILE" >"$WORK/fake.out" 2>"$WORK/fake.err" &
PIDS+=($!)

STARTS=0
start_bot() {
    STARTS=$((STARTS + 1))
    local log="$WORK/bot.$STARTS.log"
    (cd "$WORK" && exec env -i PATH="$PATH" BOT_TOKEN=1:bench TELEGRAM_API_URL="http://127.0.0.1:$FAKE_PORT" \
        TELEGRAM_LOCAL_FILES="$WORK/files" DATA_DIR="$WORK/data" PORT="$BOT_PORT" BIND_ADDRESS=127.0.0.1 \
        REQUESTS_PER_MINUTE=0 BANDWIDTH_LIMIT_GB=0 MAX_CONNECTIONS=256 MAX_CONNECTIONS_PER_IP=256 RUST_LOG=info "$BIN" >"$log" 2>&1) &
    BOT_PID=$!
    PIDS+=("$BOT_PID")
    for _ in $(seq 100); do
        grep -q "listening on" "$log" 2>/dev/null && return
        sleep 0.1
    done
    echo "streambot did not start:" >&2
    cat "$log" >&2
    exit 1
}
start_bot
for _ in $(seq 100); do
    grep -q "/dl/" "$WORK/fake.out" && break
    sleep 0.1
done
URL=$(grep -o "http://[^ ]*/dl/[A-Za-z0-9_-]*" "$WORK/fake.out" | head -1 | sed "s#http://localhost#http://127.0.0.1#")
[ -n "$URL" ] || { echo "no link from the bot" >&2; exit 1; }
NGINX_URL="http://127.0.0.1:$NGINX_PORT/big.bin"
cat "$FILE" >/dev/null # page cache warm for both

speeds() { # url -> bytes/s of one download
    curl --silent --show-error --fail -o /dev/null -w '%{speed_download}\n' "$1"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
: >"$WORK/nginx.speeds"
: >"$WORK/bot.speeds"
for _ in $(seq "$ROUNDS"); do
    speeds "$NGINX_URL" >>"$WORK/nginx.speeds"
    speeds "$URL" >>"$WORK/bot.speeds"
done
NGINX_MED=$(median <"$WORK/nginx.speeds")
BOT_MED=$(median <"$WORK/bot.speeds")
RSS_AFTER_FAST=$(awk '/VmRSS/ { print $2 }' "/proc/$BOT_PID/status")

# Memory: a fresh process, then SLOW clients that each read 4 KiB every ~50 ms.
kill "$BOT_PID"
wait "$BOT_PID" 2>/dev/null || true
start_bot
SLOW_OUT=$(python3 - "$BOT_PORT" "${URL#http://*/}" "$BOT_PID" "$SLOW" "$SLOW_SECS" <<'EOF'
import re, socket, sys, time
port, path, pid, n, secs = int(sys.argv[1]), "/" + sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
def rss():
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
before = rss()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nRange: bytes={i * 1048576}-\r\n\r\n".encode())
    socks.append(s)
peak, got, end = before, 0, time.time() + secs
while time.time() < end:
    for s in socks:
        got += len(s.recv(4096))
    peak = max(peak, rss())
    time.sleep(0.05)
alive = sum(1 for s in socks if s.recv(1))
print(before, peak, rss(), got, alive)
EOF
)
read -r RSS_BEFORE RSS_PEAK RSS_END SLOW_BYTES SLOW_ALIVE <<<"$SLOW_OUT"

awk -v n="$NGINX_MED" -v b="$BOT_MED" -v r="$ROUNDS" -v f="$RSS_AFTER_FAST" -v m="$SIZE_MIB" 'BEGIN {
    printf "single stream, %d MiB, median of %d rounds: nginx %.0f MiB/s, streambot %.0f MiB/s, ratio %.2f (target >= 0.8)\n", m, r, n / 1048576, b / 1048576, b / n
    printf "streambot rss after the throughput rounds: %.1f MiB\n", f / 1024
}'
awk -v s="$SLOW" -v a="$SLOW_ALIVE" -v b="$RSS_BEFORE" -v p="$RSS_PEAK" -v e="$RSS_END" -v g="$SLOW_BYTES" -v t="$SLOW_SECS" 'BEGIN {
    printf "%d slow downloads (%d still streaming after %ds, %.1f MiB read): rss %.1f MiB before, peak %.1f MiB, %.1f MiB at the end (target <= 12 MiB)\n", s, a, t, g / 1048576, b / 1024, p / 1024, e / 1024
}'
echo "nginx speeds (B/s): $(tr '\n' ' ' <"$WORK/nginx.speeds")"
echo "streambot speeds (B/s): $(tr '\n' ' ' <"$WORK/bot.speeds")"
