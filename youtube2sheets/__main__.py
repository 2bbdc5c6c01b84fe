"""``python -m youtube2sheets serve ...``: the same as the ``youtube2sheets`` console script."""

import sys

from youtube2sheets.cli import main

if __name__ == "__main__":
    sys.exit(main())
