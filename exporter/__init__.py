"""YouTube2Sheets performance stack: the host exporter and, for services, the instrumentation library.

This package's top level stays light: it must not import psutil, the HTTP server or the collectors, so
that a service importing the instrumentation does not pull in the host exporter. Run the exporter with
``python -m exporter`` or ``y2s-exporter``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
