# Sourced by the bench scripts that put the viewer on "another host": the viewer's network
# namespace behind a veth pair, the figures read from /proc, and medians with their spread.
# Needs root (ip netns) and iproute2.

# A namespace $NS_VIEW whose only link is a veth pair: $HOST_ADDR on this side, $VIEW_ADDR in the
# namespace (private /30 addresses on that pair only). With DELAY_MS > 0, `tc netem` delays
# each way (kernels without the netem qdisc refuse, and the script says so).
viewer_ns() {
    NS_VIEW=sbview$$
    HOST_ADDR=10.232.$(($$ % 250)).1
    VIEW_ADDR=10.232.$(($$ % 250)).2
    ip netns add "$NS_VIEW"
    ip link add "sbv0$$" type veth peer name "sbv1$$"
    ip link set "sbv1$$" netns "$NS_VIEW"
    ip addr add "$HOST_ADDR/30" dev "sbv0$$"
    ip link set "sbv0$$" up
    ip -n "$NS_VIEW" addr add "$VIEW_ADDR/30" dev "sbv1$$"
    ip -n "$NS_VIEW" link set "sbv1$$" up
    ip -n "$NS_VIEW" link set lo up
    if [ "${DELAY_MS:-0}" -gt 0 ]; then
        tc qdisc add dev "sbv0$$" root netem delay "${DELAY_MS}ms" \
            && ip netns exec "$NS_VIEW" tc qdisc add dev "sbv1$$" root netem delay "${DELAY_MS}ms" \
            || { echo "DELAY_MS needs the netem qdisc (sch_netem), which this kernel lacks" >&2; exit 1; }
    fi
}
drop_viewer_ns() { ip netns del "$NS_VIEW" 2>/dev/null || true; }

# A round of $2 whole downloads of url $1 at once, from inside the viewer's namespace: prints the
# wall-clock seconds from the first start to the last end (one shell in the namespace starts the
# curls, so `ip netns exec` is paid once). Every transfer must be whole (--fail, size checked).
view_round() { # url streams expected_bytes
    ip netns exec "$NS_VIEW" bash -c '
        url=$1 n=$2 want=$3 out=$4
        : >"$out"
        t0=$(date +%s.%N)
        for _ in $(seq "$n"); do curl -sf --max-time 600 -o /dev/null -w "%{size_download}\n" "$url" >>"$out" & done
        wait
        t1=$(date +%s.%N)
        bad=$(awk -v w="$want" "\$1 != w" "$out" | wc -l)
        got=$(wc -l <"$out")
        [ "$bad" = 0 ] && [ "$got" = "$n" ] || { echo "$((n - got + bad)) of $n downloads failed or came short" >&2; exit 1; }
        awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.4f\n\", b - a }"' _ "$1" "$2" "$3" "$WORK/sizes"
}

proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }          # a process's user + system
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }  # all cores, busy
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)

# "median min max" of the numbers on stdin.
spread() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'; }
median() { spread | cut -d' ' -f1; }
