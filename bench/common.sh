# Sourced by the bench scripts that put the viewer on "another host": network namespaces behind
# veth pairs, the figures read from /proc, medians with their spread, and the measuring loop that
# serves one file from several paths in alternating rounds. Needs root (ip netns) and iproute2.

# pair namespace host-if ns-if host-addr ns-addr: a namespace whose only link is a veth pair,
# host-addr on this side and ns-addr inside (private /30 addresses on that pair only).
pair() {
    ip netns add "$1"
    ip link add "$2" type veth peer name "$3"
    ip link set "$3" netns "$1"
    ip addr add "$4/30" dev "$2"
    ip link set "$2" up
    ip -n "$1" addr add "$5/30" dev "$3"
    ip -n "$1" link set "$3" up
    ip -n "$1" link set lo up
}

# The viewer's namespace $NS_VIEW: $HOST_ADDR on this side, $VIEW_ADDR in the namespace. With
# DELAY_MS > 0, `tc netem` delays each way (kernels without the netem qdisc refuse, and the script
# says so). VIEW_EXEC runs a command as the viewer.
viewer_ns() {
    NS_VIEW=sbview$$
    HOST_ADDR=10.232.$(($$ % 250)).1
    VIEW_ADDR=10.232.$(($$ % 250)).2
    VIEW_EXEC="ip netns exec $NS_VIEW"
    pair "$NS_VIEW" "sbv0$$" "sbv1$$" "$HOST_ADDR" "$VIEW_ADDR"
    if [ "${DELAY_MS:-0}" -gt 0 ]; then
        tc qdisc add dev "sbv0$$" root netem delay "${DELAY_MS}ms" \
            && ip netns exec "$NS_VIEW" tc qdisc add dev "sbv1$$" root netem delay "${DELAY_MS}ms" \
            || { echo "DELAY_MS needs the netem qdisc (sch_netem), which this kernel lacks" >&2; exit 1; }
    fi
}
drop_viewer_ns() { [ -z "${NS_VIEW:-}" ] || ip netns del "$NS_VIEW" 2>/dev/null || true; }

# A round of $2 downloads of url $1 at once, each fetching the file ${REPEAT:-1} times one after
# another, as the viewer (curl options in $4): prints the wall-clock seconds from the first start
# to the last end (one shell starts the curls, so `ip netns exec` is paid once). Every transfer
# must be whole (--fail, size checked against $3).
view_round() { # url streams expected_bytes curl-options
    ${VIEW_EXEC:-} bash -c '
        url=$1 n=$2 want=$3 out=$4 opts=$5 repeat=$6
        : >"$out"
        t0=$(date +%s.%N)
        for _ in $(seq "$n"); do
            for _ in $(seq "$repeat"); do
                curl $opts -sf --max-time 600 -o /dev/null -w "%{size_download} %{http_code}\n" "$url" >>"$out"
            done &
        done
        wait
        t1=$(date +%s.%N)
        bad=$(awk -v w="$want" "\$1 != w" "$out" | wc -l)
        got=$(wc -l <"$out")
        [ "$bad" = 0 ] && [ "$got" = "$((n * repeat))" ] || {
            echo "$((n * repeat - got + bad)) of $((n * repeat)) downloads failed or came short (count, bytes, HTTP status):" >&2
            sort "$out" | uniq -c >&2; exit 1; }
        awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.4f\n\", b - a }"' _ "$1" "$2" "$3" "$WORK/sizes" "${4:-}" "${REPEAT:-1}"
}

# Removes what a script started: the processes in PIDS, the viewer's namespace, and $WORK unless
# KEEP=1 (to read the logs afterwards).
bench_cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    drop_viewer_ns
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}

