#!/usr/bin/env python3
"""Soak run of the release binary on loopback, against the fake Bot API example.

Work: 1 000 link creations (uploads through the fake), 20 000 downloads of those links with 30%
aborted mid-body, and 100 000 requests to distinct unknown paths, each of which makes the bot log
a distinct debug line (so the log rate-limiter sees 100 000 distinct messages).
Reports RSS at start, after warm-up, peak and end; open fds before, after warm-up and after (the
first requests open async-h1's second reactor, 3 fds, and up to 4 pooled Bot API connections;
both are one-time and bounded); active streams at the end. Usage: python3 bench/soak.py  (builds with cargo first)
"""
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE_PORT, BOT_PORT = 18481, 18480
LINKS, DOWNLOADS, ABORTED, LOG_CALLS, WORKERS = 1000, 20000, 0.3, 100000, 16


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def http_get(path, port=BOT_PORT, abort_after=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        got = 0
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += len(chunk)
            if abort_after is not None and got >= abort_after:
                return got
    finally:
        s.close()


def metric(name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{BOT_PORT}/metrics", timeout=10).read().decode()
    return int(re.search(rf"^streambot_{name} (\d+)$", text, re.M).group(1))


def run_parallel(jobs):
    it = iter(jobs)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                job = next(it, None)
            if job is None:
                return
            job()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--example", "fake_telegram", "-q"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="streambot-soak-")
    fake = subprocess.Popen([f"{ROOT}/target/debug/examples/fake_telegram"], env={**os.environ, "FAKE_PORT": str(FAKE_PORT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    env = {"PATH": os.environ["PATH"], "BOT_TOKEN": "123456:soak", "TELEGRAM_API_URL": f"http://127.0.0.1:{FAKE_PORT}",
           "DATA_DIR": f"{work}/data", "PORT": str(BOT_PORT), "BIND_ADDRESS": "127.0.0.1", "RUST_LOG": "debug",
           "REQUESTS_PER_MINUTE": "0", "BAD_TOKENS_PER_MINUTE": "0", "MAX_LINKS_PER_DAY": "0",
           "MAX_CONNECTIONS_PER_IP": "256"}
    log = open(f"{work}/bot.log", "w")
    bot = subprocess.Popen([f"{ROOT}/target/release/streambot"], env=env, stderr=log, stdout=log)
    try:
        for _ in range(100):
            if "listening on" in open(f"{work}/bot.log").read():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        peak = [0]
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(bot.pid))
                time.sleep(0.02)

        threading.Thread(target=sampler, daemon=True).start()
        start_rss, start_fds = rss_kib(bot.pid), fds(bot.pid)

        sizes = [random.Random(i).randint(16 * 1024, 512 * 1024) for i in range(LINKS)]

        def upload(i):
            body = os.urandom(sizes[i])
            req = urllib.request.Request(f"http://127.0.0.1:{FAKE_PORT}/_fake/upload?name=f{i}.bin&mime=application/octet-stream&user={1 + i % 50}", data=body)
            urllib.request.urlopen(req, timeout=30).read()

        run_parallel([lambda i=i: upload(i) for i in range(LINKS)])
        links = []
        deadline = time.time() + 120
        while len(links) < LINKS and time.time() < deadline:
            sent = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{FAKE_PORT}/_fake/sent", timeout=30).read())
            links = sorted({m for s in sent for m in re.findall(r"/dl/[A-Za-z0-9_-]+", json.dumps(s))})
            time.sleep(0.5)
        assert len(links) >= LINKS, f"only {len(links)} links made"

        rnd = random.Random(7)
        plan = [(rnd.choice(links), rnd.random() < ABORTED) for _ in range(DOWNLOADS)]
        downloads = [lambda p=p, a=a: http_get(p, abort_after=8 * 1024 if a else None) for p, a in plan]
        logs = [lambda i=i: http_get(f"/soak-distinct-{i}") for i in range(LOG_CALLS)]
        warm = DOWNLOADS // 10
        run_parallel(downloads[:warm] + logs[: LOG_CALLS // 10])
        time.sleep(0.5)
        warm_rss, warm_fds = rss_kib(bot.pid), fds(bot.pid)
        t0 = time.time()
        run_parallel(downloads[warm:] + logs[LOG_CALLS // 10:])
        elapsed = time.time() - t0
        deadline = time.time() + 30
        while metric("active_streams") != 0 and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        stop.set()
        end_rss, end_fds = rss_kib(bot.pid), fds(bot.pid)
        print(f"work: {LINKS} links, {DOWNLOADS} downloads ({int(ABORTED * 100)}% aborted), {LOG_CALLS} distinct log lines; main phase {elapsed:.1f}s")
        print(f"rss KiB: start {start_rss}, after warm-up {warm_rss}, peak {peak[0]}, end {end_rss}; growth warm-up->end {end_rss - warm_rss} KiB")
        print(f"open fds: before {start_fds}, after warm-up {warm_fds}, after {end_fds}")
        print(f"active streams at end: {metric('active_streams')}")
        print(f"log cache: {metric('log_cache_used')}/{metric('log_cache_capacity')}, suppressed {metric('log_suppressed_total')}")
        print(f"bytes sent: {metric('sent_bytes_total')}")
    finally:
        bot.terminate()
        bot.wait(timeout=30)
        fake.terminate()
        print(f"bot exit code after SIGTERM: {bot.returncode}")


if __name__ == "__main__":
    sys.exit(main())
