"""A real Prometheus scrapes the real exporter, over plain HTTP and over TLS with basic auth."""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from tests.conftest import (
    PROMETHEUS_ACCEPT,
    Process,
    binary,
    exporter_command,
    free_port,
    http_get,
    wait_for,
    wait_for_url,
)
from tests.exporter.certs import PKI, make_pki

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "prometheus", "s3cret"
# node_exporter's checkmetrics.sh drops exactly these promtool complaints (CamelCase /proc field names).
ALLOWED_LINT = re.compile(r"^node_(entropy|memory|netstat|wifi_station)_")
JOBS = ("exporter", "exporter-tls")  # the plain one and the TLS + basic auth one
WAIT = 30.0  # bound for each wait on Prometheus; normally a few seconds


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="module")
def pki(workdir: Path) -> PKI:
    pki_dir = workdir / "pki"
    pki_dir.mkdir()
    return make_pki(pki_dir)


@contextmanager
def run_exporter(workdir: Path, name: str, *flags: str) -> Iterator[tuple[Process, int]]:
    """The real exporter on a free 127.0.0.1 port, stopped when the block ends."""
    port = free_port()
    proc = Process(
        exporter_command(f"--web.listen-address=127.0.0.1:{port}", *flags), workdir / f"{name}.log", cwd=REPO
    )
    try:
        yield proc, port
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def exporter(workdir: Path) -> Iterator[str]:
    """The plain exporter's base URL, once it answers."""
    with run_exporter(workdir, "exporter") as (proc, port):
        url = f"http://127.0.0.1:{port}"
        wait_for_url(f"{url}/metrics", proc)
        yield url


@pytest.fixture(scope="module")
def secure_exporter(workdir: Path, pki: PKI) -> Iterator[str]:
    """An exporter with TLS and basic auth (bcrypt cost 4); its base URL."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    web = workdir / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        f"basic_auth_users:\n  {USER}: '{hashed}'\n"
    )
    with run_exporter(workdir, "secure-exporter", f"--web.config.file={web}") as (proc, port):
        url = f"https://127.0.0.1:{port}"
        auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        wait_for_url(f"{url}/healthz", proc, context=context, headers={"Authorization": auth})
        yield url


def scrape_config(job: str, url: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "job_name": job,
        "static_configs": [{"targets": [urllib.parse.urlsplit(url).netloc]}],
        **(extra or {}),
    }


@pytest.fixture(scope="module")
def prometheus(workdir: Path, pki: PKI, exporter: str, secure_exporter: str) -> Iterator[str]:
    """A real Prometheus scraping both exporters every second, plus a job with a wrong password."""
    tls = {"scheme": "https", "tls_config": {"ca_file": str(pki.ca_cert)}}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            scrape_config("exporter", exporter),
            scrape_config(
                "exporter-tls",
                secure_exporter,
                {**tls, "basic_auth": {"username": USER, "password": PASSWORD}},
            ),
            scrape_config(
                "exporter-wrong-password",
                secure_exporter,
                {**tls, "basic_auth": {"username": USER, "password": "wrong"}},
            ),
        ],
    }
    path = workdir / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    port = free_port()
    proc = Process(
        [
            binary("prometheus"),
            f"--config.file={path}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        workdir / "prometheus.log",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_url(f"{url}/-/ready", proc, timeout=WAIT)
        yield url
    finally:
        proc.stop()


def api(prometheus: str, path: str, **params: str) -> Any:
    status, _, body = http_get(f"{prometheus}{path}?{urllib.parse.urlencode(params)}")
    assert status == 200, body
    return json.loads(body)["data"]


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = api(prometheus, "/api/v1/query", query=promql)["result"]
    return result


def targets(prometheus: str, job: str) -> list[dict[str, Any]]:
    active = api(prometheus, "/api/v1/targets", state="active")["activeTargets"]
    return [t for t in active if t["labels"]["job"] == job]


def eventually(check: Callable[[], bool], what: str) -> None:
    wait_for(check, timeout=WAIT, what=what)


# --- plain and TLS + basic auth: Prometheus gets the data ----------------------------------------------


@pytest.mark.parametrize("job", JOBS)
def test_up_is_1(prometheus: str, job: str) -> None:
    eventually(
        lambda: [r["value"][1] for r in query(prometheus, f'up{{job="{job}"}}')] == ["1"],
        f'up{{job="{job}"}} == 1',
    )


@pytest.mark.parametrize("job", JOBS)
@pytest.mark.parametrize("metric", ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes"])
def test_host_metric_reaches_prometheus(prometheus: str, job: str, metric: str) -> None:
    eventually(lambda: len(query(prometheus, f'{metric}{{job="{job}"}}')) > 0, f"{metric} for {job}")


@pytest.mark.parametrize("job", JOBS)
def test_target_is_healthy_without_error(prometheus: str, job: str) -> None:
    eventually(lambda: [t["health"] for t in targets(prometheus, job)] == ["up"], f"{job} target up")
    assert [t["lastError"] for t in targets(prometheus, job)] == [""]


def test_wrong_password_target_is_down_with_401(prometheus: str) -> None:
    job = "exporter-wrong-password"
    eventually(lambda: [t["health"] for t in targets(prometheus, job)] == ["down"], f"{job} target down")
    assert "401" in targets(prometheus, job)[0]["lastError"]


# --- the live output, checked by the tools -----------------------------------------------------------


def test_promtool_check_metrics_finds_only_the_known_camelcase_names(exporter: str) -> None:
    status, _, body = http_get(f"{exporter}/metrics")
    assert status == 200
    result = subprocess.run(
        [binary("promtool"), "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    lines = (result.stdout + result.stderr).decode().splitlines()
    assert [line for line in lines if line.strip() and not ALLOWED_LINT.match(line)] == []


def test_live_openmetrics_parses(exporter: str) -> None:
    status, headers, body = http_get(f"{exporter}/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    names = {fam.name for fam in parse_openmetrics(body.decode())}
    assert {"node_cpu_seconds", "node_memory_MemAvailable_bytes", "node_scrape_collector_success"} <= names