# Makes $WORK (/tmp/streambot-<name>.*) with data/ and $FILE, $SIZE random bytes at files/<path>
# (readable by nginx's worker), and removes it all on exit; PIDS collects what is started.
bench_workdir() { # name path-under-files
    WORK=$(mktemp -d "/tmp/streambot-$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
    FILE="$WORK/files/$2"
    mkdir -p "$(dirname "$FILE")" "$WORK/data" "$(dirname "$OUT")"
    head -c "$SIZE" /dev/urandom >"$FILE"
    chmod -R a+rX "$WORK"
}

# Starts streambot ($BIN) on $HOST_ADDR:$BOT_PORT against the fake Bot API on $FAKE_PORT, with no
# request, bandwidth or per-address limits and warnings only; the VAR=value words given are
# added (later ones win). BOT_WRAP (an array) runs before it, e.g. to join a cgroup, and must
# exec it. Sets BOT_PID and adds it to PIDS.
start_bot() { # VAR=value...
    (cd "$WORK" && exec "${BOT_WRAP[@]}" env -i PATH="$PATH" BOT_TOKEN=1:bench \
        TELEGRAM_API_URL="http://127.0.0.1:$FAKE_PORT" DATA_DIR="$WORK/data" PORT="$BOT_PORT" \
        BIND_ADDRESS="$HOST_ADDR" REQUESTS_PER_MINUTE=0 BANDWIDTH_LIMIT_GB=0 MAX_CONNECTIONS_PER_IP=256 \
        MAX_DOWNLOADS_PER_IP=256 RUST_LOG=warn "$@" "$BIN" >"$WORK/bot.log" 2>&1) &
    BOT_PID=$!
    PIDS+=("$BOT_PID")
}
BOT_WRAP=()

# Waits up to 10 s for the link the fake Bot API printed (bench/streaming_fake.py writes every
# reply to $WORK/fake.out) and sets URL to it, on $HOST_ADDR:$BOT_PORT.
wait_link() {
    for _ in $(seq 100); do grep -q "/dl/" "$WORK/fake.out" 2>/dev/null && break; sleep 0.1; done
    URL=$( (grep -o "http://[^ ]*/dl/[A-Za-z0-9_-]*" "$WORK/fake.out" || true) | head -1 \
        | sed -E "s#http://[^/]+#http://$HOST_ADDR:$BOT_PORT#")
    [ -n "$URL" ] || { echo "no link from the bot" >&2; cat "$WORK/bot.log" "$WORK/fake.err" >&2; exit 1; }
}

proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }          # a process's user + system
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }  # all cores, busy
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)
# A signal becomes an exit, so the scripts' EXIT traps remove their namespaces and processes.
trap 'exit 130' INT TERM

# "median min max" of the numbers on stdin.
spread() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'; }
median() { spread | cut -d' ' -f1; }
# a / b, or "n/a" when b is 0 (a process that used less than one clock tick).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2fx\n", a / b }'; }

# One round of $3 streams of url $2 served by pid $4 (curl options $5): appends "MiB/s
# server_cpu_s_per_gib machine_cpu_s_per_gib peak_rss_growth_kib_per_stream" to $WORK/r.$1. The
# peak RSS is sampled every 50 ms while the round runs.
measure_round() { # label url streams pid curl-options
    local p0 m0 p1 m1 secs rss0 sampler
    rss0=$(rss_kib "$4"); echo "$rss0" >"$WORK/peak"
    ( while :; do r=$(rss_kib "$4"); [ "$r" -gt "$(cat "$WORK/peak")" ] && echo "$r" >"$WORK/peak"; sleep 0.05; done ) &
    sampler=$!
    p0=$(proc_ticks "$4"); m0=$(machine_ticks)
    secs=$(view_round "$2" "$3" "$SIZE" "${5:-}")
    p1=$(proc_ticks "$4"); m1=$(machine_ticks)
    kill "$sampler"; wait "$sampler" 2>/dev/null || true
    awk -v s="$secs" -v n="$3" -v b="$SIZE" -v p="$((p1 - p0))" -v m="$((m1 - m0))" -v t="$TICK" \
        -v r="$(( $(cat "$WORK/peak") - rss0 ))" -v k="${REPEAT:-1}" 'BEGIN {
        gib = n * k * b / 1073741824; printf "%.1f %.4f %.4f %.1f\n", n * k * b / 1048576 / s, p / t / gib, m / t / gib, r / n }' >>"$WORK/r.$1"
}

