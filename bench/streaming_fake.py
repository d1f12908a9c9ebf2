#!/usr/bin/env python3
"""Minimal local Bot API server for bench/streaming.sh: answers getMe, hands the bot one document
update for FILE (an absolute path, as `telegram-bot-api --local` does), answers getFile with that
path, and prints the text of every sendMessage on stdout (the script reads the link from it).

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
delivered = threading.Event()
next_id = [1000]


def result_for(method, params):
    if method == "getMe":
        return {"id": 42, "is_bot": True, "first_name": "bench", "username": "bench_bot"}
    if method == "getUpdates":
        if params.get("offset", 0) <= 1 and not delivered.is_set():
            delivered.set()
            message = {"message_id": 1, "date": int(time.time()), "chat": CHAT, "from": USER, "document": DOC}
            return [{"update_id": 1, "message": message}]
        time.sleep(min(float(params.get("timeout", 1)), 1.0))
        return []
    if method == "getFile":
        return {"file_id": DOC["file_id"], "file_unique_id": DOC["file_unique_id"], "file_size": SIZE,
                "file_path": os.environ.get("FILE_PATH", FILE)}
    if method == "sendMessage":
        print(params.get("text", "").replace("\n", " "), flush=True)
        next_id[0] += 1
        return {"message_id": next_id[0], "date": int(time.time()), "chat": CHAT, "text": params.get("text", "")}
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length) if length else b""
        try:
            params = json.loads(raw) if raw else {}
        except ValueError:
            params = {}
        method = self.path.rsplit("/", 1)[-1]
        body = json.dumps({"ok": True, "result": result_for(method, params)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
