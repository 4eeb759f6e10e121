"""Log lines of the service that never carry a query string's values.

uvicorn's access logger writes each request line with its query string, where
a client may have put an API key (``?api_key=...``). The filter here replaces
the query of every access-log record before any handler formats it.
"""

from __future__ import annotations

import logging

__all__ = ["ACCESS_LOGGER", "redact_access_log"]

#: the logger uvicorn writes request lines to
ACCESS_LOGGER = "uvicorn.access"

REDACTED = "[query redacted]"


class _RedactQuery(logging.Filter):
    """Replace the query string of an access-log record's path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn: (client address, method, path with query, HTTP version, status)
        if isinstance(args, tuple) and len(args) >= 3:
            path = args[2]
            if isinstance(path, str) and "?" in path:
                head = path.partition("?")[0]
                record.args = (*args[:2], f"{head}?{REDACTED}", *args[3:])
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, _RedactQuery) for f in logger.filters):
        logger.addFilter(_RedactQuery())
