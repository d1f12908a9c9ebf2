#!/usr/bin/env bash
# A Pi-sized host: streambot (local mode) in a cgroup with a quarter of one core and 32 MiB of
# memory (what `systemd-run --scope -p CPUQuota=25% -p MemoryMax=32M` sets, roughly a Pi Zero 2 W's
# share), written to the cgroup files directly so it runs with or without systemd (cgroup v2
# `cpu.max`/`memory.max`, or v1 `cpu.cfs_quota_us`/`memory.limit_in_bytes`). The viewer is on
# "another host" (its own network namespace behind a veth pair). Three loads, one after another:
#   1. 8 whole downloads of a SIZE_MIB file at once: throughput and CPU s/GiB;
#   2. 100 slow downloads (curl --limit-rate 32k) for SLOW_SECS: every one must still be
#      streaming when it ends, and the peak RSS is reported;
#   3. a burst of 1000 files from 1000 users: every link must arrive; time to the last one.
# Fails if the bot is killed (OOM) or a download or link is lost. Writes target/bench/pi.json.
# Usage: sudo bench/pi.sh   (env: SIZE_MIB=64 SLOW_SECS=20 BURST=1000 BENCH_PORT=18740 OUT=path,
# STREAMBOT_BIN=path). Needs root, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE_MIB=${SIZE_MIB:-64}
SLOW_SECS=${SLOW_SECS:-20}
BURST=${BURST:-1000}
BOT_PORT=${BENCH_PORT:-18740}
FAKE_PORT=$((BOT_PORT + 1))
OUT=${OUT:-$ROOT/target/bench/pi.json}
SIZE=$((SIZE_MIB * 1024 * 1024))
CG=streambot-pi$$

[ "$(id -u)" = 0 ] || { echo "needs root (cgroups, network namespaces)" >&2; exit 1; }
[ -n "${STREAMBOT_BIN:-}" ] || cargo build --release --quiet
BIN=${STREAMBOT_BIN:-$ROOT/target/release/streambot}
source "$ROOT/bench/common.sh"

# The cgroup directories the bot joins, with the limits written, as CG_DIRS; CG_MEM is the one
# with the memory figures.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    CG_DIRS=/sys/fs/cgroup/$CG
    mkdir "$CG_DIRS"
    echo "25000 100000" >"$CG_DIRS/cpu.max"
    echo 32M >"$CG_DIRS/memory.max"
    [ ! -f "$CG_DIRS/memory.swap.max" ] || echo 0 >"$CG_DIRS/memory.swap.max"
    CG_MEM=$CG_DIRS
    CG_KIND="cgroup v2: cpu.max 25000/100000, memory.max 32M"
else
    CG_DIRS="/sys/fs/cgroup/cpu/$CG /sys/fs/cgroup/memory/$CG"
    mkdir /sys/fs/cgroup/cpu/$CG /sys/fs/cgroup/memory/$CG
    echo 100000 >/sys/fs/cgroup/cpu/$CG/cpu.cfs_period_us
    echo 25000 >/sys/fs/cgroup/cpu/$CG/cpu.cfs_quota_us
    echo 32M >/sys/fs/cgroup/memory/$CG/memory.limit_in_bytes
    CG_MEM=/sys/fs/cgroup/memory/$CG
    CG_KIND="cgroup v1: cpu.cfs_quota_us 25000/100000, memory.limit_in_bytes 32M"
fi
cg_file() { for f in "$@"; do [ ! -f "$CG_MEM/$f" ] || { echo "$CG_MEM/$f"; return; }; done; echo /dev/null; }
oom_kills() { awk '$1 == "oom_kill" { print $2; f = 1 } END { if (!f) print 0 }' "$(cg_file memory.events memory.oom_control)"; }
peak_mem_kib() { awk '{ print int($1 / 1024); f = 1 } END { if (!f) print "null" }' "$(cg_file memory.peak memory.max_usage_in_bytes)"; }

bench_workdir pi big.bin
cleanup() {
    bench_cleanup
    sleep 0.2
    for d in $CG_DIRS; do rmdir "$d" 2>/dev/null || true; done
}
trap cleanup EXIT
viewer_ns
python3 "$ROOT/bench/streaming_fake.py" "$FAKE_PORT" "$FILE" >"$WORK/fake.out" 2>"$WORK/fake.err" & PIDS+=($!)
# The bot joins the cgroup before it starts: the shell writes its own pid, then execs it.
BOT_WRAP=(sh -c 'for d in $0; do echo $$ >"$d/cgroup.procs"; done; exec "$@"' "$CG_DIRS")
start_bot TELEGRAM_LOCAL_FILES="$WORK/files"
wait_link
cat "$FILE" >/dev/null   # the file is in the page cache, as a file served for a while is
IDLE=$(rss_kib "$BOT_PID")
links_sent() { grep -o "/dl/" "$WORK/fake.out" | wc -l; }
alive() { kill -0 "$BOT_PID" 2>/dev/null || { echo "streambot was killed:" >&2; tail -5 "$WORK/bot.log" >&2; exit 1; }; }

