#!/usr/bin/env bash
# Direct mode (file bytes over MTProto) against fake Telegram DCs on "another host": the DCs run in
# their own network namespace behind a veth pair and a delay line (examples/delay_line.rs: every
# chunk held DELAY_MS each way, default 25: a 50 ms round trip, like a European home line to DC 2
# or 4; a relay because this kernel has no `netem` qdisc), and the viewer (curl) in a second
# namespace, so every byte crosses a real network path. Reports, as medians of
# ROUNDS with min-max: time to first byte of a 1 MiB range at a random offset (warm session), one
# download's throughput, eight at once (aggregate), the bot's CPU seconds per GiB (AES-IGE
# decryption included) and its RSS. The fake DCs (examples/fake_dc.rs) share the machine's cores.
# Usage: sudo bench/direct.sh   (env: SIZE_MIB=256 ROUNDS=5 DELAY_MS=25 BENCH_PORT=18690
# OUT=path; STREAMBOT_BIN='qemu-aarch64-static path/to/streambot' measures another build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE_MIB=${SIZE_MIB:-256}
ROUNDS=${ROUNDS:-5}
DELAY_MS=${DELAY_MS:-25}
BOT_PORT=${BENCH_PORT:-18690}
FAKE_PORT=$((BOT_PORT + 1))
OUT=${OUT:-$ROOT/target/bench/direct.json}
SIZE=$((SIZE_MIB * 1024 * 1024 + 4321))
NS_DC=sbdc$$
NS_VIEW=sbview$$

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
if [ -z "${STREAMBOT_BIN:-}" ]; then cargo build --release --quiet; fi
cargo build --release --quiet --example fake_dc --example delay_line
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}
source "$ROOT/bench/common.sh"
FAKE_DC=$ROOT/target/release/examples/fake_dc
DELAY_LINE=$ROOT/target/release/examples/delay_line

