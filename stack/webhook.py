"""The stack's webhook receiver: Alertmanager's notifications, checked, kept and shown.

``python -m stack.webhook --port 9095 --token-file FILE --log FILE`` accepts Alertmanager's webhook
JSON on ``POST /alerts`` (with ``Authorization: Bearer <token>`` when a token file is given),
appends each notification to a JSON-lines log with the time it arrived, and serves them back on
``GET /notifications`` (``?receiver=...&alertname=...&status=...``) for the self-test and the fault
drill. ``GET /-/healthy`` answers 200. A real destination (chat, pager) would sit behind this: the
log is what a forwarder reads.
"""

from __future__ import annotations

import argparse
import hmac
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 1 << 20  # Alertmanager's notifications are a few KiB; refuse anything absurd


class Store:
    """The notifications received, in memory and appended to a JSON-lines file."""

    def __init__(self, log: Path | None) -> None:
        self.log = log
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        item = {"received_at": time.time(), **body}
        with self.lock:
            self.items.append(item)
            if self.log is not None:
                with self.log.open("a") as out:
                    out.write(json.dumps(item, sort_keys=True) + "\n")
        return item

    def matching(
        self, receiver: str | None, alertname: str | None, status: str | None
    ) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.items)
        out = []
        for item in items:
            if receiver is not None and item.get("receiver") != receiver:
                continue
            alerts = [
                a
                for a in item.get("alerts", [])
                if (alertname is None or a.get("labels", {}).get("alertname") == alertname)
                and (status is None or a.get("status") == status)
            ]
            if alerts:
                out.append({**item, "alerts": alerts})
        return out


def make_handler(store: Store, token: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "y2s-webhook"

        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/-/healthy":
                self._send(200, {"status": "ok"})
            elif url.path == "/notifications":
                q = urllib.parse.parse_qs(url.query)
                one = {k: v[0] for k, v in q.items()}
                unknown = sorted(set(one) - {"receiver", "alertname", "status"})
                if unknown:
                    self._send(400, {"error": f"unknown query parameter {unknown[0]!r}"})
                    return
                found = store.matching(one.get("receiver"), one.get("alertname"), one.get("status"))
                self._send(200, {"notifications": found})
            else:
                self._send(404, {"error": f"no such path {url.path!r}"})

        def do_POST(self) -> None:
            if urllib.parse.urlsplit(self.path).path != "/alerts":
                self._send(404, {"error": f"no such path {self.path!r}; Alertmanager posts to /alerts"})
                return
            if token is not None:
                given = self.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                    self._send(401, {"error": "missing or wrong bearer token"})
                    return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._send(411, {"error": "Content-Length required"})
                return
            if length > MAX_BODY:
                self._send(413, {"error": f"body over {MAX_BODY} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length))
            except json.JSONDecodeError as exc:
                self._send(
                    400, {"error": f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"}
                )
                return
            if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
                self._send(400, {"error": "expected Alertmanager's webhook JSON with an 'alerts' list"})
                return
            store.add(body)
            self._send(200, {"status": "ok"})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.webhook", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9095, help="port (default 9095)")
    parser.add_argument("--token-file", type=Path, help="file holding the bearer token Alertmanager sends")
    parser.add_argument("--log", type=Path, help="append every notification to this JSON-lines file")
    args = parser.parse_args(argv)
    token = None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            print(f"error: --token-file {args.token_file}: {exc.strerror}", file=sys.stderr)
            return 2
        if not token:
            print(f"error: --token-file {args.token_file}: empty", file=sys.stderr)
            return 2
    try:
        server = ThreadingHTTPServer((args.host, args.port), make_handler(Store(args.log), token))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
