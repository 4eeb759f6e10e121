"""Exceptions and warnings raised by churnlib.

Every error churnlib raises on purpose is a :class:`ChurnlibError`, so one
``except churnlib.exceptions.ChurnlibError`` catches them all. Each also
subclasses the built-in exception an existing ``except`` clause would expect::

    ChurnlibError(Exception)
    ├── InvalidParameterError(ChurnlibError, ValueError, TypeError)
    ├── DataValidationError(ChurnlibError, ValueError)       .columns
    │   └── TableNotFoundError(DataValidationError, FileNotFoundError)  .url
    ├── TrackingError(ChurnlibError, RuntimeError)           .tracking_uri
    ├── StorageError(ChurnlibError, OSError)                 .url
    └── DeploymentError(ChurnlibError)                       .url
        ├── ModelNotFoundError(DeploymentError, FileNotFoundError)
        └── IntegrityError(DeploymentError, ValueError)

    DriftWarning(UserWarning)
    DataQualityWarning(UserWarning)

Context travels in keyword-only attributes; messages say what failed, the value
involved, and what to do about it. URLs in messages never carry credentials.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ChurnlibError",
    "DataQualityWarning",
    "DataValidationError",
    "DeploymentError",
    "DriftWarning",
    "IntegrityError",
    "InvalidParameterError",
    "ModelNotFoundError",
    "StorageError",
    "TableNotFoundError",
    "TrackingError",
]


class ChurnlibError(Exception):
    """Base class of every error churnlib raises on purpose."""


class InvalidParameterError(ChurnlibError, ValueError, TypeError):
    """A constructor or function parameter has an invalid type or value.

    Subclasses both :class:`ValueError` and :class:`TypeError`, as scikit-learn's
    own ``InvalidParameterError`` does, so existing ``except`` clauses still work.
    """


class DataValidationError(ChurnlibError, ValueError):
    """Input data does not match what was expected.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    columns : iterable of str, default=()
        The offending column names, if any.
    """

    def __init__(self, message: str, *, columns: Iterable[object] = ()) -> None:
        super().__init__(message)
        self.columns: tuple[str, ...] = tuple(str(c) for c in columns)


class TableNotFoundError(DataValidationError, FileNotFoundError):
    """No table exists at the path or URL given.

    Parameters
    ----------
    message : str
        What is missing and how to fix it.
    url : str or None, default=None
        The location, without credentials.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class StorageError(ChurnlibError, OSError):
    """A file or object could not be written or read at a location.

    Parameters
    ----------
    message : str
        What failed and how to fix it (credentials, permissions, space).
    url : str or None, default=None
        The location, without credentials.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class TrackingError(ChurnlibError, RuntimeError):
    """The MLflow tracking store failed or could not be reached.

    Parameters
    ----------
    message : str
        What failed and how to fix it.
    tracking_uri : str or None, default=None
        The tracking URI involved (never with credentials).
    """

    def __init__(self, message: str, *, tracking_uri: str | None = None) -> None:
        super().__init__(message)
        self.tracking_uri = tracking_uri


class DeploymentError(ChurnlibError):
    """A model store operation failed.

    Parameters
    ----------
    message : str
        What failed and how to fix it.
    url : str or None, default=None
        The store or file URL involved (never with credentials).
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ModelNotFoundError(DeploymentError, FileNotFoundError):
    """The requested model version or alias does not exist in the store."""


class IntegrityError(DeploymentError, ValueError):
    """A stored artifact does not match its manifest (hash or signature)."""


class DriftWarning(UserWarning):
    """Production data drifted away from the reference data."""


class DataQualityWarning(UserWarning):
    """Input data looks suspicious (constant columns, likely target leakage, ...)."""
