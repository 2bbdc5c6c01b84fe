"""The exporter's HTTP endpoint: ``/metrics``, a landing page and ``/healthz``.

``/metrics`` negotiates OpenMetrics 1.0.0 or the text format 0.0.4 from ``Accept`` (Prometheus asks for
OpenMetrics first), gzips when the client accepts it, and takes node_exporter's ``collect[]`` and
``exclude[]`` parameters to scrape a subset of collectors. The scrape deadline follows Prometheus's
``X-Prometheus-Scrape-Timeout-Seconds`` header minus an offset, capped by ``--scrape.timeout``.
TLS and basic auth come from an exporter-toolkit ``web-config.yml`` (see ``exporter.webconfig``).
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import socket
import socketserver
import ssl
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from exporter import __version__
from exporter._families import Family, render_openmetrics, render_text
from exporter.scrape import Scraper
from exporter.webconfig import WebConfig

log = logging.getLogger(__name__)

TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def wants_openmetrics(accept: str | None) -> bool:
    """True when ``Accept`` lists OpenMetrics with a q-value at least that of the text format."""
    if not accept:
        return False
    om_q, text_q = -1.0, 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media == "application/openmetrics-text":
            om_q = max(om_q, q)
        elif media in ("text/plain", "*/*"):
            text_q = max(text_q, q)
    return om_q > 0 and om_q >= text_q


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when ``Accept-Encoding`` allows gzip."""
    if not accept_encoding:
        return False
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzip_bytes(body: bytes) -> bytes:
    """Gzip at level 1: scrape bodies are small and repetitive, speed beats the last few percent."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    return comp.compress(body) + comp.flush()


class ExporterApp:
    """Everything a request needs: the scraper, the exporter's own metrics and the web config.

    Args:
        scraper: runs the enabled collectors.
        telemetry_path: where metrics are served (``--web.telemetry-path``).
        self_metrics: extra families appended to every scrape (process, Python, build info); a callable
            so that they are read at scrape time.
        web_config: TLS, basic auth and extra headers.
        scrape_timeout: the cap on a scrape's collector deadline, seconds.
        timeout_offset: subtracted from Prometheus's scrape timeout header.
        max_requests: concurrent ``/metrics`` requests before answering 503 (0 = no limit).
    """

    def __init__(
        self,
        scraper: Scraper,
        *,
        telemetry_path: str = "/metrics",
        self_metrics: Callable[[], Iterable[Family]] | None = None,
        web_config: WebConfig | None = None,
        scrape_timeout: float = 5.0,
        timeout_offset: float = 0.5,
        max_requests: int = 40,
    ) -> None:
        self.scraper = scraper
        self.telemetry_path = telemetry_path
        self.self_metrics = self_metrics
        self.web_config = web_config
        self.auth = web_config.authenticator() if web_config else None
        self.headers: Mapping[str, str] = web_config.headers if web_config else {}
        self.scrape_timeout = scrape_timeout
        self.timeout_offset = timeout_offset
        self._slots = threading.BoundedSemaphore(max_requests) if max_requests > 0 else None
        self._lock = threading.Lock()
        self._codes: dict[str, int] = {"200": 0, "500": 0, "503": 0}
        self._in_flight = 0

    def handler_metrics(self) -> list[Family]:
        """node_exporter's ``promhttp_metric_handler_*`` families."""
        with self._lock:
            codes = sorted(self._codes.items())
            in_flight = self._in_flight
        req = Family(
            "promhttp_metric_handler_requests_total",
            "counter",
            "Total number of scrapes by HTTP status code.",
            ("code",),
        )
        for code, count in codes:
            req.add((code,), count)
        flight = Family(
            "promhttp_metric_handler_requests_in_flight", "gauge", "Current number of scrapes being served."
        )
        flight.add((), in_flight)
        return [flight, req]

    def scrape_deadline(self, header: str | None) -> float:
        """The collectors' deadline for one request, from Prometheus's timeout header."""
        timeout = self.scrape_timeout
        if header:
            with contextlib.suppress(ValueError):
                timeout = min(timeout, float(header) - self.timeout_offset)
        return max(timeout, 0.05)

    def count(self, code: int) -> None:
        with self._lock:
            key = str(code)
            self._codes[key] = self._codes.get(key, 0) + 1

    def enter(self) -> bool:
        if self._slots is not None and not self._slots.acquire(blocking=False):
            return False
        with self._lock:
            self._in_flight += 1
        return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
        if self._slots is not None:
            self._slots.release()


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive as Prometheus uses it."""

    protocol_version = "HTTP/1.1"
    server_version = f"y2s-exporter/{__version__}"
    timeout = 60  # idle keep-alive connections are closed after this
    server: ExporterServer

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes; with Nagle's algorithm the second waits for the client's
        # delayed ACK of the first, adding 40 ms to every keep-alive scrape. Go's servers turn it off too.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError) as exc:
                log.debug("TLS handshake with %s failed: %s", self.client_address, exc)
                self.close_connection = True
                raise ConnectionAbortedError from exc

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def _refuse(self, code: int) -> None:
        # The request's body is not read, so the connection cannot carry another request.
        self.close_connection = True
        self._send_json(
            code,
            {"error": f"method {self.command} not allowed"},
            head=False,
            allow="GET, HEAD",
            close=True,
        )

    def do_POST(self) -> None:
        self._refuse(405)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST

    def _dispatch(self, *, head: bool) -> None:
        app = self.server.app
        if app.auth is not None and not app.auth.check(self.headers.get("Authorization")):
            self._send_json(401, {"error": "unauthorized"}, head=head, authenticate=True)
            return
        url = urlsplit(self.path)
        if url.path == app.telemetry_path:
            self._metrics(url.query, head=head)
        elif url.path == "/":
            self._send(200, "text/html; charset=utf-8", self._landing().encode(), head=head)
        elif url.path == "/healthz":
            self._send_json(200, {"status": "ok"}, head=head)
        else:
            self._send_json(404, {"error": f"no such path: {url.path}"}, head=head)

    def _metrics(self, query: str, *, head: bool) -> None:
        app = self.server.app
        params = parse_qs(query)
        collect, exclude = params.get("collect[]", []), params.get("exclude[]", [])
        if collect and exclude:
            self._send_json(400, {"error": "collect[] and exclude[] cannot be combined"}, head=head)
            return
        unknown = app.scraper.unknown(collect + exclude)
        if unknown:
            msg = f"unknown or disabled collector(s) in collect[]/exclude[]: {', '.join(unknown)}"
            self._send_json(400, {"error": msg}, head=head)
            return
        names: Iterable[str] | None = None
        if collect:
            names = collect
        elif exclude:
            names = [n for n in app.scraper.collectors if n not in exclude]
        if not app.enter():
            app.count(503)
            self._send_json(503, {"error": "too many concurrent scrapes"}, head=head)
            return
        try:
            timeout = app.scrape_deadline(self.headers.get("X-Prometheus-Scrape-Timeout-Seconds"))
            families = app.scraper.scrape(names, timeout)
            if app.self_metrics is not None:
                families = [*families, *app.self_metrics(), *app.handler_metrics()]
            if wants_openmetrics(self.headers.get("Accept")):
                ctype, body = OPENMETRICS_TYPE, render_openmetrics(families).encode()
            else:
                ctype, body = TEXT_TYPE, render_text(families).encode()
        except Exception:
            log.exception("scrape failed")
            app.count(500)
            self._send_json(500, {"error": "scrape failed; see the exporter's log"}, head=head)
            return
        finally:
            app.leave()
        app.count(200)
        gzip = accepts_gzip(self.headers.get("Accept-Encoding"))
        self._send(200, ctype, gzip_bytes(body) if gzip else body, head=head, gzip=gzip)

    def _landing(self) -> str:
        app = self.server.app
        path = html.escape(app.telemetry_path)
        items = "".join(
            f'<li><a href="{path}?collect[]={html.escape(n)}">{html.escape(n)}</a></li>'
            for n in app.scraper.collectors
        )
        return (
            "<!DOCTYPE html><html><head><title>YouTube2Sheets host exporter</title></head><body>"
            f"<h1>YouTube2Sheets host exporter</h1><p>Version {__version__}</p>"
            f'<p><a href="{path}">Metrics</a> · <a href="/healthz">Health</a></p>'
            f"<h2>Enabled collectors</h2><ul>{items}</ul></body></html>\n"
        )

    def _send_json(
        self,
        code: int,
        payload: Mapping[str, Any],
        *,
        head: bool,
        authenticate: bool = False,
        allow: str | None = None,
        close: bool = False,
    ) -> None:
        extra = {"WWW-Authenticate": 'Basic realm="exporter"'} if authenticate else {}
        if allow:
            extra["Allow"] = allow
        if close:
            extra["Connection"] = "close"
        body = (json.dumps(payload) + "\n").encode()
        self._send(code, "application/json", body, head=head, extra=extra)

    def _send(
        self,
        code: int,
        ctype: str,
        body: bytes,
        *,
        head: bool,
        gzip: bool = False,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if gzip:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept, Accept-Encoding")
        for key, value in {**self.server.app.headers, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


class ExporterServer(ThreadingHTTPServer):
    """A threaded HTTP(S) server bound to one address; TLS handshakes run in the connection's thread."""

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ExporterApp) -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler, bind_and_activate=False)
        try:
            self.server_bind()
            self.server_activate()
        except BaseException:
            self.server_close()
            raise
        context = app.web_config.ssl_context() if app.web_config else None
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log instead of socketserver's traceback on stderr; a client that went away is not an error."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError | ssl.SSLError):
            log.debug("connection from %s ended: %s", client_address, exc)
        else:
            log.error("error serving %s", client_address, exc_info=exc)

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's reverse DNS lookup of the bound name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


def serve(server: ExporterServer, stop: threading.Event | None = None) -> None:
    """Serve until ``stop`` is set (or forever); ``server.shutdown()`` also ends it."""
    if stop is not None:

        def stop_when_set() -> None:
            stop.wait()
            server.shutdown()

        threading.Thread(target=stop_when_set, daemon=True).start()
    server.serve_forever(poll_interval=0.5)
