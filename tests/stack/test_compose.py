"""docker-compose.yml: valid, pinned, every mount there, every scrape target a service, and the same
parts and files as the native runner."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting import JOBS
from stack._parts import PARTS, Context

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    if not Path(found).exists():
        pytest.fail("check-jsonschema is not installed (a dev dependency: scripts/test installs it)")
    return found


def test_the_file_is_valid_against_the_compose_specification() -> None:
    run = subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(REPO / "docker-compose.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_broken_file_fails_the_schema_check(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump({"services": {"app": {"image": "x:1", "ports": {"bad": 1}}}}))
    run = subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_tag_is_pinned(name: str) -> None:
    image = SERVICES[name].get("image", "")
    assert re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+", image), f"{name}: {image!r} is not pinned to a version"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck_and_a_restart_policy(name: str) -> None:
    service = SERVICES[name]
    assert service.get("healthcheck", {}).get("test"), name
    assert service.get("restart") in ("unless-stopped", "always", "on-failure", "no"), name


def _bind_mounts() -> list[tuple[str, str, str]]:
    out = []
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source, _, rest = volume.partition(":")
            if source.startswith((".", "/")):
                out.append((name, source, rest))
    return out


@pytest.mark.parametrize(("service", "source", "target"), _bind_mounts())
def test_every_bind_mount_exists_and_is_read_only(service: str, source: str, target: str) -> None:
    path = (REPO / source).resolve() if source.startswith(".") else Path(source)
    assert path.exists(), f"{service}: {source} does not exist"
    assert target.endswith((":ro", ":ro,rslave")), f"{service}: {source} is mounted read-write"


def test_every_scrape_target_names_a_compose_service() -> None:
    for path in sorted((REPO / "alerting" / "targets-compose").glob("*.yml")):
        for group in yaml.safe_load(path.read_text()):
            for target in group["targets"]:
                host, port = target.rsplit(":", 1)
                assert host in SERVICES, f"{path.name}: {host} is not a compose service"
                ports = [p.rsplit(":", 1)[-1] for p in SERVICES[host].get("ports", [])]
                assert port in ports or SERVICES[host].get("network_mode"), f"{path.name}: {target}"


def test_published_ports_do_not_clash_and_bind_to_loopback() -> None:
    published = [p for s in SERVICES.values() for p in s.get("ports", [])]
    hosts = [p.rsplit(":", 1)[0] for p in published]
    assert len(hosts) == len(set(hosts))
    assert all(p.startswith("127.0.0.1:") for p in published)


def test_compose_runs_the_native_runners_parts() -> None:
    compose_for = {job.name: job.service for job in JOBS}
    native = {p.name for p in PARTS}
    expected = {compose_for.get(name, name) for name in native}
    assert expected <= set(SERVICES), sorted(expected - set(SERVICES))
    assert set(SERVICES) - expected == {"locust-master", "locust-worker"}


def test_compose_and_the_native_runner_load_the_same_config_files(tmp_path: Path) -> None:
    mounted = {source.removeprefix("./") for _, source, _ in _bind_mounts() if source.startswith(".")}
    assert mounted == {
        "alerting",  # prometheus.yml and rules/, as the native Prometheus loads them
        "alerting/targets-compose",  # the one difference: compose service names over targets/
        "alerting/alertmanager/alertmanager.yml",
        "alerting/alertmanager/templates",
        "stack/process-groups.yml",
        "dashboards/provisioning",
        "dashboards/json",
    }
    ctx = Context(state=tmp_path)
    commands = " ".join(" ".join(p.command(ctx)) for p in PARTS if p.name != "grafana")
    for path in ("alerting/prometheus.yml", "stack/process-groups.yml"):
        assert str(REPO / path) in commands
    env = next(p for p in PARTS if p.name == "grafana").env(ctx)
    assert env["GF_PATHS_PROVISIONING"] == str(REPO / "dashboards" / "provisioning")
    assert env["Y2S_DASHBOARDS_DIR"] == str(REPO / "dashboards" / "json")


def test_grafana_has_no_default_admin_password() -> None:
    password = SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${Y2S_GRAFANA_ADMIN_PASSWORD:?")


def test_the_exporter_watches_the_host_read_only() -> None:
    exporter = SERVICES["exporter"]
    assert exporter["pid"] == "host"
    flags = " ".join(exporter["command"])
    for flag in ("--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root"):
        assert flag in flags
