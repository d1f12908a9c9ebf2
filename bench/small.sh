#!/usr/bin/env bash
# Small requests (thumbnails, subtitles, players' probes): a 4 KiB file, GET and HEAD over 64
# keep-alive connections with `wrk -t1 -c64`, streambot (local mode, behind a link) against nginx
# (one worker, sendfile on, tcp_nopush off) serving the same file, in alternating rounds of
# DURATION seconds.
# Prints requests/s and p99 latency per round and the medians, with streambot over nginx.
# VIEWER=remote (default) runs the clients in their own network namespace behind a veth pair, as
# a viewer on another host (needs root); VIEWER=same-host runs them on loopback.
# Writes every round as JSON (target/bench/small.json).
# Usage: sudo bench/small.sh   (env: VIEWER=remote ROUNDS=5 DURATION=5 BENCH_PORT=18690 OUT=path
# STREAMBOT_BIN=path to measure another build instead of building this tree). Needs nginx, wrk,
# ab (apache2-utils) and python3; the first three are installed with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
BOT_PORT=${BENCH_PORT:-18690}
NGINX_PORT=$((BOT_PORT + 1))
FAKE_PORT=$((BOT_PORT + 2))
OUT=${OUT:-$ROOT/target/bench/small.json}
mkdir -p "$(dirname "$OUT")"

if ! command -v wrk >/dev/null 2>&1 || ! command -v ab >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk apache2-utils >/dev/null
fi
[ -n "${STREAMBOT_BIN:-}" ] || cargo build --release --quiet
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}

source "$ROOT/bench/common.sh"
WORK=$(mktemp -d /tmp/streambot-small.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; drop_viewer_ns; rm -rf "$WORK"' EXIT
case ${VIEWER:-remote} in
    remote) [ "$(id -u)" = 0 ] || { echo "VIEWER=remote needs root (network namespaces)" >&2; exit 1; }
        viewer_ns; ADDR=$HOST_ADDR ;;
    same-host) VIEW_EXEC=""; ADDR=127.0.0.1 ;;
    *) echo "VIEWER is remote or same-host, not $VIEWER" >&2; exit 1 ;;
esac
mkdir -p "$WORK/files" "$WORK/data"
FILE="$WORK/files/small.bin"
head -c 4096 /dev/urandom >"$FILE"
chmod -R a+rX "$WORK"
source "$ROOT/bench/nginx.sh"
# tcp_nopush off: with it on, nginx corks each small response and served a 4 KiB GET to a viewer
# behind the veth pair at 20,500/s, against 75,700/s without (wrk -t1 -c64 -d3s, sendfile on).
NGINX_LISTEN=$ADDR NGINX_NOPUSH=off start_nginx
python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" "$FILE" >"$WORK/fake.out" 2>"$WORK/fake.err" & PIDS+=($!)
# No request limit and room for 64 connections from one address: the benchmark is one client.
(cd "$WORK" && exec env -i PATH="$PATH" BOT_TOKEN=1:bench TELEGRAM_API_URL="http://127.0.0.1:$FAKE_PORT" \
    TELEGRAM_LOCAL_FILES="$WORK/files" DATA_DIR="$WORK/data" PORT="$BOT_PORT" BIND_ADDRESS="$ADDR" \
    REQUESTS_PER_MINUTE=0 BANDWIDTH_LIMIT_GB=0 MAX_CONNECTIONS_PER_IP=256 MAX_DOWNLOADS_PER_IP=256 RUST_LOG=warn \
    "$BIN" >"$WORK/bot.log" 2>&1) & PIDS+=($!)
for _ in $(seq 100); do grep -q "/dl/" "$WORK/fake.out" 2>/dev/null && break; sleep 0.1; done
URL=$( (grep -o "http://[^ ]*/dl/[A-Za-z0-9_-]*/[^ <]*" "$WORK/fake.out" || true) | head -1 | sed -E "s#http://[^/]+#http://$ADDR:$BOT_PORT#")
[ -n "$URL" ] || { echo "no link from the bot" >&2; cat "$WORK/bot.log" >&2; exit 1; }
$VIEW_EXEC curl -fs -o /dev/null "$URL" || { echo "the link does not serve: $URL" >&2; exit 1; }

# One round: "requests/s p99_ms". GET with wrk; HEAD with ApacheBench (`ab -i`), since wrk waits
# for the body a HEAD response announces and reads nothing but errors (its p99 is whole ms).
bench() { # url method
    if [ "$2" = HEAD ]; then
        $VIEW_EXEC ab -k -i -c64 -t"$DURATION" -n 100000000 "$1" 2>/dev/null | awk '
            /Requests per second/ { rps = $4 } $1 == "99%" { p99 = $2 }
            END { printf "%.0f %.2f\n", rps, p99 }'
        return
    fi
    $VIEW_EXEC wrk -t1 -c64 -d"${DURATION}s" --latency "$1" | awk '
        /Requests\/sec/ { rps = $2 }
        $1 == "99%" { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /[^m]s$/) ms *= 1000; p99 = ms }
        END { printf "%.0f %.2f\n", rps, p99 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '{"rounds": %s, "duration_s": %s' "$ROUNDS" "$DURATION" >"$OUT"
for method in GET HEAD; do
    : >"$WORK/n"; : >"$WORK/b"
    for r in $(seq "$ROUNDS"); do   # alternating rounds, so drifts of the machine hit both alike
        n=$(bench "http://$ADDR:$NGINX_PORT/small.bin" "$method"); echo "$n" >>"$WORK/n"
        b=$(bench "$URL" "$method"); echo "$b" >>"$WORK/b"
        echo "$method round $r: nginx $n, streambot $b (requests/s p99_ms)"
    done
    rn=$(cut -d' ' -f1 "$WORK/n" | median); rb=$(cut -d' ' -f1 "$WORK/b" | median)
    pn=$(cut -d' ' -f2 "$WORK/n" | median); pb=$(cut -d' ' -f2 "$WORK/b" | median)
    lo=$(cut -d' ' -f1 "$WORK/b" | sort -g | head -1); hi=$(cut -d' ' -f1 "$WORK/b" | sort -g | tail -1)
    awk -v m="$method" -v rn="$rn" -v rb="$rb" -v pn="$pn" -v pb="$pb" -v lo="$lo" -v hi="$hi" 'BEGIN{
        printf "%s 4 KiB, 64 connections: nginx %.0f/s (p99 %.2f ms), streambot %.0f/s (%.0f-%.0f, p99 %.2f ms): %.2fx the rate, %.2fx the p99\n",
            m, rn, pn, rb, lo, hi, pb, rb / rn, pb / pn }'
    printf ', "%s": {"nginx_rps": [%s], "streambot_rps": [%s], "nginx_p99_ms": [%s], "streambot_p99_ms": [%s]}' "$method" \
        "$(cut -d' ' -f1 "$WORK/n" | paste -sd,)" "$(cut -d' ' -f1 "$WORK/b" | paste -sd,)" \
        "$(cut -d' ' -f2 "$WORK/n" | paste -sd,)" "$(cut -d' ' -f2 "$WORK/b" | paste -sd,)" >>"$OUT"
done
echo "}" >>"$OUT"
echo "json: $OUT"
