"""A local YouTube Data API v3 simulator: deterministic channels, quota, latency and injected faults.

Run it with ``python -m youtube2sheets.simulator --port 8001`` (see `cli`), or in-process with
`create_app` (tests). `Catalogue` computes the same ids and data as a running simulator with the
same seed, without HTTP:

    >>> from youtube2sheets.simulator import Catalogue
    >>> catalogue = Catalogue(42)
    >>> channel = catalogue.channels[4]
    >>> channel.videos, channel.uploads == "UU" + channel.id[2:]
    (237, True)
    >>> Catalogue(42).channels[4].id == channel.id != Catalogue(43).channels[4].id
    True
"""

from youtube2sheets.simulator.app import create_app
from youtube2sheets.simulator.catalogue import Catalogue, Channel, Video
from youtube2sheets.simulator.config import SimulatorConfig

__all__ = ["Catalogue", "Channel", "SimulatorConfig", "Video", "create_app"]