# 1. Eight whole downloads at once.
c0=$(proc_ticks "$BOT_PID")
secs=$(view_round "$URL" 8 "$SIZE")
c1=$(proc_ticks "$BOT_PID")
read -r MIBS CPU < <(awk -v s="$secs" -v b="$SIZE" -v c="$((c1 - c0))" -v t="$TICK" \
    'BEGIN { printf "%.1f %.3f\n", 8 * b / 1048576 / s, c / t / (8 * b / 1073741824) }')
alive

# 2. 100 slow downloads: each must still be streaming when curl's --max-time ends it (exit 28).
RSS_PEAK=$(rss_kib "$BOT_PID")
mkdir "$WORK/slow"
$VIEW_EXEC bash -c 'for i in $(seq 100); do
    { curl -s --limit-rate 32k --max-time "$2" -o /dev/null -w "%{size_download}" "$1"; echo " $?"; } >"$3/$i" & done; wait' \
    _ "$URL" "$SLOW_SECS" "$WORK/slow" &
SLOW_PID=$!
while kill -0 "$SLOW_PID" 2>/dev/null; do r=$(rss_kib "$BOT_PID"); [ "$r" -le "$RSS_PEAK" ] || RSS_PEAK=$r; sleep 0.2; done
alive
STILL=$(cat "$WORK"/slow/* | awk '$1 > 0 && $2 == 28' | wc -l)
SLOW_MIB=$(cat "$WORK"/slow/* | awk '{ b += $1 } END { printf "%.1f", b / 1048576 }')
[ "$STILL" = 100 ] || { echo "$((100 - STILL)) of 100 slow downloads ended early:" >&2; sort "$WORK"/slow/* | uniq -c | head >&2; exit 1; }

# 3. A burst of files from as many users: every link must arrive.
before=$(links_sent)
t0=$(date +%s.%N)
curl -sf "http://127.0.0.1:$FAKE_PORT/burst/$BURST"
deadline=$((SECONDS + 600))
while [ "$(links_sent)" -lt $((before + BURST)) ] && [ "$SECONDS" -lt "$deadline" ]; do
    alive; r=$(rss_kib "$BOT_PID"); [ "$r" -le "$RSS_PEAK" ] || RSS_PEAK=$r; sleep 0.2
done
t1=$(date +%s.%N)
LINKS=$(( $(links_sent) - before ))
BURST_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
alive
[ "$LINKS" = "$BURST" ] || { echo "$LINKS of $BURST links arrived in 600 s" >&2; exit 1; }
OOM=$(oom_kills)
PEAK_CG=$(peak_mem_kib)
[ "$OOM" = 0 ] || { echo "the kernel killed $OOM process(es) in the cgroup" >&2; exit 1; }

printf 'Pi-sized host (%s); viewer on another host (veth)\n' "$CG_KIND"
printf '  8 downloads of %s MiB at once: %s MiB/s in all, %s CPU s/GiB\n' "$SIZE_MIB" "$MIBS" "$CPU"
printf '  100 slow downloads for %s s: all 100 still streaming at the end, %s MiB sent\n' "$SLOW_SECS" "$SLOW_MIB"
printf '  %s files from %s users at once: %s links in %s s\n' "$BURST" "$BURST" "$LINKS" "$BURST_SECS"
printf '  RSS: %s KiB after the first link, peak %s KiB; cgroup memory peak %s KiB (page cache included); OOM kills %s\n' \
    "$IDLE" "$RSS_PEAK" "$PEAK_CG" "$OOM"
cat >"$OUT" <<JSON
{"limits": "$CG_KIND", "eight": {"size_mib": $SIZE_MIB, "mib_s": $MIBS, "cpu_s_per_gib": $CPU},
 "slow": {"count": 100, "secs": $SLOW_SECS, "still_streaming": $STILL, "mib_sent": $SLOW_MIB},
 "burst": {"files": $BURST, "links": $LINKS, "secs": $BURST_SECS},
 "rss_kib": {"after_first_link": $IDLE, "peak": $RSS_PEAK}, "cgroup_peak_kib": $PEAK_CG, "oom_kills": $OOM}
JSON
echo "json: $OUT"
