"""``python -m loadtests [--shape NAME] [locust options]``: Locust with the YouTube2Sheets locustfile.

A shortcut for ``locust -f loadtests/locustfile.py[,loadtests/shapes/NAME.py] ...`` that works from any
directory (the files are found in the installed package). Everything but ``--shape`` goes to Locust
unchanged, and Locust's exit code is the command's (0 pass, 1 thresholds failed, 2 error, 3 target
unreachable)::

    python -m loadtests --headless -u 50 -r 10 -t 2m
    python -m loadtests --shape step --headless --step-users 20
    python -m loadtests --shape constant_rate --headless --rate-stages 1m:500

A shape name that does not exist is one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def shapes() -> list[str]:
    """The shape names: the modules of ``loadtests/shapes/`` (``step``, ``spike``, ...).

    Example:
        >>> "step" in shapes()
        True
    """
    return sorted(p.stem for p in (HERE / "shapes").glob("*.py") if not p.stem.startswith("_"))


def command(argv: Sequence[str]) -> list[str]:
    """The Locust command line for ``argv``; ValueError (one line) for an unknown shape.

    Example:
        >>> cmd = command(["--shape", "step", "--headless"])
        >>> cmd[1], cmd[2].endswith("loadtests/locustfile.py," + str(HERE / "shapes" / "step.py")), cmd[3:]
        ('-f', True, ['--headless'])
    """
    args, files = list(argv), [str(HERE / "locustfile.py")]
    for flag in [a for a in args if a == "--shape" or a.startswith("--shape=")]:
        index = args.index(flag)
        name = flag.partition("=")[2] if "=" in flag else (args[index + 1] if index + 1 < len(args) else "")
        del args[index : index + (1 if "=" in flag else 2)]
        if name not in shapes():
            raise ValueError(f"--shape {name!r}: expected one of {', '.join(shapes())}")
        files.append(str(HERE / "shapes" / f"{name}.py"))
    locust = Path(sys.executable).with_name("locust")
    program = [str(locust)] if locust.exists() else [sys.executable, "-m", "locust"]
    return [*program, "-f", ",".join(files), *args]


def main(argv: Sequence[str] | None = None) -> int:
    """Replace this process with Locust (a fresh interpreter: gevent patches it before anything else)."""
    try:
        cmd = command(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        sys.stderr.write(f"python -m loadtests: error: {exc}\n")
        return 2
    os.execv(cmd[0], cmd)  # noqa: S606  (our own venv's locust, arguments as given)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
