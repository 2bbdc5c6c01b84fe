"""``python -m youtube2sheets.simulator``: flags into a `SimulatorConfig`, then uvicorn, one process.

Bad input (an unknown flag, a bad value, an address it cannot listen on) prints one line on stderr
and exits with status 2. The listening socket is bound here, before uvicorn starts, so that a port
in use is reported as such instead of as a uvicorn traceback. SIGTERM and SIGINT stop it; requests
still held by a timeout fault get at most `GRACEFUL_SECONDS` to finish.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
from collections.abc import Sequence
from typing import NoReturn

import uvicorn

from youtube2sheets.simulator._errors import InputError
from youtube2sheets.simulator.app import create_app
from youtube2sheets.simulator.config import LOG_LEVELS, SimulatorConfig

PROG = "python -m youtube2sheets.simulator"
GRACEFUL_SECONDS = 2
_DEFAULTS = SimulatorConfig()


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The flags; each default is `SimulatorConfig`'s."""
    p = _Parser(prog=PROG, description="A local YouTube Data API v3 simulator with fault injection.")
    p.add_argument("--host", default=_DEFAULTS.host, help=f"address to listen on (default {_DEFAULTS.host})")
    p.add_argument("--port", type=int, default=_DEFAULTS.port, help=f"port (default {_DEFAULTS.port})")
    p.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="catalogue and random draws (default 42)")
    p.add_argument(
        "--daily-quota",
        type=int,
        default=_DEFAULTS.daily_quota,
        metavar="UNITS",
        help=f"quota units per API key per day, reset at midnight Pacific (default {_DEFAULTS.daily_quota})",
    )
    p.add_argument(
        "--latency-median-ms",
        type=float,
        default=_DEFAULTS.latency_median_ms,
        metavar="MS",
        help=f"median wait before each API answer (default {_DEFAULTS.latency_median_ms})",
    )
    p.add_argument(
        "--latency-sigma",
        type=float,
        default=_DEFAULTS.latency_sigma,
        metavar="SIGMA",
        help="log-normal spread of the wait; 0 = always the median (default 0.0)",
    )
    p.add_argument("--log-level", default=_DEFAULTS.log_level, choices=LOG_LEVELS, help="uvicorn's log level")
    return p


def parse_config(argv: Sequence[str] | None = None) -> SimulatorConfig:
    """The config from ``argv``; raises `UsageError` with one line naming the flag."""
    ns = build_parser().parse_args(argv)
    values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(SimulatorConfig) if hasattr(ns, f.name)}
    try:
        return SimulatorConfig(**values)
    except InputError as exc:
        flag = "--" + exc.field.replace("_", "-")
        raise UsageError(f"argument {flag}: {exc.message}") from None


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv6 when ``host`` has a colon); `UsageError` if it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, listen, serve until SIGTERM or SIGINT; 2 on bad input."""
    try:
        config = parse_config(argv)
        sock = listen(config.host, config.port)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level=config.log_level,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    )
    with sock:
        server.run(sockets=[sock])
    return 0
