"""Alertmanager: the committed config checks, routes as routes.yml says, inhibits and delivers.

Everything runs the real binaries (Debian's Alertmanager and amtool 0.25) on the committed files,
unchanged: the running Alertmanager gets a staged directory of symlinks to them plus a throwaway
``secrets/webhook-token``, exactly the layout the stack runs with.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting import stage_alertmanager
from tests.alerting.helpers import Webhook, alertmanager_command
from tests.conftest import Process, binary, free_port, wait_for, wait_for_url

# The delivery tests bind the webhook receiver's fixed 127.0.0.1:9095: scripts/test runs such tests
# in a process of their own.
pytestmark = pytest.mark.fixed_ports

REPO = Path(__file__).resolve().parents[2]
AM_DIR = REPO / "alerting" / "alertmanager"
CONFIG = AM_DIR / "alertmanager.yml"
ROUTES = AM_DIR / "routes.yml"
TOKEN = "y2s-test-token"
WAIT = 15.0  # bound for each wait on Alertmanager; normally well under a second
CASES: list[dict[str, Any]] = yaml.safe_load(ROUTES.read_text())["cases"]


# --- helpers ------------------------------------------------------------------------------------------


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("amtool"), *args], capture_output=True, text=True, timeout=30, check=False, cwd=REPO
    )


@contextmanager
def running_alertmanager(workdir: Path) -> Iterator[str]:
    """Alertmanager on a config dir staged in ``workdir``, run from another directory; its base URL.

    The working directory is ``workdir`` itself, which has no ``secrets/``: the bearer token only
    arrives if Alertmanager resolves ``credentials_file`` against the config file's directory.
    Stopped when the block ends.
    """
    config = stage_alertmanager(workdir / "config", TOKEN)
    port = free_port()
    proc = Process(
        alertmanager_command(config, port, workdir / "data"), workdir / "alertmanager.log", cwd=workdir
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_url(f"{url}/-/ready", proc, timeout=WAIT)
        yield url
    finally:
        proc.stop()


def timestamp(offset: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + offset).isoformat()


def post_alerts(url: str, *label_sets: dict[str, str], age: timedelta = timedelta(0)) -> None:
    """Fire one alert per label set (as Prometheus does: started ``age`` ago, ends in an hour)."""
    alerts = [
        {"labels": labels, "startsAt": timestamp(-age), "endsAt": timestamp(timedelta(hours=1))}
        for labels in label_sets
    ]
    req = urllib.request.Request(
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def alert_statuses(url: str) -> dict[frozenset[tuple[str, str]], dict[str, Any]]:
    """Every alert Alertmanager holds, by label set: ``{"fingerprint", "state", "inhibitedBy", ...}``."""
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=10) as resp:
        alerts = json.load(resp)
    return {frozenset(a["labels"].items()): {"fingerprint": a["fingerprint"], **a["status"]} for a in alerts}


def status_of(url: str, labels: dict[str, str]) -> dict[str, Any]:
    return alert_statuses(url)[frozenset(labels.items())]


def wait_until_suppressed(url: str, labels: dict[str, str]) -> None:
    """The inhibitor takes in new alerts asynchronously: poll until ``labels`` is suppressed."""
    wait_for(
        lambda: status_of(url, labels)["state"] == "suppressed", timeout=WAIT, what=f"{labels} suppressed"
    )


# --- the config and its templates ---------------------------------------------------------------------


@pytest.mark.integration
def test_check_config_passes() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " - 1 templates" in result.stdout


def test_template_globs_find_the_template_file() -> None:
    globs = yaml.safe_load(CONFIG.read_text())["templates"]
    found = sorted(path.name for pattern in globs for path in AM_DIR.glob(pattern))
    assert found == ["y2s.tmpl"]


@pytest.mark.integration
def test_check_config_reads_the_templates_relative_to_the_config(tmp_path: Path) -> None:
    """check-config parses the files the relative glob finds (so test_check_config_passes has teeth)."""
    (tmp_path / "alertmanager.yml").symlink_to(CONFIG)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "broken.tmpl").write_text('{{ define "y2s.title" }}{{ .Status')
    result = amtool("check-config", str(tmp_path / "alertmanager.yml"))
    assert result.returncode != 0
    assert "broken.tmpl" in result.stdout + result.stderr


FIRING: dict[str, Any] = {
    "status": "firing",
    "labels": {
        "alertname": "NodeFilesystemAlmostOutOfSpace",
        "severity": "critical",
        "job": "node",
        "instance": "host-a:9111",
        "mountpoint": "/",
    },
    "annotations": {
        "summary": "Filesystem has less than 3% space left.",
        "description": "/ on host-a:9111 has 2.1% space left.",
        "runbook_url": "https://example.org/runbooks.md#nodefilesystemalmostoutofspace",
        "dashboard_url": "http://127.0.0.1:3000/d/y2s-host",
    },
    "startsAt": "2024-05-01T10:00:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://127.0.0.1:9090/graph",
    "fingerprint": "1",
}
RESOLVED = {
    **FIRING,
    "status": "resolved",
    "labels": {**FIRING["labels"], "instance": "host-b:9111"},
    "annotations": {"summary": "Filesystem has less than 3% space left."},
    "endsAt": "2024-05-01T10:30:00Z",
    "fingerprint": "2",
}
GROUP = {k: FIRING["labels"][k] for k in ("alertname", "job", "severity")}
TEMPLATE_DATA = {
    "receiver": "page",
    "status": "firing",
    "alerts": [FIRING, RESOLVED],
    "groupLabels": GROUP,
    "commonLabels": GROUP,
    "commonAnnotations": {"summary": "Filesystem has less than 3% space left."},
    "externalURL": "http://127.0.0.1:9093",
}


def render(tmp_path: Path, template: str) -> str:
    """``amtool template render`` (0.25 has it) of the committed templates on TEMPLATE_DATA."""
    data = tmp_path / "data.json"
    data.write_text(json.dumps(TEMPLATE_DATA))
    result = amtool(
        "template",
        "render",
        f"--template.glob={AM_DIR / 'templates' / '*.tmpl'}",
        f"--template.data={data}",
        "--template.text={{ template " + json.dumps(template) + " . }}",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.integration
def test_title_shows_status_count_alertname_severity_and_job(tmp_path: Path) -> None:
    assert render(tmp_path, "y2s.title") == "[FIRING:1] NodeFilesystemAlmostOutOfSpace (critical, node)"


@pytest.mark.integration
def test_text_shows_every_field_of_a_firing_alert(tmp_path: Path) -> None:
    firing = render(tmp_path, "y2s.text").split("\n\n")[0]
    assert firing.splitlines() == [
        "[FIRING] NodeFilesystemAlmostOutOfSpace (critical)",
        "Summary: Filesystem has less than 3% space left.",
        "Description: / on host-a:9111 has 2.1% space left.",
        "Labels: instance=host-a:9111 job=node mountpoint=/",
        "Started: 2024-05-01 10:00:00 UTC",
        "Runbook: https://example.org/runbooks.md#nodefilesystemalmostoutofspace",
        "Dashboard: http://127.0.0.1:3000/d/y2s-host",
        "Source: http://127.0.0.1:9090/graph",
    ]


@pytest.mark.integration
def test_text_shows_resolved_alerts_last_without_missing_annotations(tmp_path: Path) -> None:
    resolved = render(tmp_path, "y2s.text").split("\n\n")[1]
    assert resolved.splitlines() == [
        "[RESOLVED] NodeFilesystemAlmostOutOfSpace (critical)",
        "Summary: Filesystem has less than 3% space left.",
        "Labels: instance=host-b:9111 job=node mountpoint=/",
        "Started: 2024-05-01 10:00:00 UTC",
        "Resolved: 2024-05-01 10:30:00 UTC",
        "Source: http://127.0.0.1:9090/graph",
    ]


# --- routing: every case of routes.yml, through amtool --------------------------------------------


def routes_test(receivers: list[str], labels: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={','.join(receivers)}",
        *(f"{name}={value}" for name, value in labels.items()),
    )


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_route(case: dict[str, Any]) -> None:
    result = routes_test(case["receivers"], case["labels"])
    assert result.returncode == 0, f"routed to {result.stdout.strip()!r}, expected {case['receivers']}"


@pytest.mark.integration
def test_wrong_expected_receiver_makes_amtool_fail() -> None:
    result = routes_test(["ticket"], {"alertname": "NodeFilesystemAlmostOutOfSpace", "severity": "critical"})
    assert result.returncode != 0


def test_routes_table_reaches_every_receiver() -> None:
    receivers = {r["name"] for r in yaml.safe_load(CONFIG.read_text())["receivers"]}
    assert {name for case in CASES for name in case["receivers"]} == receivers


def test_routes_table_case_names_are_unique() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))


# --- delivery: a real Alertmanager posts to a webhook receiver on 127.0.0.1:9095 -----------------------


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    try:
        yield hook
    finally:
        hook.stop()


@pytest.fixture(scope="module")
def delivering_alertmanager(tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[str]:
    """A real Alertmanager on the committed config, notifying the test's webhook receiver."""
    with running_alertmanager(tmp_path_factory.mktemp("delivering")) as url:
        yield url


