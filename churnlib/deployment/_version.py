"""Version ids, alias names, references and the :class:`ModelVersion` record."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

__all__ = [
    "ModelVersion",
    "is_version_id",
    "new_version_id",
    "parse_reference",
    "validate_alias",
]

_VERSION_FMT = "%Y%m%dT%H%M%S.%fZ"
# full matches only (re.fullmatch): ``$`` would also match before a trailing
# newline, and "prod\n" would become a file name
_VERSION_RE = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}")
_ALIAS_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
#: Reference words that are not alias names.
RESERVED = frozenset({"latest"})


def new_version_id(now: datetime | None = None) -> str:
    """Make a sortable, collision-free version id: UTC time + 8 random hex digits.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> new_version_id(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))[:23]
    '20260102T030405.000006Z'
    """
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC).strftime(_VERSION_FMT)}-{secrets.token_hex(4)}"


def is_version_id(text: str) -> bool:
    r"""Whether ``text`` has the shape of a version id (the whole of it).

    Examples
    --------
    >>> is_version_id("20260102T030405.000006Z-0123abcd")
    True
    >>> is_version_id("20260102T030405.000006Z-0123abcd\n")
    False
    """
    return isinstance(text, str) and _VERSION_RE.fullmatch(text) is not None


def version_time(version: str) -> datetime:
    """Return the UTC creation time encoded in a version id."""
    return datetime.strptime(version.split("-", 1)[0], _VERSION_FMT).replace(tzinfo=UTC)


def validate_alias(alias: Any) -> str:
    """Return ``alias`` if it is a valid alias name, else raise an error."""
    from churnlib.exceptions import InvalidParameterError

    if (
        not isinstance(alias, str)
        or _ALIAS_RE.fullmatch(alias) is None
        or alias in RESERVED
        or is_version_id(alias)
    ):
        raise InvalidParameterError(
            f"The 'alias' parameter must be a name of 1 to 64 letters, digits, "
            f"'_', '.' or '-' starting with a letter, other than 'latest'. "
            f"Got {alias!r} instead."
        )
    return alias


#: schemes whose host part may hold ``user@`` or ``container@account``
_USERINFO_SCHEMES = frozenset(
    {
        "abfs",
        "abfss",
        "az",
        "adl",
        "http",
        "https",
        "ftp",
        "sftp",
        "ssh",
        "hdfs",
        "webhdfs",
        "smb",
    }
)


def parse_reference(reference: str) -> tuple[str, str]:
    """Split ``"<store url>@<ref>"`` into ``(store_url, ref)``.

    ``ref`` is a version id, an alias or ``"latest"`` (the default when the
    reference has no ``@``). Only an ``@`` in the last path segment counts, so
    ``container@account`` hosts (Azure) and ``user@host`` parts are left alone;
    a bucket-only URL (``s3://bucket@production``) also works for object
    stores whose bucket names cannot hold ``@``.

    Examples
    --------
    >>> parse_reference("s3://bucket/models/churn@production")
    ('s3://bucket/models/churn', 'production')
    >>> parse_reference("abfs://models@account.dfs.core.windows.net/churn")
    ('abfs://models@account.dfs.core.windows.net/churn', 'latest')
    """
    scheme, sep, rest = reference.partition("://")
    if not sep:
        scheme, rest = "", reference
    netloc, slash, path = rest.partition("/") if sep else ("", "", rest)
    if sep and not path and scheme.lower() not in _USERINFO_SCHEMES:
        netloc, path, slash, sep_host = "", netloc, "", True
    else:
        sep_host = False
    head, _, last = path.rpartition("/")
    if "@" not in last:
        return reference, "latest"
    name, _, ref = last.rpartition("@")
    path = f"{head}/{name}" if head else name
    if sep_host:
        store = f"{scheme}{sep}{path}"
    else:
        store = f"{scheme}{sep}{netloc}{slash}{path}" if sep else path
    return store, ref or "latest"


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True, kw_only=True, eq=True)
class ModelVersion:
    """One published, complete model version.

    Parameters
    ----------
    version : str
        The version id: a UTC timestamp plus a random suffix, sortable.
    url : str
        URL of the version folder (without credentials).
    created_at : datetime
        Publication time (UTC).
    sha256 : str
        SHA-256 of the version's ``manifest.json`` bytes: two versions with the
        same value are byte-for-byte the same publication.
    metrics : mapping of str to float
        Metrics given at publication.
    aliases : tuple of str
        Aliases currently pointing to this version.
    run_id : str or None
        The MLflow run that trained the model, when known.
    metadata : mapping
        Free-form metadata given at publication.
    contract : ModelContract or None
        The model contract stored with the version (features, identifiers,
        labels, threshold...); None for versions published without one.
    """

    version: str
    url: str
    created_at: datetime
    sha256: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    run_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, repr=False)
    contract: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen_mapping(self.metrics))
        object.__setattr__(self, "metadata", _frozen_mapping(self.metadata))
        object.__setattr__(self, "aliases", tuple(self.aliases))

    def __repr__(self) -> str:
        parts = [repr(self.version)]
        if self.aliases:
            parts.append(f"aliases={self.aliases!r}")
        parts.append(f"created_at='{self.created_at:%Y-%m-%d %H:%M:%S}Z'")
        if self.metrics:
            shown = ", ".join(f"{k!r}: {v:.4g}" for k, v in self.metrics.items())
            parts.append(f"metrics={{{shown}}}")
        if self.run_id:
            parts.append(f"run_id={self.run_id!r}")
        return f"ModelVersion({', '.join(parts)})"

    def __hash__(self) -> int:
        return hash((self.version, self.sha256))
