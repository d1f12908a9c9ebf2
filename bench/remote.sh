#!/usr/bin/env bash
# The viewer on another host: curl runs in its own network namespace behind a veth pair, so
# streambot (local mode) and nginx (one worker, sendfile on) see a remote peer, as they do for
# every viewer who is not on this machine. Both serve the same file in alternating rounds at 1, 8,
# 32 and 100 parallel streams. Reports per stream count: throughput (median of the rounds, and
# the median of each streambot round over the nginx round just before it), the server's CPU
# seconds per GiB (the serving process's utime + stime) and the whole machine's (/proc/stat,
# both cores, the curls included), as medians with min-max. Writes JSON (target/bench/remote.json).
# Usage: sudo bench/remote.sh   (env: SIZE_MIB=256 ROUNDS=5 STREAMS="1 8 32 100" DELAY_MS=0
# BENCH_PORT=18700 OUT=path, STREAMBOT_BIN=path to measure another build). Needs root, nginx,
# curl and python3; nginx is installed with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE_MIB=${SIZE_MIB:-256}
ROUNDS=${ROUNDS:-5}
STREAMS=${STREAMS:-1 8 32 100}
BOT_PORT=${BENCH_PORT:-18700}
NGINX_PORT=$((BOT_PORT + 1))
FAKE_PORT=$((BOT_PORT + 2))
OUT=${OUT:-$ROOT/target/bench/remote.json}
SIZE=$((SIZE_MIB * 1024 * 1024))

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -n "${STREAMBOT_BIN:-}" ] || cargo build --release --quiet
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}
source "$ROOT/bench/common.sh"
source "$ROOT/bench/nginx.sh"

WORK=$(mktemp -d /tmp/streambot-remote.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    drop_viewer_ns
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/files" "$WORK/data" "$(dirname "$OUT")"
FILE="$WORK/files/big.bin"
head -c "$SIZE" /dev/urandom >"$FILE"
chmod -R a+rX "$WORK"
viewer_ns
NGINX_LISTEN=$HOST_ADDR start_nginx
python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" "$FILE" >"$WORK/fake.out" 2>"$WORK/fake.err" & PIDS+=($!)
(cd "$WORK" && exec env -i PATH="$PATH" BOT_TOKEN=1:bench TELEGRAM_API_URL="http://127.0.0.1:$FAKE_PORT" \
    TELEGRAM_LOCAL_FILES="$WORK/files" DATA_DIR="$WORK/data" PORT="$BOT_PORT" BIND_ADDRESS="$HOST_ADDR" \
    REQUESTS_PER_MINUTE=0 MAX_CONNECTIONS_PER_IP=256 MAX_DOWNLOADS_PER_IP=256 RUST_LOG=warn \
    "$BIN" >"$WORK/bot.log" 2>&1) & PIDS+=($!)
BOT_PID=$!
for _ in $(seq 100); do grep -q "/dl/" "$WORK/fake.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o "http://[^ ]*/dl/[A-Za-z0-9_-]*" "$WORK/fake.out" | head -1 | sed -E "s#http://[^/]+#http://$HOST_ADDR:$BOT_PORT#")
[ -n "$URL" ] || { echo "no link from the bot" >&2; cat "$WORK/bot.log" >&2; exit 1; }
NGINX_URL="http://$HOST_ADDR:$NGINX_PORT/big.bin"
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)
cat "$FILE" >/dev/null   # both read from the page cache

round() { # label url streams pid -> appends "MiB/s server_s_per_gib machine_s_per_gib" to $WORK/<label>
    local p0 m0 p1 m1 secs
    p0=$(proc_ticks "$4"); m0=$(machine_ticks)
    secs=$(view_round "$2" "$3" "$SIZE")
    p1=$(proc_ticks "$4"); m1=$(machine_ticks)
    awk -v s="$secs" -v n="$3" -v b="$SIZE" -v p="$((p1 - p0))" -v m="$((m1 - m0))" -v t="$TICK" 'BEGIN {
        gib = n * b / 1073741824; printf "%.1f %.4f %.4f\n", n * b / 1048576 / s, p / t / gib, m / t / gib }' >>"$WORK/$1"
}
col() { cut -d' ' -f"$1" "$WORK/r.$2"; }
echo "[" >"$OUT"
sep=""
printf 'viewer on another host (veth, delay %s ms), %s MiB file, %s alternating rounds; median (min-max)\n' \
    "${DELAY_MS:-0}" "$SIZE_MIB" "$ROUNDS"
for n in $STREAMS; do
    : >"$WORK/r.nginx"; : >"$WORK/r.bot"
    for _ in $(seq "$ROUNDS"); do
        round r.nginx "$NGINX_URL" "$n" "$NGINX_WORKER"
        round r.bot "$URL" "$n" "$BOT_PID"
    done
    paired=$(paste -d' ' <(col 1 nginx) <(col 1 bot) | awk '{ print $2 / $1 }' | spread)
    read -r tn _ _ <<<"$(col 1 nginx | spread)"; read -r tb tb_lo tb_hi <<<"$(col 1 bot | spread)"
    read -r sn sn_lo sn_hi <<<"$(col 2 nginx | spread)"; read -r sb sb_lo sb_hi <<<"$(col 2 bot | spread)"
    read -r wn wn_lo wn_hi <<<"$(col 3 nginx | spread)"; read -r wb wb_lo wb_hi <<<"$(col 3 bot | spread)"
    read -r pr pr_lo pr_hi <<<"$paired"
    printf '%3d streams: nginx %.0f MiB/s, streambot %.0f MiB/s (%.0f-%.0f): %.2fx (paired %.2f, %.2f-%.2f)\n' \
        "$n" "$tn" "$tb" "$tb_lo" "$tb_hi" "$(awk -v a="$tb" -v b="$tn" 'BEGIN{print a/b}')" "$pr" "$pr_lo" "$pr_hi"
    printf '             CPU s/GiB server: nginx %.3f (%.3f-%.3f), streambot %.3f (%.3f-%.3f): %.2fx\n' \
        "$sn" "$sn_lo" "$sn_hi" "$sb" "$sb_lo" "$sb_hi" "$(awk -v a="$sb" -v b="$sn" 'BEGIN{print a/b}')"
    printf '             CPU s/GiB machine: nginx %.3f (%.3f-%.3f), streambot %.3f (%.3f-%.3f): %.2fx\n' \
        "$wn" "$wn_lo" "$wn_hi" "$wb" "$wb_lo" "$wb_hi" "$(awk -v a="$wb" -v b="$wn" 'BEGIN{print a/b}')"
    printf '%s{"streams": %d, "paired_ratio": [%s, %s, %s], "nginx_mib_s": [%s], "streambot_mib_s": [%s], "nginx_server_cpu_s_per_gib": [%s], "streambot_server_cpu_s_per_gib": [%s], "nginx_machine_cpu_s_per_gib": [%s], "streambot_machine_cpu_s_per_gib": [%s]}\n' \
        "$sep" "$n" "$pr" "$pr_lo" "$pr_hi" "$(col 1 nginx | paste -sd,)" "$(col 1 bot | paste -sd,)" \
        "$(col 2 nginx | paste -sd,)" "$(col 2 bot | paste -sd,)" "$(col 3 nginx | paste -sd,)" "$(col 3 bot | paste -sd,)" >>"$OUT"
    sep=","
done
echo "]" >>"$OUT"
echo "json: $OUT"