PAGE_LABELS = {"alertname": "Y2STestDeliveryCritical", "severity": "critical", "job": "youtube2sheets"}


@pytest.fixture(scope="module")
def page_notification(delivering_alertmanager: str, webhook: Webhook) -> dict[str, Any]:
    """The webhook request for a critical alert.

    The alert started 10 minutes ago, longer than the page route's 30 s group_wait: Alertmanager
    then notifies a new group at once (as after its own restart), so the test needs no 30 s sleep.
    """
    post_alerts(delivering_alertmanager, PAGE_LABELS, age=timedelta(minutes=10))
    return webhook.wait_for_alert(PAGE_LABELS["alertname"])


@pytest.mark.integration
def test_critical_alert_reaches_the_page_receiver(page_notification: dict[str, Any]) -> None:
    body = page_notification["body"]
    assert (body["receiver"], body["status"]) == ("page", "firing")
    assert [a["labels"] for a in body["alerts"]] == [PAGE_LABELS]


@pytest.mark.integration
def test_webhook_posts_to_the_alerts_path(page_notification: dict[str, Any]) -> None:
    assert page_notification["path"] == "/alerts"


@pytest.mark.integration
def test_webhook_sends_the_bearer_token_from_the_config_relative_file(
    page_notification: dict[str, Any],
) -> None:
    assert page_notification["headers"]["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.integration
def test_watchdog_is_delivered_without_waiting(delivering_alertmanager: str, webhook: Webhook) -> None:
    """A Watchdog that starts now arrives well inside WAIT (15 s), which is less than group_wait (30 s)."""
    post_alerts(delivering_alertmanager, {"alertname": "Watchdog", "severity": "info"})
    body = webhook.wait_for_alert("Watchdog")["body"]
    assert (body["receiver"], body["status"]) == ("watchdog", "firing")


# --- inhibition: the real Alertmanager's alert states (last: its alerts never reach group_wait) --------


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Alertmanager on the committed config, for inhibition (it needs no webhook receiver)."""
    with running_alertmanager(tmp_path_factory.mktemp("inhibiting")) as url:
        yield url


def host_alert(alertname: str, severity: str, instance: str) -> dict[str, str]:
    return {"alertname": alertname, "severity": severity, "job": "node", "instance": instance}


def burn_alert(slo: str, tier: str, *, severity: bool = True) -> dict[str, str]:
    """An SLO burn-rate alert as the rules make it (fast = 14.4x 1h/5m, slow = 3x 1d/2h)."""
    windows = {"fast": ("1h", "5m"), "slow": ("1d", "2h")}[tier]
    labels = {
        "alertname": f"{slo.capitalize()}SLOBudgetBurn",
        "slo": slo,
        "burn_tier": tier,
        "long_window": windows[0],
        "short_window": windows[1],
        "job": "youtube2sheets",
    }
    if severity:
        labels["severity"] = {"fast": "critical", "slow": "warning"}[tier]
    return labels


@pytest.mark.integration
def test_critical_inhibits_warning_of_same_alertname_and_instance(alertmanager: str) -> None:
    critical = host_alert("Y2STestInhibitSame", "critical", "host-a:9111")
    warning = host_alert("Y2STestInhibitSame", "warning", "host-a:9111")
    post_alerts(alertmanager, critical, warning)
    wait_until_suppressed(alertmanager, warning)
    assert status_of(alertmanager, warning)["inhibitedBy"] == [
        status_of(alertmanager, critical)["fingerprint"]
    ]


@pytest.mark.integration
def test_critical_does_not_inhibit_warning_of_another_instance(alertmanager: str) -> None:
    critical = host_alert("Y2STestInhibitOther", "critical", "host-a:9111")
    same = host_alert("Y2STestInhibitOther", "warning", "host-a:9111")  # control: inhibited
    other = host_alert("Y2STestInhibitOther", "warning", "host-b:9111")
    post_alerts(alertmanager, critical, same, other)
    wait_until_suppressed(alertmanager, same)  # the inhibitor has seen the critical one
    assert status_of(alertmanager, other)["state"] == "active"


@pytest.mark.integration
def test_fast_burn_inhibits_slow_burn_of_same_slo(alertmanager: str) -> None:
    fast, slow = burn_alert("availability", "fast"), burn_alert("availability", "slow")
    post_alerts(alertmanager, fast, slow)
    wait_until_suppressed(alertmanager, slow)
    assert status_of(alertmanager, slow)["inhibitedBy"] == [status_of(alertmanager, fast)["fingerprint"]]


@pytest.mark.integration
def test_fast_burn_inhibits_slow_burn_by_burn_tier_alone(alertmanager: str) -> None:
    """Without severity labels the critical-over-warning rule cannot apply: this is the burn-tier rule."""
    fast = burn_alert("latency", "fast", severity=False)
    slow = burn_alert("latency", "slow", severity=False)
    post_alerts(alertmanager, fast, slow)
    wait_until_suppressed(alertmanager, slow)
    assert status_of(alertmanager, slow)["inhibitedBy"] == [status_of(alertmanager, fast)["fingerprint"]]


@pytest.mark.integration
def test_fast_burn_does_not_inhibit_slow_burn_of_another_slo(alertmanager: str) -> None:
    fast = {**burn_alert("availability", "fast"), "job": "y2s-test-other-slo"}
    same = {**burn_alert("availability", "slow"), "job": "y2s-test-other-slo"}  # control: inhibited
    other = {**burn_alert("latency", "slow"), "job": "y2s-test-other-slo"}
    post_alerts(alertmanager, fast, same, other)
    wait_until_suppressed(alertmanager, same)  # the inhibitor has seen the fast burn
    assert status_of(alertmanager, other)["state"] == "active"
