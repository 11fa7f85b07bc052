"""A stand-in SMS gateway for local and test deployments: speaks the contract's protocol, sends nothing.

    POST /messages   Authorization: Bearer $SMS_SINK_TOKEN, JSON {"to": "+4791234567", "text": "..."}
                     202 stored; 401 wrong or missing token; 400 not that JSON; 413 too large
    GET  /           an HTML page listing the messages, newest first
    GET  /messages   the same as JSON: {"items": [{"id", "at", "to", "text"}, ...]}
    DELETE /messages forget them all
    GET  /healthz    200

Each accepted message is also printed to standard output as one JSON line. Standard library only,
so it runs on a bare python image. Settings: SMS_SINK_TOKEN (default dev-sms-token),
SMS_SINK_HOST (0.0.0.0), SMS_SINK_PORT (9090), SMS_SINK_KEEP (500 messages kept in memory).
"""

from __future__ import annotations

import collections
import hmac
import html
import itertools
import json
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY_BYTES = 16 * 1024


class Store:
    """The newest messages, thread-safe."""

    def __init__(self, keep: int) -> None:
        self._items: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, to: str, text: str) -> dict[str, Any]:
        with self._lock:
            item = {"id": next(self._ids), "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "to": to, "text": text}
            self._items.append(item)
            return item

    def newest_first(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._items))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str, keep: int = 500) -> None:
        super().__init__(address, Handler)
        self.token = token
        self.store = Store(keep)


class Handler(BaseHTTPRequestHandler):
    server: SinkServer
    server_version = "sms-sink/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per accepted message is printed instead

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send_json(200, {"status": "ok"})
        elif self.path == "/messages":
            self._send_json(200, {"items": self.server.store.newest_first()})
        elif self.path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", render_page(self.server.store.newest_first()))
        else:
            self._send_json(404, {"error": "not found"})

    def do_DELETE(self) -> None:
        if self.path != "/messages":
            self._send_json(404, {"error": "not found"})
            return
        self.server.store.clear()
        self._send(204, "text/plain", b"")

    def do_POST(self) -> None:
        if self.path not in ("/messages", "/"):
            self._send_json(404, {"error": "not found"})
            return
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                                 self.server.token.encode()):
            self._send_json(401, {"error": "missing or wrong bearer token"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self._send_json(400, {"error": "bad Content-Length"})
            return
        if length > MAX_BODY_BYTES:
            self._send_json(413, {"error": "body too large"})
            return
        message = parse_message(self.rfile.read(length))
        if message is None:
            self._send_json(400, {"error": 'expected JSON {"to": "+47...", "text": "..."}'})
            return
        item = self.server.store.add(*message)
        print(json.dumps({"sms": item}, ensure_ascii=False), flush=True)
        self._send_json(202, {"id": item["id"]})

    def _send_json(self, status: int, data: Any) -> None:
        self._send(status, "application/json", json.dumps(data, ensure_ascii=False).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if status != 204:
            self.wfile.write(body)


def parse_message(raw: bytes) -> tuple[str, str] | None:
    """(to, text) from a contract request body, or None when it is not one."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    to, text = data.get("to"), data.get("text")
    if not isinstance(to, str) or not isinstance(text, str) or not to.strip() or not text:
        return None
    digits = to.strip().removeprefix("+")
    if not digits.isdigit() or not 5 <= len(digits) <= 15:
        return None
    return to.strip(), text


def render_page(items: list[dict[str, Any]]) -> bytes:
    rows = "\n".join(
        f"<tr><td>{item['id']}</td><td>{html.escape(item['at'])}</td>"
        f"<td>{html.escape(item['to'])}</td><td><pre>{html.escape(item['text'])}</pre></td></tr>"
        for item in items
    ) or '<tr><td colspan="4">No SMS yet.</td></tr>'
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>SMS sink</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
pre{{margin:0;white-space:pre-wrap}}</style></head>
<body><h1>SMS sink</h1><p>{len(items)} message(s), newest first. Nothing here was sent to a phone.</p>
<table><tr><th>#</th><th>received (UTC)</th><th>to</th><th>text</th></tr>
{rows}
</table></body></html>
"""
    return page.encode()


def main() -> None:
    token = os.environ.get("SMS_SINK_TOKEN", "dev-sms-token")
    host = os.environ.get("SMS_SINK_HOST", "0.0.0.0")
    port = int(os.environ.get("SMS_SINK_PORT", "9090"))
    server = SinkServer((host, port), token, int(os.environ.get("SMS_SINK_KEEP", "500")))
    # As PID 1 in a container, SIGTERM is ignored unless handled: stop at once instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"sms-sink listening on {host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