WORK=$(mktemp -d /tmp/streambot-direct.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS_DC" 2>/dev/null || true
    ip netns del "$NS_VIEW" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/data" "$(dirname "$OUT")"

# veth pairs: 10.231.0.1 (bot) <-> 10.231.0.2 (DCs, delayed), 10.231.1.1 (bot) <-> 10.231.1.2 (viewer).
pair "$NS_DC" sbd0$$ sbd1$$ 10.231.0.1 10.231.0.2
pair "$NS_VIEW" sbv0$$ sbv1$$ 10.231.1.1 10.231.1.2
ip netns exec "$NS_DC" "$FAKE_DC" --listen 127.0.0.1 --dcs 2,4 --token 1:bench --size "$SIZE" >"$WORK/dc.out" 2>"$WORK/dc.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q file_id "$WORK/dc.out" 2>/dev/null && break; sleep 0.1; done
field() { python3 -c "import json,sys
for line in open('$WORK/dc.out'):
    o = json.loads(line)
    if sys.argv[1] in o and all(str(o.get(k)) == v for k, v in [p.split('=') for p in sys.argv[2:]]):
        print(o[sys.argv[1]]); break" "$@"; }
FILE_ID=$(field file_id)
KEY=$(field server_key dc=2)
[ -n "$FILE_ID" ] || { echo "the fake DC printed no file" >&2; cat "$WORK/dc.err" >&2; exit 1; }
# The bot reaches DC n at 10.231.0.2:2440n, through the delay line to the fake's port.
for dc in 2 4; do
    ip netns exec "$NS_DC" "$DELAY_LINE" "10.231.0.2:2440$dc" "127.0.0.1:$(field port dc=$dc)" "$DELAY_MS" &
    PIDS+=($!)
done
DCS="2=10.231.0.2:24402,4=10.231.0.2:24404"

FILE_ID=$FILE_ID FILE_SIZE=$SIZE python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" - >"$WORK/fake.out" 2>"$WORK/fake.err" &
PIDS+=($!)
# shellcheck disable=SC2086 # STREAMBOT_BIN may be an emulator and a binary
(cd "$WORK" && exec env -i PATH="$PATH" BOT_TOKEN=1:bench TELEGRAM_API_URL="http://127.0.0.1:$FAKE_PORT" \
    TELEGRAM_API_ID=1 TELEGRAM_API_HASH=0123456789abcdef0123456789abcdef TELEGRAM_SERVER_KEY="$KEY" \
    TELEGRAM_DC_ADDRESS="$DCS" DATA_DIR="$WORK/data" PORT="$BOT_PORT" BIND_ADDRESS=10.231.1.1 \
    REQUESTS_PER_MINUTE=0 BANDWIDTH_LIMIT_GB=0 MAX_CONNECTIONS_PER_IP=256 RUST_LOG=warn $BIN >"$WORK/bot.log" 2>&1) &
PIDS+=($!)
BOT_PID=$!
for _ in $(seq 200); do grep -q "/dl/" "$WORK/fake.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o "http://[^ ]*/dl/[A-Za-z0-9_-]*" "$WORK/fake.out" | head -1 | sed -E "s#http://[^/]+#http://10.231.1.1:$BOT_PORT#")
[ -n "$URL" ] || { echo "no link from the bot" >&2; cat "$WORK/bot.log" >&2; exit 1; }

view() { ip netns exec "$NS_VIEW" curl -s --max-time 600 "$@"; }
IDLE_RSS=$(rss_kib "$BOT_PID")
# Warm: the first request makes the auth key and logs in.
view -o /dev/null -r 0-0 "$URL"

: >"$WORK/ttfb"
for i in $(seq "$ROUNDS"); do
    offset=$(( (RANDOM * 32768 + RANDOM) % (SIZE - 1048576) ))
    view -o /dev/null -w '%{time_starttransfer}\n' -r "$offset-$((offset + 1048575))" "$URL" >>"$WORK/ttfb"
done
TTFB=$(spread <"$WORK/ttfb")

streams() { # n -> "MiB/s cpu_seconds_per_gib peak_rss_kib" for one round of n whole downloads
    local n=$1 c0 c1 t peak=0 curls=()
    : >"$WORK/times"
    c0=$(proc_ticks "$BOT_PID")
    for _ in $(seq "$n"); do view -o /dev/null -w '%{time_total}\n' "$URL" >>"$WORK/times" & curls+=($!); done
    while kill -0 "${curls[0]}" 2>/dev/null; do
        r=$(rss_kib "$BOT_PID"); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.2
    done
    wait "${curls[@]}"
    c1=$(proc_ticks "$BOT_PID")
    t=$(sort -g "$WORK/times" | tail -1)
    awk -v n="$n" -v s="$SIZE" -v t="$t" -v c="$((c1 - c0))" -v tick="$TICK" -v peak="$peak" \
        'BEGIN { printf "%.2f %.3f %d\n", n * s / t / 1048576, c / tick / (n * s / 1073741824), peak }'
}
report() { # n label
    : >"$WORK/mibs"; : >"$WORK/cpus"; : >"$WORK/rss"
    for _ in $(seq "$ROUNDS"); do
        read -r mibs cpus peak < <(streams "$1")
        echo "$mibs" >>"$WORK/mibs"; echo "$cpus" >>"$WORK/cpus"; echo "$peak" >>"$WORK/rss"
    done
    echo "$(spread <"$WORK/mibs") $(spread <"$WORK/cpus") $(sort -g "$WORK/rss" | tail -1)"
}
read -r ONE_MIBS ONE_MIN ONE_MAX ONE_CPU ONE_CPU_MIN ONE_CPU_MAX ONE_RSS < <(report 1)
read -r EIGHT_MIBS EIGHT_MIN EIGHT_MAX EIGHT_CPU EIGHT_CPU_MIN EIGHT_CPU_MAX EIGHT_RSS < <(report 8)
read -r TTFB_MED TTFB_MIN TTFB_MAX <<<"$TTFB"

printf 'direct mode, %s MiB file, %s ms each way (delay line), %s rounds (median, min-max)\n' "$SIZE_MIB" "$DELAY_MS" "$ROUNDS"
printf '  first byte of a 1 MiB range  %.0f ms (%.0f-%.0f)\n' "$(echo "$TTFB_MED*1000" | bc)" "$(echo "$TTFB_MIN*1000" | bc)" "$(echo "$TTFB_MAX*1000" | bc)"
printf '  1 download   %s MiB/s (%s-%s), %s CPU s/GiB (%s-%s), peak RSS %s KiB\n' "$ONE_MIBS" "$ONE_MIN" "$ONE_MAX" "$ONE_CPU" "$ONE_CPU_MIN" "$ONE_CPU_MAX" "$ONE_RSS"
printf '  8 downloads  %s MiB/s in all (%s-%s), %s CPU s/GiB (%s-%s), peak RSS %s KiB\n' "$EIGHT_MIBS" "$EIGHT_MIN" "$EIGHT_MAX" "$EIGHT_CPU" "$EIGHT_CPU_MIN" "$EIGHT_CPU_MAX" "$EIGHT_RSS"
printf '  idle RSS before the first download %s KiB\n' "$IDLE_RSS"
cat >"$OUT" <<EOF
{"size_mib": $SIZE_MIB, "delay_ms_each_way": $DELAY_MS, "rounds": $ROUNDS, "idle_rss_kib": $IDLE_RSS,
 "ttfb_s": [$TTFB_MED, $TTFB_MIN, $TTFB_MAX],
 "one": {"mib_s": [$ONE_MIBS, $ONE_MIN, $ONE_MAX], "cpu_s_per_gib": [$ONE_CPU, $ONE_CPU_MIN, $ONE_CPU_MAX], "peak_rss_kib": $ONE_RSS},
 "eight": {"mib_s": [$EIGHT_MIBS, $EIGHT_MIN, $EIGHT_MAX], "cpu_s_per_gib": [$EIGHT_CPU, $EIGHT_CPU_MIN, $EIGHT_CPU_MAX], "peak_rss_kib": $EIGHT_RSS}}
EOF
