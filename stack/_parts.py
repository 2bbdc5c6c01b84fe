"""The parts of the native stack: what each runs, on which port, and how to tell it is healthy.

The same files as compose: Prometheus loads `alerting/prometheus.yml` (whose committed
`alerting/targets/` are these native addresses), Alertmanager the committed
`alerting/alertmanager/alertmanager.yml` (staged next to a generated bearer token), Grafana the
provisioning files of `dashboards/provisioning/`, the exporter `stack/process-groups.yml`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alerting import JOBS

ROOT = Path(__file__).resolve().parents[1]
PORTS = {job.name: job.port for job in JOBS}
WEBHOOK_PORT = 9095  # fixed in alertmanager.yml (Alertmanager 0.25 has no url_file)
GRAFANA_PORT = 3000
# Prometheus re-sends firing alerts this often (default 1m). An alert evaluated before Alertmanager is
# discovered (service discovery hands out updates every 5 s) is dropped once; with 5 s it is re-sent
# at the next evaluation (every 15 s) instead of a minute later.
RESEND_DELAY = "--rules.alert.resend-delay=5s"


@dataclass(frozen=True)
class Context:
    """Where a run keeps its state, and the interpreter that runs the project's own parts."""

    state: Path
    python: str = sys.executable
    workers: int = 2

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def token_file(self) -> Path:
        return self.state / "alertmanager" / "secrets" / "webhook-token"


@dataclass(frozen=True)
class Part:
    """One process of the stack."""

    name: str
    port: int
    health: str  # path that answers 200 once the part is ready
    command: Callable[[Context], list[str]]
    binary: str | None = None  # a program that must be on PATH
    env: Callable[[Context], dict[str, str]] = field(default=lambda ctx: {})
    optional: bool = False  # started only when its binary is there

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _which(name: str) -> str:
    return shutil.which(name) or name


def _grafana_binary() -> str | None:
    return shutil.which("grafana") or shutil.which("grafana-server")


def _grafana_command(ctx: Context) -> list[str]:
    binary = _grafana_binary() or "grafana"
    homepath = next(
        (p for p in ("/usr/share/grafana", "/opt/grafana") if Path(p).is_dir()), "/usr/share/grafana"
    )
    args = ["server"] if Path(binary).name == "grafana" else []
    return [binary, *args, f"--homepath={homepath}"]


def _grafana_env(ctx: Context) -> dict[str, str]:
    return {
        "GF_PATHS_PROVISIONING": str(ROOT / "dashboards" / "provisioning"),
        "GF_PATHS_DATA": str(ctx.state / "grafana"),
        "GF_PATHS_LOGS": str(ctx.logs),
        "GF_SERVER_HTTP_ADDR": "127.0.0.1",
        "GF_SERVER_HTTP_PORT": str(GRAFANA_PORT),
        "GF_SECURITY_ADMIN_PASSWORD": admin_password(ctx),
        "GF_AUTH_ANONYMOUS_ENABLED": os.environ.get("Y2S_GRAFANA_ANONYMOUS", "false"),
        "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
        "Y2S_PROMETHEUS_URL": f"http://127.0.0.1:{PORTS['prometheus']}",
        "Y2S_DASHBOARDS_DIR": str(ROOT / "dashboards" / "json"),
    }


def admin_password(ctx: Context) -> str:
    """Grafana's admin password: ``Y2S_GRAFANA_ADMIN_PASSWORD``, else a random one kept in the state dir."""
    given = os.environ.get("Y2S_GRAFANA_ADMIN_PASSWORD")
    if given:
        return given
    path = ctx.state / "grafana-admin-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


PARTS: tuple[Part, ...] = (
    Part(
        "simulator",
        PORTS["simulator"],
        "/healthz",
        lambda ctx: [ctx.python, "-m", "youtube2sheets.simulator", "--port", str(PORTS["simulator"])],
    ),
    Part(
        "youtube2sheets",
        PORTS["youtube2sheets"],
        "/healthz",
        lambda ctx: [
            ctx.python,
            "-m",
            "youtube2sheets",
            "serve",
            "--port",
            str(PORTS["youtube2sheets"]),
            "--workers",
            str(ctx.workers),
            "--state-dir",
            str(ctx.state / "service"),
            "--youtube-url",
            f"http://127.0.0.1:{PORTS['simulator']}/youtube/v3",
        ],
    ),
    Part(
        "exporter",
        PORTS["exporter"],
        "/metrics",
        lambda ctx: [
            ctx.python,
            "-m",
            "exporter",
            f"--web.listen-address=127.0.0.1:{PORTS['exporter']}",
            f"--collector.processes.config={ROOT / 'stack' / 'process-groups.yml'}",
        ],
    ),
    Part(
        "webhook",
        WEBHOOK_PORT,
        "/-/healthy",
        lambda ctx: [
            ctx.python,
            "-m",
            "stack.webhook",
            "--port",
            str(WEBHOOK_PORT),
            "--token-file",
            str(ctx.token_file),
            "--log",
            str(ctx.state / "notifications.jsonl"),
        ],
    ),
    Part(
        "alertmanager",
        PORTS["alertmanager"],
        "/-/ready",
        lambda ctx: [
            _which("prometheus-alertmanager"),
            f"--config.file={ctx.state / 'alertmanager' / 'alertmanager.yml'}",
            f"--web.listen-address=127.0.0.1:{PORTS['alertmanager']}",
            "--cluster.listen-address=",
            f"--storage.path={ctx.state / 'alertmanager' / 'data'}",
        ],
        binary="prometheus-alertmanager",
    ),
    Part(
        "prometheus",
        PORTS["prometheus"],
        "/-/ready",
        lambda ctx: [
            _which("prometheus"),
            f"--config.file={ROOT / 'alerting' / 'prometheus.yml'}",
            f"--web.listen-address=127.0.0.1:{PORTS['prometheus']}",
            f"--storage.tsdb.path={ctx.state / 'prometheus'}",
            "--storage.tsdb.retention.time=30d",  # the SLOs' error budget period (alerting/slos.yml)
            RESEND_DELAY,
            "--web.enable-lifecycle",
        ],
        binary="prometheus",
    ),
    Part(
        "grafana",
        GRAFANA_PORT,
        "/api/health",
        _grafana_command,
        binary="grafana",
        env=_grafana_env,
        optional=True,
    ),
)


def grafana_available() -> bool:
    """Whether a Grafana server binary is on PATH."""
    return _grafana_binary() is not None
