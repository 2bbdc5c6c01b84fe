"""``youtube2sheets serve`` (also ``python -m youtube2sheets serve``): check everything, then run uvicorn.

The flags come from ``youtube2sheets.config.OPTIONS`` (each also read from its ``Y2S_*`` variable).
Before uvicorn starts, the parent checks every value, that the state directory is writable, that the
quota ledger is readable and that the port is free; anything wrong prints one line,
``youtube2sheets: error: ...``, and exits with status 2. It then empties ``state/metrics/``, creates
the schema, puts the settings in the environment (`Settings.to_env`) and runs uvicorn with ``--workers``
spawned processes (uvloop, httptools, no access log), each of which calls
``youtube2sheets.app:create_app()``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
from collections.abc import Mapping, Sequence
from typing import NoReturn

import uvicorn

from exporter.instrumentation import FileLedger, MetricSet, QuotaLedgerError
from youtube2sheets import __version__, db
from youtube2sheets.config import OPTIONS, ConfigError, Settings, env_texts

PROG = "youtube2sheets"
APP = "youtube2sheets.app:create_app"
GRACEFUL_SHUTDOWN_SECONDS = 10


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """``youtube2sheets serve [flags]``, one flag per option (defaults: the variable, else the built-in)."""
    parser = _Parser(prog=PROG, description="YouTube2Sheets: sync YouTube channels into sheets.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    serve = commands.add_parser("serve", help="run the service", description="Run the HTTP service.")
    defaults = Settings()
    for option in OPTIONS:
        default = getattr(defaults, option.field)
        names = option.env if option.negated_env is None else f"{option.env} or {option.negated_env}"
        help_text = f"{option.help} (env {names}; default {default})"
        if isinstance(default, bool):
            serve.add_argument(
                option.flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            serve.add_argument(option.flag, metavar=option.field.split("_")[-1].upper(), help=help_text)
    return parser


def settings_from(ns: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """The settings: each flag given, else its variable, else the default; `ConfigError` names the source."""
    texts = env_texts(environ)
    for option in OPTIONS:
        value = getattr(ns, option.field)
        if isinstance(value, bool):
            flag = option.flag if value else "--no-" + option.flag[2:]
            texts[option.field] = (flag, "1" if value else "0")
        elif value is not None:
            texts[option.field] = (option.flag, value)
    return Settings.parse(texts)


def check_port(host: str, port: int) -> None:
    """`UsageError` unless ``host:port`` can be listened on now (bound as uvicorn does, then released)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"--host {host!r}: not an address to listen on: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        flag = "--port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "--host"
        raise UsageError(f"{flag}: cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def prepare_state(settings: Settings) -> None:
    """Make the state directory (checked writable), check the quota ledger, empty metrics/, add the schema."""
    state = settings.state_dir
    try:
        state.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UsageError(
            f"--state-dir {str(state)!r}: not a writable directory: {exc.strerror or exc}"
        ) from None
    try:
        FileLedger(settings.quota_ledger).used(
            "1970-01-01"
        )  # reads (or creates) it: a corrupt one fails here
        shutil.rmtree(settings.metrics_dir, ignore_errors=True)
        settings.metrics_dir.mkdir()
        with contextlib.closing(db.connect(settings.database, metrics=MetricSet())) as conn:
            db.create_schema(conn)
    except (OSError, QuotaLedgerError, sqlite3.Error) as exc:
        raise UsageError(f"--state-dir {str(state)!r}: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, check, prepare, then serve until SIGINT or SIGTERM; 2 on bad input."""
    try:
        ns = build_parser().parse_args(argv)
        settings = settings_from(ns, os.environ)
        check_port(settings.host, settings.port)
        prepare_state(settings)
    except (UsageError, ConfigError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    os.environ.update(settings.to_env())  # what the spawned workers' create_app() reads
    uvicorn.run(
        APP,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0
