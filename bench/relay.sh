#!/usr/bin/env bash
# Cloud mode against its anchor: streambot relays a file it fetches from the Bot API's file URL
# over TLS, as it does for every user without a local Bot API server, and nginx as a reverse
# proxy (proxy_pass https://…, proxy_buffering off, keep-alive to the upstream) relays the same
# file from the same upstream. The upstream is a third nginx: TLS with a leaf certificate signed
# by a throwaway CA (TELEGRAM_CA_FILE), serving /file/bot<token>/documents/ from disk and passing
# the Bot API methods to bench/streaming_fake.py. The viewer (curl) is on "another host": its own
# network namespace behind a veth pair. Alternating rounds at 1, 8 and 32 streams of a 20 MiB
# file (the cloud Bot API's getFile limit); per path: throughput, the relay's CPU s/GiB and the
# whole machine's, peak RSS growth per stream, time to first byte. Writes target/bench/relay.json.
# Usage: sudo bench/relay.sh   (env: ROUNDS=5 STREAMS="1 8 32" REPEAT=10 BENCH_PORT=18720 OUT=path,
# STREAMBOT_BIN=path to measure another build). Needs root, nginx, openssl, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-5}
STREAMS=${STREAMS:-1 8 32}
BOT_PORT=${BENCH_PORT:-18720}
NGINX_PORT=$((BOT_PORT + 1))
FAKE_PORT=$((BOT_PORT + 2))
UP_PORT=$((BOT_PORT + 3))
OUT=${OUT:-$ROOT/target/bench/relay.json}
SIZE=$((20 * 1024 * 1024))
REPEAT=${REPEAT:-10}   # each stream fetches the file this many times a round: CPU ticks of 10 ms need the bytes
TOKEN=1:bench

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -n "${STREAMBOT_BIN:-}" ] || cargo build --release --quiet
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}
source "$ROOT/bench/common.sh"
source "$ROOT/bench/nginx.sh"

bench_workdir relay documents/big.bin
mkdir "$WORK/tls"

# A CA and a leaf for 127.0.0.1 signed by it (webpki refuses a CA certificate as the end entity).
tls() { openssl "$@" 2>/dev/null; }
tls req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
    -keyout "$WORK/tls/ca.key" -out "$WORK/tls/ca.pem"
tls req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$WORK/tls/leaf.key" -out "$WORK/tls/leaf.csr"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$WORK/tls/ext"
tls x509 -req -in "$WORK/tls/leaf.csr" -CA "$WORK/tls/ca.pem" -CAkey "$WORK/tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/tls/ext" -out "$WORK/tls/leaf.pem"

viewer_ns
run_nginx upstream "    sendfile on;
    server {
        listen 127.0.0.1:$UP_PORT ssl;
        ssl_certificate $WORK/tls/leaf.pem;
        ssl_certificate_key $WORK/tls/leaf.key;
        location /file/bot$TOKEN/ { alias $WORK/files/; }
        location / { proxy_pass http://127.0.0.1:$FAKE_PORT; }
    }"
run_nginx proxy "    upstream telegram { server 127.0.0.1:$UP_PORT; keepalive 32; }
    server {
        listen $HOST_ADDR:$NGINX_PORT;
        location / {
            proxy_pass https://telegram/file/bot$TOKEN/documents/;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
            proxy_ssl_verify on;
            proxy_ssl_name 127.0.0.1;
            proxy_ssl_trusted_certificate $WORK/tls/ca.pem;
        }
    }"
PROXY_PID=$NGINX_PID
FILE_PATH=documents/big.bin python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" "$FILE" \
    >"$WORK/fake.out" 2>"$WORK/fake.err" & PIDS+=($!)
sleep 0.5   # the upstream listens before the bot's first call
start_bot BOT_TOKEN=$TOKEN TELEGRAM_API_URL="https://127.0.0.1:$UP_PORT" TELEGRAM_CA_FILE="$WORK/tls/ca.pem"
wait_link
PROXY_WORKER=$(pgrep -P "$PROXY_PID" | head -1)
cat "$FILE" >/dev/null   # the upstream reads from the page cache

PATHS="nginx-proxy http://$HOST_ADDR:$NGINX_PORT/big.bin $PROXY_WORKER
streambot $URL $BOT_PID"
printf 'cloud relay over TLS, viewer on another host (veth), 20 MiB file, %s alternating rounds; median (min-max)\n' "$ROUNDS"
printf 'idle RSS: streambot %s KiB, nginx proxy worker %s KiB\n' "$(rss_kib "$BOT_PID")" "$(rss_kib "$PROXY_WORKER")"
compare_paths
