"""Where Prometheus finds each scrape job and Alertmanager: the one place compose and native runs differ.

`prometheus.yml` never names an address. Each job reads `targets/<job>.yml` (file-based service
discovery, relative to the config file), so the same `prometheus.yml` serves every environment:

- `alerting/targets/` holds the native addresses (127.0.0.1 and the default ports); the native
  runner uses `alerting/` as it is;
- `alerting/targets-compose/` holds the compose service names; compose mounts it over
  `/etc/prometheus/targets`;
- tests and a native runner on other ports write their own `targets/` next to symlinks of the
  committed files (`stage_prometheus`).

Both committed directories are written by `python -m alerting` from `JOBS` below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Job:
    """A scrape job: its name in Prometheus, its compose service and its default port."""

    name: str
    service: str  # the docker-compose service that serves it
    port: int
    description: str


# The jobs, in the order prometheus.yml lists them. "alertmanager" is also where Prometheus sends alerts.
JOBS: tuple[Job, ...] = (
    Job("prometheus", "prometheus", 9090, "Prometheus itself"),
    Job("alertmanager", "alertmanager", 9093, "Alertmanager"),
    Job("exporter", "exporter", 9111, "the host exporter (python -m exporter)"),
    Job("youtube2sheets", "app", 8000, "the service, every worker (multiprocess metrics)"),
    Job("simulator", "simulator", 8001, "the YouTube Data API simulator"),
    Job("loadgen", "locust-master", 9646, "the load generator's live metrics (loadtests)"),
)
JOB_NAMES = tuple(job.name for job in JOBS)


def targets_document(addresses: Sequence[str], job: Job) -> str:
    """One file_sd file: a list with one target group, as YAML."""
    group = {"targets": list(addresses)}
    header = f"# {job.description}. Written by `python -m alerting`; edit alerting/_targets.py.\n"
    return header + yaml.safe_dump([group], sort_keys=True, indent=2, default_flow_style=False)


def native_files() -> dict[str, str]:
    """`alerting/targets/*.yml`: every job on 127.0.0.1 at its default port."""
    return {f"targets/{job.name}.yml": targets_document([f"127.0.0.1:{job.port}"], job) for job in JOBS}


def compose_files() -> dict[str, str]:
    """`alerting/targets-compose/*.yml`: every job at its compose service name."""
    return {
        f"targets-compose/{job.name}.yml": targets_document([f"{job.service}:{job.port}"], job)
        for job in JOBS
    }


def stage_prometheus(dest: Path, addresses: Mapping[str, Sequence[str]]) -> Path:
    """A config directory for Prometheus on other addresses; returns the `prometheus.yml` to load.

    `dest` gets symlinks to the committed `prometheus.yml` and `rules/` (so what runs is exactly what
    is committed) and its own `targets/<job>.yml` for the jobs in ``addresses``; a job left out gets
    an empty target list, so Prometheus scrapes nothing for it rather than a default address.

    Args:
        dest: a directory (created if missing).
        addresses: job name -> ``host:port`` targets.

    Example:
        >>> import tempfile
        >>> conf = stage_prometheus(Path(tempfile.mkdtemp()), {"exporter": ["127.0.0.1:19111"]})
        >>> (conf.parent / "targets" / "exporter.yml").read_text().count("127.0.0.1:19111")
        1
    """
    unknown = sorted(set(addresses) - set(JOB_NAMES))
    if unknown:
        raise ValueError(f"unknown job {unknown[0]!r}; the jobs are {', '.join(JOB_NAMES)}")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("prometheus.yml", "rules"):
        link = dest / name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(HERE / name, link)
    targets = dest / "targets"
    targets.mkdir(exist_ok=True)
    for job in JOBS:
        (targets / f"{job.name}.yml").write_text(targets_document(list(addresses.get(job.name, ())), job))
    return dest / "prometheus.yml"


def stage_alertmanager(dest: Path, token: str) -> Path:
    """A config directory for Alertmanager; returns the `alertmanager.yml` to load.

    `dest` gets symlinks to the committed `alertmanager.yml` and `templates/` (used unchanged) and
    `secrets/webhook-token` holding ``token``: Alertmanager resolves relative paths against the
    config file's directory, so this is the layout compose and the native runner use too.

    Example:
        >>> import tempfile
        >>> conf = stage_alertmanager(Path(tempfile.mkdtemp()), "s3cret")
        >>> (conf.parent / "secrets" / "webhook-token").read_text()
        's3cret\\n'
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("alertmanager.yml", "templates"):
        link = dest / name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(HERE / "alertmanager" / name, link)
    secrets = dest / "secrets"
    secrets.mkdir(exist_ok=True)
    token_file = secrets / "webhook-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    return dest / "alertmanager.yml"
