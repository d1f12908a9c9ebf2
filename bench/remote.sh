#!/usr/bin/env bash
# streambot (local mode) against nginx (one worker, sendfile on) serving the same file, with the
# viewer (curl) where real viewers are:
#   VIEWER=remote (default): in its own network namespace behind a veth pair, so both servers see
#     a remote peer, as they do for every viewer who is not on this machine; streambot sends with
#     sendfile.
#   VIEWER=same-host: on this host, as a reverse proxy on the same machine is. streambot serves a
#     peer on its own host from mapped windows; the same peer reaching it from a second local
#     address gets sendfile, so the two paths are measured side by side in one process.
# Alternating rounds at each stream count; per path: throughput (median, min-max, and the median
# of each round over the nginx round just before it), the server's CPU s/GiB (utime + stime), the
# whole machine's CPU s/GiB (/proc/stat, both cores, the curls included), peak RSS growth per
# stream and time to first byte. Writes JSON (target/bench/<viewer>.json).
# Usage: sudo bench/remote.sh   (env: VIEWER=remote SIZE_MIB=256 ROUNDS=5 STREAMS="1 8 32 100"
# DELAY_MS=0 BENCH_PORT=18700 OUT=path, STREAMBOT_BIN=path to measure another build). Needs root,
# nginx, curl and python3; nginx is installed with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VIEWER=${VIEWER:-remote}
SIZE_MIB=${SIZE_MIB:-256}
ROUNDS=${ROUNDS:-5}
STREAMS=${STREAMS:-1 8 32 100}
BOT_PORT=${BENCH_PORT:-18700}
NGINX_PORT=$((BOT_PORT + 1))
FAKE_PORT=$((BOT_PORT + 2))
OUT=${OUT:-$ROOT/target/bench/$VIEWER.json}
SIZE=$((SIZE_MIB * 1024 * 1024))

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
case $VIEWER in remote | same-host) ;; *) echo "VIEWER is remote or same-host, not $VIEWER" >&2; exit 1 ;; esac
[ -n "${STREAMBOT_BIN:-}" ] || cargo build --release --quiet
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}
source "$ROOT/bench/common.sh"
source "$ROOT/bench/nginx.sh"

bench_workdir remote big.bin
viewer_ns
if [ "$VIEWER" = same-host ]; then
    # The viewer is this host, from either of two of its addresses (local traffic between them
    # goes over loopback whichever link holds them): the servers listen on the first.
    VIEW_EXEC=""
    OTHER_ADDR=10.233.$(($$ % 250)).1
    ip addr add "$OTHER_ADDR/32" dev "sbv0$$"
fi
NGINX_LISTEN=$HOST_ADDR start_nginx
python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" "$FILE" >"$WORK/fake.out" 2>"$WORK/fake.err" & PIDS+=($!)
start_bot TELEGRAM_LOCAL_FILES="$WORK/files"
wait_link
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)
cat "$FILE" >/dev/null   # both read from the page cache

if [ "$VIEWER" = remote ]; then
    PATHS="nginx http://$HOST_ADDR:$NGINX_PORT/big.bin $NGINX_WORKER
streambot $URL $BOT_PID"
else
    PATHS="nginx http://$HOST_ADDR:$NGINX_PORT/big.bin $NGINX_WORKER --interface $OTHER_ADDR
streambot-mapped $URL $BOT_PID
streambot-sendfile $URL $BOT_PID --interface $OTHER_ADDR"
fi
printf 'viewer: %s (delay %s ms), %s MiB file, %s alternating rounds; median (min-max)\n' \
    "$VIEWER" "${DELAY_MS:-0}" "$SIZE_MIB" "$ROUNDS"
compare_paths
