"""``python -m alerting [--check]``: write the generated rule and target files, or check them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._config import AlertingConfigError
from ._generate import generated_files

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alerting", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file is stale")
    args = parser.parse_args(argv)
    try:
        files = generated_files()
    except AlertingConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = [
        name
        for name, text in files.items()
        if not (HERE / name).is_file() or (HERE / name).read_text() != text
    ]
    if args.check:
        for name in stale:
            print(f"stale: alerting/{name} (run python -m alerting)", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(files[name])
        tmp.replace(path)
        print(f"wrote alerting/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
