"""exporter.server: a real ExporterServer on 127.0.0.1, spoken to over real HTTP(S) connections."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import bcrypt
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.cli import build_app, build_parser
from exporter.scrape import Scraper
from exporter.server import ExporterApp, ExporterServer
from exporter.webconfig import load_web_config
from tests.conftest import PROMETHEUS_ACCEPT, wait_for
from tests.exporter.certs import PKI, make_pki
from tests.exporter.fakes import Broken, Const, Hanging

PASSWORD = "s3cret"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


# --- a client that sends exactly the headers it is given ------------------------------------------


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode()


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    context: ssl.SSLContext | None = None,
) -> Response:
    """One request on a fresh connection; no Accept-Encoding unless ``headers`` has one."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.putrequest(method, target, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def families(text: str) -> dict[str, dict[str, float]]:
    """Text format 0.0.4 -> {family: {rendered labels: value}}."""
    out: dict[str, dict[str, float]] = {}
    for fam in parse_text(text):
        for s in fam.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out.setdefault(fam.name, {})[f"{s.name}{{{labels}}}"] = s.value
    return out


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a text-format body, or None when it is absent."""
    for fam in parse_text(text):
        for s in fam.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return None


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def serve() -> Iterator[Callable[[ExporterApp], str]]:
    """Start an ExporterServer for an app on 127.0.0.1, port 0; returns its base URL."""
    started: list[tuple[ExporterServer, threading.Thread]] = []

    def start(app: ExporterApp) -> str:
        server = ExporterServer(("127.0.0.1", 0), app)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((server, thread))
        scheme = "https" if app.web_config is not None and app.web_config.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)
        server.app.scraper.close()


@pytest.fixture
def url(serve: Callable[[ExporterApp], str]) -> str:
    """An exporter with two quick collectors, ``alpha`` and ``beta``."""
    return serve(ExporterApp(Scraper({"alpha": Const("node_alpha"), "beta": Const("node_beta")})))


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    h = Hanging()
    yield h
    h.release.set()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def web_app(tmp_path: Path) -> Callable[[str], ExporterApp]:
    """An app with one collector and the web config given as YAML text."""

    def make(yaml_text: str) -> ExporterApp:
        path = tmp_path / "web.yml"
        path.write_text(yaml_text)
        return ExporterApp(Scraper({"alpha": Const("node_alpha")}), web_config=load_web_config(str(path)))

    return make


def tls_yaml(pki: PKI, extra: str = "") -> str:
    return f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n{extra}"


def require_client_cert_yaml(pki: PKI) -> str:
    return tls_yaml(pki, f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca_cert}\n")


@pytest.fixture
def cli_url(serve: Callable[[ExporterApp], str]) -> Callable[..., str]:
    """An app built by the real command line (self-metrics included), loadavg collector only."""

    def make(*flags: str) -> str:
        ns = build_parser().parse_args(
            [
                "--web.listen-address=127.0.0.1:0",
                "--collector.disable-defaults",
                "--collector.loadavg",
                *flags,
            ]
        )
        app, _ = build_app(ns)
        return serve(app)

    return make


# --- /metrics: formats ----------------------------------------------------------------------------


def test_metrics_default_is_text_format(url: str) -> None:
    resp = fetch(f"{url}/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_metrics_text_parses_with_collector_samples(url: str) -> None:
    parsed = families(fetch(f"{url}/metrics").text())
    assert parsed["node_alpha"] == {"node_alpha{}": 1.0}
    assert parsed["node_beta"] == {"node_beta{}": 1.0}


def test_prometheus_accept_header_gets_openmetrics(url: str) -> None:
    resp = fetch(f"{url}/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")


def test_openmetrics_ends_with_eof(url: str) -> None:
    body = fetch(f"{url}/metrics", headers={"Accept": PROMETHEUS_ACCEPT}).text()
    assert body.rstrip("\n").endswith("\n# EOF")


def test_openmetrics_parses_back(url: str) -> None:
    body = fetch(f"{url}/metrics", headers={"Accept": PROMETHEUS_ACCEPT}).text()
    parsed = {fam.name: fam for fam in parse_openmetrics(body)}
    assert [s.value for s in parsed["node_alpha"].samples] == [1.0]
    assert parsed["node_scrape_collector_timeouts"].type == "counter"


def test_text_plain_accept_gets_text_format(url: str) -> None:
    resp = fetch(f"{url}/metrics", headers={"Accept": "text/plain"})
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_gzip_when_accepted(url: str) -> None:
    resp = fetch(f"{url}/metrics", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"


def test_gzip_body_decompresses_to_the_same_families(url: str) -> None:
    plain = families(fetch(f"{url}/metrics").text())
    zipped = fetch(f"{url}/metrics", headers={"Accept-Encoding": "gzip"}).body
    unzipped = families(gzip.decompress(zipped).decode())
    assert {k: sorted(v) for k, v in unzipped.items()} == {k: sorted(v) for k, v in plain.items()}


def test_no_gzip_without_accept_encoding(url: str) -> None:
    resp = fetch(f"{url}/metrics")
    assert resp.headers["Content-Encoding"] is None
    assert "node_alpha" in resp.text()


def test_no_gzip_when_q_is_zero(url: str) -> None:
    resp = fetch(f"{url}/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    assert resp.headers["Content-Encoding"] is None
    assert "node_alpha" in resp.text()


# --- /metrics: collect[] and exclude[] ---------------------------------------------------------------


def test_collect_selects_a_subset(url: str) -> None:
    parsed = families(fetch(f"{url}/metrics?collect[]=alpha").text())
    assert ("node_alpha" in parsed, "node_beta" in parsed) == (True, False)
    assert list(parsed["node_scrape_collector_success"]) == ["node_scrape_collector_success{collector=alpha}"]


def test_exclude_leaves_a_collector_out(url: str) -> None:
    parsed = families(fetch(f"{url}/metrics?exclude[]=alpha").text())
    assert ("node_alpha" in parsed, "node_beta" in parsed) == (False, True)


def test_unknown_collector_in_collect_is_400_naming_it(url: str) -> None:
    resp = fetch(f"{url}/metrics?collect[]=alpha&collect[]=nope")
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/json"
    error = resp.json()
    assert isinstance(error, dict)
    assert "nope" in error["error"]


def test_collect_with_exclude_is_400(url: str) -> None:
    resp = fetch(f"{url}/metrics?collect[]=alpha&exclude[]=beta")
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/json"
    assert "error" in json.loads(resp.body)


# --- other paths and methods ----------------------------------------------------------------------


def test_landing_page_lists_enabled_collectors(url: str) -> None:
    resp = fetch(f"{url}/")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "alpha" in resp.text()
    assert "beta" in resp.text()


def test_healthz_is_200_json(url: str) -> None:
    resp = fetch(f"{url}/healthz")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"status": "ok"}


def test_unknown_path_is_404_json(url: str) -> None:
    resp = fetch(f"{url}/nope")
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/json"
    assert "/nope" in resp.text()


def test_post_is_405_with_allow(url: str) -> None:
    resp = fetch(f"{url}/metrics", method="POST", body=b"")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD"


def test_post_body_does_not_break_the_keep_alive_connection(url: str) -> None:
    port = urlsplit(url).port
    assert port is not None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/metrics", body=b"a=1&b=2")
        first = conn.getresponse()
        first.read()
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        assert (first.status, second.status, second.read()) == (405, 200, b'{"status": "ok"}\n')
    finally:
        conn.close()


def test_head_metrics_has_headers_and_no_body(url: str) -> None:
    port = urlsplit(url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nContent-Type: text/plain; version=0.0.4" in head
    assert rest == b""


def test_custom_telemetry_path_serves_metrics(cli_url: Callable[..., str]) -> None:
    base = cli_url("--web.telemetry-path=/probe")
    resp = fetch(f"{base}/probe")
    assert resp.status == 200
    assert "node_load1" in families(resp.text())


def test_custom_telemetry_path_frees_metrics(cli_url: Callable[..., str]) -> None:
    base = cli_url("--web.telemetry-path=/probe")
    assert fetch(f"{base}/metrics").status == 404


# --- deadlines and failing collectors ---------------------------------------------------------------


def test_scrape_timeout_header_lowers_the_deadline(
    serve: Callable[[ExporterApp], str], hanging: Hanging
) -> None:
    app = ExporterApp(Scraper({"hang": hanging}, timeout=10), scrape_timeout=10, timeout_offset=0.5)
    base = serve(app)
    start = time.monotonic()
    resp = fetch(f"{base}/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": "1"})
    elapsed = time.monotonic() - start
    assert resp.status == 200
    assert elapsed < 0.5 + 0.5  # header minus offset, plus a margin; far below the 10 s cap


@dataclass
class FaultyScrape:
    response: Response
    elapsed: float


FAULTY_DEADLINE = 0.5


@pytest.fixture
def faulty_scrape(serve: Callable[[ExporterApp], str], hanging: Hanging) -> FaultyScrape:
    """One scrape of an exporter with a quick, a raising and a hanging collector."""
    collectors = {"ok": Const("node_ok"), "broken": Broken(), "hang": hanging}
    app = ExporterApp(Scraper(collectors, timeout=FAULTY_DEADLINE), scrape_timeout=FAULTY_DEADLINE)
    base = serve(app)
    start = time.monotonic()
    resp = fetch(f"{base}/metrics")
    return FaultyScrape(resp, time.monotonic() - start)


def test_faulty_collectors_leave_the_scrape_200_with_the_others(faulty_scrape: FaultyScrape) -> None:
    assert faulty_scrape.response.status == 200
    assert sample(faulty_scrape.response.text(), "node_ok") == 1


def test_raising_collector_reports_success_0(faulty_scrape: FaultyScrape) -> None:
    text = faulty_scrape.response.text()
    assert sample(text, "node_scrape_collector_success", collector="broken") == 0
    assert sample(text, "node_scrape_collector_success", collector="ok") == 1


def test_hanging_collector_reports_success_0(faulty_scrape: FaultyScrape) -> None:
    assert sample(faulty_scrape.response.text(), "node_scrape_collector_success", collector="hang") == 0


def test_hanging_collector_counts_a_timeout(faulty_scrape: FaultyScrape) -> None:
    text = faulty_scrape.response.text()
    assert sample(text, "node_scrape_collector_timeouts_total", collector="hang") == 1
    assert sample(text, "node_scrape_collector_timeouts_total", collector="broken") == 0


def test_faulty_scrape_answers_within_the_deadline(faulty_scrape: FaultyScrape) -> None:
    assert faulty_scrape.elapsed < FAULTY_DEADLINE + 0.4


# --- basic auth ---------------------------------------------------------------------------------------


@pytest.fixture
def auth_url(serve: Callable[[ExporterApp], str], web_app: Callable[[str], ExporterApp]) -> str:
    return serve(web_app(f"basic_auth_users:\n  alice: {HASH}\n"))


def test_no_credentials_is_401_with_basic_challenge(auth_url: str) -> None:
    resp = fetch(f"{auth_url}/metrics")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_password_is_401(auth_url: str) -> None:
    resp = fetch(f"{auth_url}/metrics", headers=basic("alice", "wrong"))
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_user_is_401(auth_url: str) -> None:
    assert fetch(f"{auth_url}/metrics", headers=basic("mallory", PASSWORD)).status == 401


def test_right_credentials_are_200(auth_url: str) -> None:
    resp = fetch(f"{auth_url}/metrics", headers=basic("alice", PASSWORD))
    assert resp.status == 200
    assert sample(resp.text(), "node_alpha") == 1


# --- TLS ----------------------------------------------------------------------------------------------


def test_tls_serves_https_verified_by_the_test_ca(
    serve: Callable[[ExporterApp], str], web_app: Callable[[str], ExporterApp], pki: PKI
) -> None:
    base = serve(web_app(tls_yaml(pki)))
    resp = fetch(f"{base}/metrics", context=ssl.create_default_context(cafile=str(pki.ca_cert)))
    assert base.startswith("https://")
    assert resp.status == 200
    assert sample(resp.text(), "node_alpha") == 1


def test_required_client_cert_accepts_a_client_with_cert(
    serve: Callable[[ExporterApp], str], web_app: Callable[[str], ExporterApp], pki: PKI
) -> None:
    base = serve(web_app(require_client_cert_yaml(pki)))
    client = ssl.create_default_context(cafile=str(pki.ca_cert))
    client.load_cert_chain(pki.client_cert, pki.client_key)
    assert fetch(f"{base}/healthz", context=client).status == 200


def test_required_client_cert_refuses_a_client_without_cert(
    serve: Callable[[ExporterApp], str], web_app: Callable[[str], ExporterApp], pki: PKI
) -> None:
    base = serve(web_app(require_client_cert_yaml(pki)))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        fetch(f"{base}/healthz", context=ssl.create_default_context(cafile=str(pki.ca_cert)))


def test_refused_tls_client_leaves_no_traceback(
    serve: Callable[[ExporterApp], str],
    web_app: Callable[[str], ExporterApp],
    pki: PKI,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="exporter.server")
    base = serve(web_app(require_client_cert_yaml(pki)))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        fetch(f"{base}/healthz", context=ssl.create_default_context(cafile=str(pki.ca_cert)))
    wait_for(lambda: "TLS handshake" in caplog.text, timeout=5, what="the handshake failure log line")
    time.sleep(0.2)  # the server thread would print its traceback right after that log line
    assert "Traceback" not in capsys.readouterr().err


# --- the exporter's own metrics ---------------------------------------------------------------------


def test_self_metrics_include_process_memory(cli_url: Callable[..., str]) -> None:
    value = sample(fetch(f"{cli_url()}/metrics").text(), "process_resident_memory_bytes")
    assert value is not None
    assert value > 0


def test_handler_counter_counts_successful_scrapes(cli_url: Callable[..., str]) -> None:
    base = cli_url()
    name = "promhttp_metric_handler_requests_total"
    first = sample(fetch(f"{base}/metrics").text(), name, code="200")
    second = sample(fetch(f"{base}/metrics").text(), name, code="200")
    assert first is not None
    assert second == first + 1


def test_disable_exporter_metrics_leaves_them_out(cli_url: Callable[..., str]) -> None:
    text = fetch(f"{cli_url('--web.disable-exporter-metrics')}/metrics").text()
    assert (sample(text, "process_resident_memory_bytes"), "node_load1" in families(text)) == (None, True)
