#!/usr/bin/env bash
# Throughput at 1, 8 and 32 parallel streams, streambot (local mode) against nginx (sendfile on)
# in the same run, curl as the client, one 256 MiB file on loopback, medians of ROUNDS alternating
# rounds; plus each server's CPU seconds per GiB served (utime + stime from /proc). Prints one
# summary line per stream count and writes the figures as JSON (default
# target/bench/throughput.json).
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
    REQUESTS_PER_MINUTE=0 BANDWIDTH_LIMIT_GB=0 MAX_CONNECTIONS_PER_IP=256 RUST_LOG=warn "$BIN" >"$WORK/bot.log" 2>&1) & PIDS+=($!)
BOT_PID=$!
for _ in $(seq 100); do grep -q "/dl/" "$WORK/fake.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o "http://[^ ]*/dl/[A-Za-z0-9_-]*" "$WORK/fake.out" | head -1 | sed "s#http://localhost#http://127.0.0.1#")
[ -n "$URL" ] || { echo "no link from the bot" >&2; cat "$WORK/bot.log" >&2; exit 1; }
# CPU is read from the worker process, the one that serves (the master only supervises).
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)
cat "$FILE" >/dev/null

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # clock ticks, user + system
# Each transfer is timed by curl itself (`time_total`): a 256 MiB transfer on loopback takes
# 70-130 ms, and starting a curl process adds several ms to a wall clock around it, which pulls
# every ratio toward 1. The streams run at once, so the round lasts as long as the slowest one.
run() { # url streams pid -> "seconds cpu_ticks_before cpu_ticks_after"
    local url=$1 n=$2 pid=$3 c0 c1
    local curls=()
    : >"$WORK/times"
    c0=$(cpu "$pid")
    for _ in $(seq "$n"); do curl -s -o /dev/null -w '%{time_total}\n' "$url" >>"$WORK/times" & curls+=($!); done
    wait "${curls[@]}"
    c1=$(cpu "$pid")
    echo "$(sort -g "$WORK/times" | tail -1) $c0 $c1"
}
TICK=$(getconf CLK_TCK)
echo "[" >"$OUT"
first=1
list() { paste -sd, "$1"; }   # a file's lines as a JSON array's items
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
round() { # url streams pid -> MiB/s of the round; adds the pid's CPU ticks to $WORK/cpu.<pid>
    local secs c0 c1
    read -r secs c0 c1 <<<"$(run "$1" "$2" "$3")"
    echo $((c1 - c0)) >>"$WORK/cpu.$3"
    awk -v t="$secs" -v n="$2" -v m="$SIZE_MIB" 'BEGIN{print n*m/t}'
}
for n in 1 8 32; do
    : >"$WORK/nginx.s"; : >"$WORK/bot.s"; : >"$WORK/cpu.$NGINX_WORKER"; : >"$WORK/cpu.$BOT_PID"
    for _ in $(seq "$ROUNDS"); do   # alternating rounds, so drifts of the machine hit both alike
        round "http://127.0.0.1:$NGINX_PORT/big.bin" "$n" "$NGINX_WORKER" >>"$WORK/nginx.s"
        round "$URL" "$n" "$BOT_PID" >>"$WORK/bot.s"
    done
    med_n=$(median <"$WORK/nginx.s"); med_b=$(median <"$WORK/bot.s")
    # Each streambot round over the nginx round just before it: a drift of the machine that
    # outlasts two rounds cancels out of these, not out of a ratio of medians.
    paired=$(paste "$WORK/nginx.s" "$WORK/bot.s" | awk '{ print $2 / $1 }' | median)
    cpu_n=$(awk '{ s += $1 } END { print s }' "$WORK/cpu.$NGINX_WORKER")
    cpu_b=$(awk '{ s += $1 } END { print s }' "$WORK/cpu.$BOT_PID")
    gib=$(awk -v n="$n" -v m="$SIZE_MIB" -v r="$ROUNDS" 'BEGIN{print n*m*r/1024}')
    line=$(awk -v n="$n" -v x="$med_n" -v y="$med_b" -v p="$paired" -v cn="$cpu_n" -v cb="$cpu_b" -v g="$gib" -v t="$TICK" 'BEGIN{
        printf "%d streams: nginx %.0f MiB/s, streambot %.0f MiB/s, ratio %.2f", n, x, y, y/x
        printf " (paired rounds %.2f); cpu s/GiB nginx %.2f, streambot %.2f", p, cn/t/g, cb/t/g}')
    echo "$line"
    [ "$first" = 1 ] || echo "," >>"$OUT"
    first=0
    awk -v n="$n" -v x="$med_n" -v y="$med_b" -v cn="$cpu_n" -v cb="$cpu_b" -v g="$gib" -v t="$TICK" 'BEGIN{
        printf "{\"streams\": %d, \"nginx_mib_s\": %.1f, \"streambot_mib_s\": %.1f, \"ratio\": %.3f, ", n, x, y, y/x
        printf "\"nginx_cpu_s_per_gib\": %.3f, \"streambot_cpu_s_per_gib\": %.3f, ", cn/t/g, cb/t/g}' >>"$OUT"
    printf '"paired_ratio": %.3f, "nginx_rounds_mib_s": [%s], "streambot_rounds_mib_s": [%s]}' \
        "$paired" "$(list "$WORK/nginx.s")" "$(list "$WORK/bot.s")" >>"$OUT"
done
echo "]" >>"$OUT"
echo "json: $OUT"
