"""``python -m exporter`` / ``y2s-exporter``: flags in node_exporter's style, then serve.

Collector flags are generated from the collector registry: ``--collector.<name>`` and
``--no-collector.<name>`` for every collector, ``--collector.<name>.<option>`` for its options.
Bad input (an unknown flag or collector, a bad listen address, a broken web config) prints one line
naming what is wrong and exits with status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import psutil
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from exporter import __version__
from exporter._families import Family
from exporter.collectors import COLLECTORS, Settings
from exporter.paths import Paths
from exporter.scrape import Scraper
from exporter.server import ExporterApp, ExporterServer, serve
from exporter.webconfig import WebConfigError, load_web_config

DEFAULT_PORT = 9111
PROG = "y2s-exporter"
log = logging.getLogger("exporter")


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The full flag set, collectors' flags included."""
    p = _Parser(prog=PROG, description="YouTube2Sheets host exporter (node_exporter-compatible).")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument(
        "--web.listen-address",
        dest="listen",
        metavar="HOST:PORT",
        default=f":{DEFAULT_PORT}",
        help=f"HOST:PORT to listen on; ':PORT' for all interfaces (default :{DEFAULT_PORT})",
    )
    p.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        metavar="PATH",
        default="/metrics",
        help="where metrics are served (default /metrics)",
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config",
        metavar="FILE",
        default="",
        help="exporter-toolkit web config: TLS and basic auth",
    )
    p.add_argument(
        "--web.max-requests",
        dest="max_requests",
        metavar="N",
        type=int,
        default=40,
        help="concurrent scrapes before answering 503 (0 = no limit)",
    )
    p.add_argument(
        "--web.disable-exporter-metrics",
        dest="no_self_metrics",
        action="store_true",
        help="leave out process_*, python_* and promhttp_* metrics",
    )
    p.add_argument("--path.procfs", dest="procfs", metavar="DIR", default="/proc", help="procfs mount point")
    p.add_argument("--path.sysfs", dest="sysfs", metavar="DIR", default="/sys", help="sysfs mount point")
    p.add_argument("--path.rootfs", dest="rootfs", metavar="DIR", default="/", help="rootfs mount point")
    p.add_argument(
        "--scrape.timeout",
        dest="scrape_timeout",
        metavar="SECONDS",
        type=float,
        default=5.0,
        help="longest wait for collectors in one scrape, seconds",
    )
    p.add_argument(
        "--scrape.timeout-offset",
        dest="timeout_offset",
        metavar="SECONDS",
        type=float,
        default=0.5,
        help="subtracted from Prometheus's X-Prometheus-Scrape-Timeout-Seconds",
    )
    p.add_argument(
        "--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"]
    )
    p.add_argument(
        "--collector.disable-defaults",
        dest="disable_defaults",
        action="store_true",
        help="enable only the collectors named with --collector.<name>",
    )
    for spec in COLLECTORS.values():
        state = "enabled" if spec.default_enabled else "disabled"
        p.add_argument(
            f"--collector.{spec.name}",
            dest=f"enable:{spec.name}",
            action="store_const",
            const=True,
            default=None,
            help=f"{spec.help} (default {state})",
        )
        p.add_argument(
            f"--no-collector.{spec.name}",
            dest=f"enable:{spec.name}",
            action="store_const",
            const=False,
            help=argparse.SUPPRESS,
        )
        for flag in spec.flags:
            kwargs: dict[str, Any] = {"dest": f"flag:{flag.name}", "help": flag.help}
            if not isinstance(flag.default, bool):
                kwargs["metavar"] = flag.metavar
            if flag.repeatable:
                kwargs.update(action="append", default=None)
            elif isinstance(flag.default, bool):
                kwargs.update(action=argparse.BooleanOptionalAction, default=flag.default)
            else:
                kwargs.update(type=type(flag.default), default=flag.default)
            p.add_argument(f"--collector.{flag.name}", **kwargs)
    return p


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` into a bind address."""
    m = re.fullmatch(r"(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[^:\[\]]*)):(?P<port>\d{1,5})", value)
    if not m or not 0 <= int(m["port"]) <= 65535:
        raise UsageError(f"--web.listen-address {value!r}: expected HOST:PORT, [IPV6]:PORT or :PORT")
    return (m["v6"] or m["host"] or "0.0.0.0"), int(m["port"])  # noqa: S104  (':PORT' means all)


def enabled_collectors(ns: argparse.Namespace) -> list[str]:
    """The collector names after defaults, ``--collector.X``, ``--no-collector.X`` and disable-defaults."""
    names = []
    for spec in COLLECTORS.values():
        choice = getattr(ns, f"enable:{spec.name}")
        on = choice if choice is not None else (spec.default_enabled and not ns.disable_defaults)
        if on:
            names.append(spec.name)
    return names


def self_metrics(no_self_metrics: bool) -> Callable[[], list[Family]] | None:
    """The exporter's own ``process_*`` and ``python_*`` families and its build info, read per scrape."""
    if no_self_metrics:
        return None
    # The exporter's own process, not the host's: always the real /proc/self, whatever --path.procfs.
    # GCCollector insists on registering itself, so each gets a throwaway registry.
    sources = [
        ProcessCollector(registry=None, proc="/proc"),
        PlatformCollector(registry=CollectorRegistry()),
        GCCollector(registry=CollectorRegistry()),
    ]
    build = Family(
        "y2s_exporter_build_info",
        "gauge",
        "Version of the YouTube2Sheets host exporter.",
        ("version", "pythonversion"),
    )
    build.add((__version__, ".".join(map(str, sys.version_info[:3]))), 1)

    def read() -> list[Family]:
        out = [build]
        for source in sources:
            for metric in source.collect():
                fam = Family.from_metric(metric)
                if fam is not None:
                    out.append(fam)
        return out

    return read


def check_regex_flags(flags: dict[str, Any]) -> None:
    """Compile every regex-valued collector flag, so that a bad one is reported under its own name."""
    for spec in COLLECTORS.values():
        for flag in spec.flags:
            value = flags.get(flag.name)
            if flag.metavar != "REGEX" or not isinstance(value, str) or not value:
                continue
            try:
                re.compile(value)
            except re.error as exc:
                raise UsageError(
                    f"--collector.{flag.name} {value!r}: invalid regular expression: {exc}"
                ) from None


def build_app(ns: argparse.Namespace) -> tuple[ExporterApp, tuple[str, int]]:
    """Validate everything and build the app; raises UsageError with one line on bad input."""
    address = parse_listen(ns.listen)
    if not ns.telemetry_path.startswith("/"):
        raise UsageError(f"--web.telemetry-path {ns.telemetry_path!r}: expected a path starting with '/'")
    for flag, path in (
        ("--path.procfs", ns.procfs),
        ("--path.sysfs", ns.sysfs),
        ("--path.rootfs", ns.rootfs),
    ):
        if not os.path.isdir(path):
            raise UsageError(f"{flag} {path!r}: not a directory")
    if ns.scrape_timeout <= 0:
        raise UsageError(f"--scrape.timeout {ns.scrape_timeout}: expected a positive number of seconds")
    web_config = None
    if ns.web_config:
        try:
            web_config = load_web_config(ns.web_config)
        except WebConfigError as exc:
            raise UsageError(str(exc)) from None
    psutil.PROCFS_PATH = ns.procfs
    flags = {
        key.split(":", 1)[1]: value
        for key, value in vars(ns).items()
        if key.startswith("flag:") and value is not None
    }
    check_regex_flags(flags)
    settings = Settings(paths=Paths(ns.procfs, ns.sysfs, ns.rootfs), flags=flags)
    collectors = {}
    for name in enabled_collectors(ns):
        try:
            collectors[name] = COLLECTORS[name].factory(settings)
        except (ValueError, OSError) as exc:
            raise UsageError(f"collector {name}: {exc}") from None
    app = ExporterApp(
        Scraper(collectors, timeout=ns.scrape_timeout),
        telemetry_path=ns.telemetry_path,
        self_metrics=self_metrics(ns.no_self_metrics),
        web_config=web_config,
        scrape_timeout=ns.scrape_timeout,
        timeout_offset=ns.timeout_offset,
        max_requests=ns.max_requests,
    )
    return app, address


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, start the server, serve until SIGINT or SIGTERM."""
    try:
        ns = build_parser().parse_args(argv)
        logging.basicConfig(
            level={"warn": "WARNING"}.get(ns.log_level, ns.log_level.upper()),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        app, address = build_app(ns)
        try:
            server = ExporterServer(address, app)
        except OSError as exc:
            raise UsageError(
                f"--web.listen-address {ns.listen!r}: cannot listen: {exc.strerror or exc}"
            ) from None
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheme = "https" if app.web_config and app.web_config.tls else "http"
    host, port = server.server_address[:2]
    log.info(
        "listening on %s://%s:%s%s with collectors: %s",
        scheme,
        host,
        port,
        ns.telemetry_path,
        ", ".join(app.scraper.collectors),
    )
    try:
        serve(server, stop)
    finally:
        server.server_close()
        app.scraper.close()
    return 0
