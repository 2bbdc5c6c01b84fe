"""YouTube2Sheets: syncs a YouTube channel's videos into spreadsheet tables; the stack's reference service.

``python -m youtube2sheets serve`` runs the service, ``python -m youtube2sheets.simulator`` the local
YouTube Data API v3 simulator it talks to by default.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
