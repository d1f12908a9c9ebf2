#!/usr/bin/env python3
"""Minimal local Bot API server for the bench scripts: answers getMe, hands the bot one document
update for FILE (an absolute path, as `telegram-bot-api --local` does), answers getFile with that
path, and prints the text of every sendMessage on stdout (the scripts read the links from it).
A GET of /burst/N queues N more documents of the same file, each from its own user, handed out
as getUpdates asks for them (`offset`, `limit`, at most 100 per call as Telegram does).

Usage: streaming_fake.py PORT FILE
       FILE_PATH=documents/x streaming_fake.py PORT FILE   (cloud mode: getFile answers this
           relative path, which the bot fetches from /file/bot<token>/ on the same server)
       FILE_ID=... FILE_SIZE=... streaming_fake.py PORT -   (a file the bot reads over MTProto)
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, FILE = int(sys.argv[1]), sys.argv[2]
if FILE == "-":
    FILE_ID, SIZE = os.environ["FILE_ID"], int(os.environ["FILE_SIZE"])
else:
    FILE = os.path.abspath(FILE)
    FILE_ID, SIZE = "BENCHFILEID", os.path.getsize(FILE)
DOC = {"file_id": FILE_ID, "file_unique_id": "benchunique", "file_name": os.path.basename(FILE) or "file.bin",
       "mime_type": "application/octet-stream", "file_size": SIZE}
USER = {"id": 1, "is_bot": False, "first_name": "Bench"}
CHAT = {"id": 1, "type": "private", "first_name": "Bench"}
lock = threading.Lock()
queue = []  # updates not yet confirmed by a later offset
next_id = [1000]  # message ids of the bot's replies
last_update = [1]


def document_update(update_id, user, doc):
    person = {"id": user, "is_bot": False, "first_name": "Bench"}
    chat = {"id": user, "type": "private", "first_name": "Bench"}
    message = {"message_id": update_id, "date": int(time.time()), "chat": chat, "from": person, "document": doc}
    return {"update_id": update_id, "message": message}


def burst(n):
    with lock:
        first = last_update[0] + 1
        last_update[0] += n
        for i in range(n):
            doc = dict(DOC, file_id=f"BURST{first + i}", file_unique_id=f"burst{first + i}")  # lower(file_id)
            queue.append(document_update(first + i, 100000 + first + i, doc))


queue.append(document_update(1, USER["id"], DOC))


def result_for(method, params):
    if method == "getMe":
        return {"id": 42, "is_bot": True, "first_name": "bench", "username": "bench_bot"}
    if method == "getUpdates":
        offset, limit = int(params.get("offset", 0)), min(int(params.get("limit", 100)), 100)
        with lock:
            queue[:] = [u for u in queue if u["update_id"] >= offset]
            ready = queue[:limit]
        if ready:
            return ready
        time.sleep(min(float(params.get("timeout", 1)), 1.0))
        return []
    if method == "getFile":
        file_id = params.get("file_id", DOC["file_id"])
        unique = DOC["file_unique_id"] if file_id == DOC["file_id"] else file_id.lower()
        return {"file_id": file_id, "file_unique_id": unique, "file_size": SIZE,
                "file_path": os.environ.get("FILE_PATH", FILE)}
    if method == "sendMessage":
        if "text" not in params:
            print(f"sendMessage without text: {params!r}"[:300], file=sys.stderr, flush=True)
        # One write per line: print() writes the text and the newline apart, and threads interleave.
        sys.stdout.write(params.get("text", "").replace("\n", " ") + "\n")
        sys.stdout.flush()
        next_id[0] += 1
        return {"message_id": next_id[0], "date": int(time.time()), "chat": dict(CHAT, id=params.get("chat_id", 1)), "text": params.get("text", "")}
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length) if length else b""
        try:
            params = json.loads(raw) if raw else {}
        except ValueError:
            print(f"unparsable body for {self.path}: {raw[:200]!r}", file=sys.stderr, flush=True)
            params = {}
        method = self.path.rsplit("/", 1)[-1]
        body = json.dumps({"ok": True, "result": result_for(method, params)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/burst/"):
            burst(int(self.path.rsplit("/", 1)[-1]))
            self.send_response(204)
            self.end_headers()
            return
        self.do_POST()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
