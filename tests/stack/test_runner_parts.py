"""The native runner's checks and the webhook receiver, on their own."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from stack._runner import StackError, _check
from stack.webhook import Store, make_handler
from tests.conftest import binary

TOKEN = "s3cret"
BODY = {
    "receiver": "ticket",
    "status": "firing",
    "alerts": [{"status": "firing", "labels": {"alertname": "X"}}],
}


def test_a_broken_prometheus_config_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "prometheus.yml"
    broken.write_text("global:\n  scrape_interval: fast\n")
    with pytest.raises(StackError) as err:
        _check([binary("promtool"), "check", "config", str(broken)], "prometheus config")
    assert str(err.value).startswith("prometheus config is broken: ")
    assert "\n" not in str(err.value)


def test_a_broken_alertmanager_config_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "alertmanager.yml"
    broken.write_text("route:\n  receiver: nowhere\nreceivers: []\n")
    with pytest.raises(StackError) as err:
        _check([binary("amtool"), "check-config", str(broken)], "alertmanager config")
    assert str(err.value).startswith("alertmanager config is broken: ")


def test_the_committed_configs_pass_the_checks() -> None:
    root = Path(__file__).resolve().parents[2]
    _check([binary("promtool"), "check", "config", str(root / "alerting" / "prometheus.yml")], "prometheus")
    _check(
        [binary("amtool"), "check-config", str(root / "alerting" / "alertmanager" / "alertmanager.yml")], "am"
    )


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "notifications.jsonl"
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Store(log), token=TOKEN))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


def post(url: str, body: bytes, token: str | None = TOKEN) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{url}/alerts", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_the_webhook_keeps_a_notification_and_serves_it_back(webhook: tuple[str, Path]) -> None:
    url, log = webhook
    assert post(url, json.dumps(BODY).encode()) == (200, {"status": "ok"})
    with urllib.request.urlopen(f"{url}/notifications?alertname=X&status=firing", timeout=5) as resp:
        found = json.load(resp)["notifications"]
    assert [n["receiver"] for n in found] == ["ticket"]
    assert json.loads(log.read_text())["alerts"] == BODY["alerts"]


def test_the_webhook_refuses_a_wrong_token(webhook: tuple[str, Path]) -> None:
    url, log = webhook
    assert post(url, json.dumps(BODY).encode(), token="wrong") == (
        401,
        {"error": "missing or wrong bearer token"},
    )
    assert post(url, json.dumps(BODY).encode(), token=None)[0] == 401
    assert not log.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b"{not json",
            "body is not JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (b"[1, 2]", "expected Alertmanager's webhook JSON with an 'alerts' list"),
    ],
)
def test_the_webhook_answers_bad_bodies_with_a_400(
    webhook: tuple[str, Path], body: bytes, error: str
) -> None:
    url, log = webhook
    assert post(url, body) == (400, {"error": error})
    assert not log.exists()
