"""``python -m dashboards [--check]``: write the dashboards' JSON, or check the committed files."""

from __future__ import annotations

import argparse
import sys

from . import HERE, generated_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file is stale")
    args = parser.parse_args(argv)
    files = generated_files()
    stale = [n for n, text in files.items() if not (HERE / n).is_file() or (HERE / n).read_text() != text]
    if args.check:
        for name in stale:
            print(f"stale: dashboards/{name} (run python -m dashboards)", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(files[name])
        tmp.replace(path)
        print(f"wrote dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
