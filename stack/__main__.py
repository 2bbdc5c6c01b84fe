"""``python -m stack``: the native stack (no Docker), with the same config files as compose.

python -m stack up [--detach]     start everything, print the URLs; Ctrl-C stops it all
python -m stack stop              stop what a detached `up` started (nothing else)
python -m stack status            which parts answer their health check
python -m stack selftest          targets up, rules loaded, Watchdog delivered, dashboards have data
python -m stack drill             switch an upstream fault on and off; time the notifications
python -m stack capacity          the capacity report from the stack's Prometheus (python -m capacity)
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from importlib import import_module
from pathlib import Path
from types import FrameType

from ._parts import GRAFANA_PORT, PARTS, ROOT, Context, admin_password, grafana_available
from ._runner import (
    StackError,
    _healthy,
    preflight,
    prepare,
    selected_parts,
    start,
    stop_recorded,
    stop_started,
)

DEFAULT_STATE = ROOT / ".state" / "stack"


# Commands of other modules, run with the arguments that follow them.
COMMANDS = {"selftest": "stack.selftest", "drill": "stack.drill", "capacity": "capacity.__main__"}


def _up(args: argparse.Namespace, ctx: Context) -> int:
    parts = selected_parts(args.grafana)
    began = time.monotonic()
    try:
        preflight(parts)
        prepare(ctx)
        print(f"starting the stack (state in {ctx.state}):")
        started = start(ctx, parts)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"all {len(started)} parts healthy in {time.monotonic() - began:.1f}s")
    if any(p.name == "grafana" for p in parts):
        print(f"Grafana: http://127.0.0.1:{GRAFANA_PORT} (admin / {admin_password(ctx)})")
    elif not grafana_available():
        print(
            "Grafana: not on PATH; install grafana, or run `docker compose up grafana`, or import "
            "dashboards/json/*.json into any Grafana (data source uid 'prometheus')"
        )
    if args.detach:
        print("detached: `python -m stack stop` ends it")
        return 0
    print("Ctrl-C stops everything")

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        while True:
            dead = [s for s in started if s.popen.poll() is not None]
            if dead:
                s = dead[0]
                print(
                    f"error: {s.part.name} exited with status {s.popen.returncode}; stopping", file=sys.stderr
                )
                status = 1
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        stop_started(started)
        (ctx.state / "pids.json").unlink(missing_ok=True)
    return status


def _status(ctx: Context) -> int:
    down = 0
    for part in PARTS:
        ok = _healthy(part)
        if part.optional and not ok:
            continue
        down += not ok
        print(f"{part.name:<15} {'up' if ok else 'DOWN':<5} {part.url()}{part.health}")
    return 1 if down else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__.splitlines()[0])
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument("--state-dir", type=Path, default=DEFAULT_STATE, help=f"default {DEFAULT_STATE}")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the stack", parents=[state])
    up.add_argument("--detach", action="store_true", help="return once healthy; `stop` ends it")
    up.add_argument("--workers", type=int, default=2, help="the service's worker processes (default 2)")
    up.add_argument(
        "--grafana", action=argparse.BooleanOptionalAction, default=None, help="default: when it is on PATH"
    )
    sub.add_parser("stop", help="stop what a detached up started", parents=[state])
    sub.add_parser("status", help="health of every part", parents=[state])
    for name, module_name in COMMANDS.items():
        program = module_name.removesuffix(".__main__")
        sub.add_parser(name, help=f"see `python -m {program} --help`", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command in COMMANDS:
        module = import_module(COMMANDS[args.command])
        code: int = module.main(rest)
        return code
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "up" and args.workers < 1:
        parser.error("--workers: must be at least 1")
    ctx = Context(state=args.state_dir.resolve(), workers=getattr(args, "workers", 2))
    if args.command == "up":
        return _up(args, ctx)
    if args.command == "stop":
        stopped = stop_recorded(ctx)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    return _status(ctx)


if __name__ == "__main__":
    sys.exit(main())
