"""Shared by the alerting tests: the real Alertmanager's command line and a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import binary, wait_for

WEBHOOK_PORT = 9095  # fixed in alertmanager.yml (0.25 has no webhook url_file)
WAIT = 15.0  # bound for each wait on a notification; normally well under a second


def alertmanager_command(config: Path, port: int, storage: Path) -> list[str]:
    """The real Alertmanager on 127.0.0.1:``port``, without clustering, its state in ``storage``."""
    return [
        binary("prometheus-alertmanager"),
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # empty: no gossip port, no peers
        f"--storage.path={storage}",
        "--log.level=warn",
    ]


def bind_or_fail(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:9095, or one clear line saying who is in the way."""
    try:
        return ThreadingHTTPServer(("127.0.0.1", WEBHOOK_PORT), handler)
    except OSError as err:
        reason = err.strerror
    pytest.fail(
        f"127.0.0.1:{WEBHOOK_PORT} is busy ({reason}): something already listens there"
        " (a running native stack?); stop it to run the delivery tests",
        pytrace=False,
    )


class Webhook:
    """A tiny webhook receiver on 127.0.0.1:9095 that records what it gets (path, headers, JSON)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with webhook.lock:
                    webhook.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "received_at": time.monotonic(),
                        }
                    )
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = bind_or_fail(Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def wait_for_alert(self, alertname: str, timeout: float = WAIT) -> dict[str, Any]:
        """The first notification (a recorded request) that carries an alert named ``alertname``."""

        def find() -> dict[str, Any] | None:
            with self.lock:
                for request in self.received:
                    if any(a["labels"].get("alertname") == alertname for a in request["body"]["alerts"]):
                        return request
            return None

        wait_for(lambda: find() is not None, timeout=timeout, what=f"a notification for {alertname}")
        found = find()
        assert found is not None
        return found
