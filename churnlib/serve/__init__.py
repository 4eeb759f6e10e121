"""Live scoring service: ``churnlib serve STORE@alias`` and its ASGI app.

:func:`create_app` builds a Starlette app that scores JSON or CSV rows with a
published model (validated against the model's contract), logs every served
prediction to a :class:`~churnlib.monitoring.ChurnMonitor` store in the
background, follows a store alias, and checks API keys. Needs the ``serve``
extra (``pip install "churnlib[serve]"``).

Importing this package imports nothing heavy: the app's modules load on first
use of :func:`create_app`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from churnlib.serve._app import create_app

        return create_app
    raise AttributeError(f"module 'churnlib.serve' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
