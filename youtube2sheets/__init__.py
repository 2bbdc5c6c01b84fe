"""YouTube2Sheets: syncs a YouTube channel's videos into spreadsheet tables; the stack's reference service.

``python -m youtube2sheets serve`` runs the service, ``python -m youtube2sheets.simulator`` the local
YouTube Data API v3 simulator it talks to by default.

The service's modules: ``cli`` (flags, checks, uvicorn), ``config`` (`Settings`, the ``Y2S_*``
variables), ``app`` (``create_app``, one per worker), ``api`` (the endpoints), ``sync`` (fetch, then
one transaction), ``youtube`` (the metered API client), ``db`` (SQLite), ``errors`` (JSON errors).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
