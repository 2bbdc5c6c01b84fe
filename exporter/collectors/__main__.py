"""``python -m exporter.collectors``: print the README's collector table (Markdown)."""

import sys

from exporter.collectors import markdown_table

sys.stdout.write(markdown_table())