# Time to first byte of a 1 MiB range at a random offset, ROUNDS times: "median min max" in ms.
ttfb_ms() { # url curl-options
    local off
    for _ in $(seq "$ROUNDS"); do
        off=$(( (RANDOM * 32768 + RANDOM) % (SIZE - 1048576) ))
        ${VIEW_EXEC:-} curl ${2:-} -sf -o /dev/null -w '%{time_starttransfer}\n' -r "$off-$((off + 1048575))" "$1"
    done | awk '{ print $1 * 1000 }' | spread
}

# compare_paths: the paths in PATHS (one "label url pid curl-options" per line, the anchor first)
# serve the same $SIZE-byte file in alternating rounds at each of $STREAMS, $ROUNDS rounds each.
# Prints each path against the anchor (throughput with the paired ratio: each round over the
# anchor's round just before it; server and whole-machine CPU s/GiB; peak RSS growth per stream;
# time to first byte) and writes the figures as JSON to $OUT.
compare_paths() {
    local n label url pid opts anchor sep="" first
    anchor=$(head -1 <<<"$PATHS" | cut -d' ' -f1)
    col() { cut -d' ' -f"$1" "$WORK/r.$2"; }
    fig() { read -r m lo hi <<<"$(col "$1" "$2" | spread)"; printf "%.${3}f (%.${3}f-%.${3}f)" "$m" "$lo" "$hi"; }
    echo "{\"size_bytes\": $SIZE, \"rounds\": $ROUNDS, \"anchor\": \"$anchor\", \"streams\": [" >"$OUT"
    for n in $STREAMS; do
        while read -r label _; do : >"$WORK/r.$label"; done <<<"$PATHS"
        for _ in $(seq "$ROUNDS"); do
            while read -r label url pid opts; do measure_round "$label" "$url" "$n" "$pid" "$opts" </dev/null; done <<<"$PATHS"
        done
        printf '%s{"streams": %d' "$sep" "$n" >>"$OUT"; sep=","
        echo "$n streams:"
        while read -r label _; do
            printf '  %-18s %s MiB/s' "$label" "$(fig 1 "$label" 0)"
            if [ "$label" != "$anchor" ]; then
                printf ', paired %s' "$(paste -d' ' <(col 1 "$anchor") <(col 1 "$label") | awk '{ print $2 / $1 }' | spread | awk '{ printf "%.2fx (%.2f-%.2f)", $1, $2, $3 }')"
            fi
            printf '\n  %-18s CPU s/GiB server %s (%s), machine %s (%s); RSS +%s KiB/stream\n' "" \
                "$(fig 2 "$label" 3)" "$(ratio "$(col 2 "$label" | median)" "$(col 2 "$anchor" | median)")" \
                "$(fig 3 "$label" 3)" "$(ratio "$(col 3 "$label" | median)" "$(col 3 "$anchor" | median)")" "$(fig 4 "$label" 0)"
            printf ', "%s": {"mib_s": [%s], "server_cpu_s_per_gib": [%s], "machine_cpu_s_per_gib": [%s], "rss_growth_kib_per_stream": [%s]}' \
                "$label" "$(col 1 "$label" | paste -sd,)" "$(col 2 "$label" | paste -sd,)" "$(col 3 "$label" | paste -sd,)" "$(col 4 "$label" | paste -sd,)" >>"$OUT"
        done <<<"$PATHS"
        echo "}" >>"$OUT"
    done
    printf '], "ttfb_ms": {' >>"$OUT"; sep=""
    echo "time to first byte of a 1 MiB range at a random offset, ms:"
    while read -r label url _ opts; do
        read -r m lo hi <<<"$(ttfb_ms "$url" "$opts")"
        printf '  %-18s %.1f (%.1f-%.1f)\n' "$label" "$m" "$lo" "$hi"
        printf '%s"%s": [%s, %s, %s]' "$sep" "$label" "$m" "$lo" "$hi" >>"$OUT"; sep=", "
    done <<<"$PATHS"
    echo "}}" >>"$OUT"
    echo "json: $OUT"
}
