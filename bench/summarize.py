#!/usr/bin/env python3
"""Folds several runs of the bench scripts into the figures BENCHMARKS.md opens with: for each
path and stream count, the median across runs of each run's figure, with the lowest and highest
run beside it.

Usage: bench/summarize.py FILE.json...   (the JSON that remote.sh, relay.sh, small.sh and pi.sh
write; files of one kind per call, e.g. target/bench/remote.*.json)

Per run, a path's throughput figure is the median of its rounds each over the anchor's round
just before it (paired), its CPU figures the median of its rounds over the anchor's median.
"""
import json
import statistics
import sys


def spread(values):
    values = sorted(values)
    return f"{statistics.median(values):.2f}× ({values[0]:.2f}–{values[-1]:.2f})"


def paths(runs):
    anchor = runs[0]["anchor"]
    for n_index, first in enumerate(runs[0]["streams"]):
        labels = [k for k in first if k not in ("streams", anchor)]
        for label in labels:
            tput, server, machine, rss = [], [], [], []
            for run in runs:
                row, base = run["streams"][n_index][label], run["streams"][n_index][anchor]
                tput.append(statistics.median(p / a for p, a in zip(row["mib_s"], base["mib_s"])))
                for out, key in ((server, "server_cpu_s_per_gib"), (machine, "machine_cpu_s_per_gib")):
                    a = statistics.median(base[key])
                    out.append(statistics.median(row[key]) / a if a else float("nan"))
                rss.append(statistics.median(row["rss_growth_kib_per_stream"]))
            print(f"| {label} | {first['streams']} | {spread(tput)} | {spread(server)} | {spread(machine)} "
                  f"| {statistics.median(rss):.0f} KiB |")
    ttfb = {k: [r["ttfb_ms"][k][0] for r in runs] for k in runs[0]["ttfb_ms"]}
    print("time to first byte, ms (median of runs, range): " + ", ".join(
        f"{k} {statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})" for k, v in ttfb.items()))


def small(runs):
    for method in ("GET", "HEAD"):
        rate = [statistics.median(r[method]["streambot_rps"]) / statistics.median(r[method]["nginx_rps"]) for r in runs]
        p99 = [statistics.median(r[method]["streambot_p99_ms"]) / statistics.median(r[method]["nginx_p99_ms"]) for r in runs]
        rps = [statistics.median(r[method]["streambot_rps"]) for r in runs]
        print(f"| {method} 4 KiB, 64 connections | rate {spread(rate)}, p99 {spread(p99)} "
              f"| streambot {statistics.median(rps):,.0f}/s |")


def pi(runs):
    def med(f):
        values = [f(r) for r in runs]
        return f"{statistics.median(values):g} ({min(values):g}–{max(values):g})"
    print(f"8 downloads MiB/s {med(lambda r: r['eight']['mib_s'])}, CPU s/GiB {med(lambda r: r['eight']['cpu_s_per_gib'])}; "
          f"slow still streaming {med(lambda r: r['slow']['still_streaming'])}; burst links {med(lambda r: r['burst']['links'])} "
          f"in {med(lambda r: r['burst']['secs'])} s; peak RSS KiB {med(lambda r: r['rss_kib']['peak'])}; "
          f"cgroup peak KiB {med(lambda r: r['cgroup_peak_kib'])}; OOM kills {med(lambda r: r['oom_kills'])}")


def main(files):
    runs = [json.load(open(f)) for f in files]
    if "anchor" in runs[0]:
        print("| path | streams | throughput × anchor | server CPU/GiB × anchor | machine CPU/GiB × anchor | RSS/stream |")
        print("|---|---|---|---|---|---|")
        paths(runs)
    elif "GET" in runs[0]:
        small(runs)
    else:
        pi(runs)


if __name__ == "__main__":
    main(sys.argv[1:])
