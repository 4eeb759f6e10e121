"""Checks for optional dependencies, with messages that name the extra to install."""

from __future__ import annotations

__all__ = ["check_matplotlib_support"]


def check_matplotlib_support(caller_name: str) -> None:
    """Raise an ImportError naming the extra to install if matplotlib is missing.

    Parameters
    ----------
    caller_name : str
        The function or method that needs matplotlib, used in the message.

    Raises
    ------
    ImportError
        When matplotlib cannot be imported.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"{caller_name} requires matplotlib. Install it with "
            'pip install "churnlib[plot]".'
        ) from err
