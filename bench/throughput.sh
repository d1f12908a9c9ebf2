#!/usr/bin/env bash
# Throughput at 1, 8 and 32 parallel streams, streambot (local mode) against nginx (sendfile on)
# in the same run, curl as the client, one 256 MiB file on loopback; plus each server's CPU
# seconds per GiB served (utime + stime from /proc). Prints one summary line per stream count and
# writes the figures as JSON (default target/bench/throughput.json).
# Usage: bench/throughput.sh   (env: SIZE_MIB=256 ROUNDS=3 BENCH_PORT=18680 OUT=path,
# STREAMBOT_BIN=path to measure another build instead of building this tree). Needs nginx,
# curl and python3; nginx is installed with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE_MIB=${SIZE_MIB:-256}
ROUNDS=${ROUNDS:-3}
BOT_PORT=${BENCH_PORT:-18680}
NGINX_PORT=$((BOT_PORT + 1))
FAKE_PORT=$((BOT_PORT + 2))
OUT=${OUT:-$ROOT/target/bench/throughput.json}

[ -n "${STREAMBOT_BIN:-}" ] || cargo build --release --quiet
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}

WORK=$(mktemp -d /tmp/streambot-throughput.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/files" "$WORK/data" "$WORK/nginx" "$(dirname "$OUT")"
FILE="$WORK/files/big.bin"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$FILE"
chmod -R a+rX "$WORK"
source "$ROOT/bench/nginx.sh"
start_nginx
python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" "$FILE" >"$WORK/fake.out" 2>"$WORK/fake.err" & PIDS+=($!)
(cd "$WORK" && exec env -i PATH="$PATH" BOT_TOKEN=1:bench TELEGRAM_API_URL="http://127.0.0.1:$FAKE_PORT" \
    TELEGRAM_LOCAL_FILES="$WORK/files" DATA_DIR="$WORK/data" PORT="$BOT_PORT" BIND_ADDRESS=127.0.0.1 \
    REQUESTS_PER_MINUTE=0 MAX_CONNECTIONS_PER_IP=256 RUST_LOG=warn "$BIN" >"$WORK/bot.log" 2>&1) & PIDS+=($!)
BOT_PID=$!
for _ in $(seq 100); do grep -q "/dl/" "$WORK/fake.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o "http://[^ ]*/dl/[A-Za-z0-9_-]*" "$WORK/fake.out" | head -1 | sed "s#http://localhost#http://127.0.0.1#")
[ -n "$URL" ] || { echo "no link from the bot" >&2; cat "$WORK/bot.log" >&2; exit 1; }
# CPU is read from the worker process, the one that serves (the master only supervises).
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)
cat "$FILE" >/dev/null

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # clock ticks, user + system
run() { # url streams -> "seconds cpu_ticks" for all streams at once
    local url=$1 n=$2 pid=$3 c0 t0 t1 c1
    local curls=()
    c0=$(cpu "$pid"); t0=$(date +%s.%N)
    for _ in $(seq "$n"); do curl -s -o /dev/null "$url" & curls+=($!); done
    wait "${curls[@]}"
    t1=$(date +%s.%N); c1=$(cpu "$pid")
    echo "$t0 $t1 $c0 $c1"
}
TICK=$(getconf CLK_TCK)
echo "[" >"$OUT"
first=1
for n in 1 8 32; do
    best_n=0; best_b=0; cpu_n=0; cpu_b=0
    for _ in $(seq "$ROUNDS"); do
        read -r a b c d <<<"$(run "http://127.0.0.1:$NGINX_PORT/big.bin" "$n" "$NGINX_WORKER")"
        s=$(awk -v a="$a" -v b="$b" -v n="$n" -v m="$SIZE_MIB" 'BEGIN{print n*m/(b-a)}'); cpu_n=$((cpu_n + d - c))
        awk -v s="$s" -v x="$best_n" 'BEGIN{exit !(s>x)}' && best_n=$s
        read -r a b c d <<<"$(run "$URL" "$n" "$BOT_PID")"
        s=$(awk -v a="$a" -v b="$b" -v n="$n" -v m="$SIZE_MIB" 'BEGIN{print n*m/(b-a)}'); cpu_b=$((cpu_b + d - c))
        awk -v s="$s" -v x="$best_b" 'BEGIN{exit !(s>x)}' && best_b=$s
    done
    gib=$(awk -v n="$n" -v m="$SIZE_MIB" -v r="$ROUNDS" 'BEGIN{print n*m*r/1024}')
    line=$(awk -v n="$n" -v x="$best_n" -v y="$best_b" -v cn="$cpu_n" -v cb="$cpu_b" -v g="$gib" -v t="$TICK" 'BEGIN{
        printf "%d streams: nginx %.0f MiB/s, streambot %.0f MiB/s, ratio %.2f; cpu s/GiB nginx %.2f, streambot %.2f", n, x, y, y/x, cn/t/g, cb/t/g}')
    echo "$line"
    [ "$first" = 1 ] || echo "," >>"$OUT"
    first=0
    awk -v n="$n" -v x="$best_n" -v y="$best_b" -v cn="$cpu_n" -v cb="$cpu_b" -v g="$gib" -v t="$TICK" 'BEGIN{
        printf "{\"streams\": %d, \"nginx_mib_s\": %.1f, \"streambot_mib_s\": %.1f, \"ratio\": %.3f, \"nginx_cpu_s_per_gib\": %.3f, \"streambot_cpu_s_per_gib\": %.3f}", n, x, y, y/x, cn/t/g, cb/t/g}' >>"$OUT"
done
echo "]" >>"$OUT"
echo "json: $OUT"
