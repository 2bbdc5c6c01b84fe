"""``python -m exporter``: run the host exporter."""

from exporter.cli import main

raise SystemExit(main())
