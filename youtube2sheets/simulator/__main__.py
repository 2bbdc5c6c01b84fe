"""``python -m youtube2sheets.simulator``: see `youtube2sheets.simulator.cli`."""

from youtube2sheets.simulator.cli import main

raise SystemExit(main())
