"""What every command shares: errors, argument parsing helpers, output.

Nothing here imports more than the standard library and :mod:`churnlib._urls`
at import time, so ``churnlib --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from churnlib._urls import redact_url

PROG = "churnlib"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


#: The extra that installs each optional package (pyproject.toml).
EXTRA_OF = {
    "mlflow": "mlflow",
    "matplotlib": "plot",
    "seaborn": "plot",
    "s3fs": "s3",
    "adlfs": "azure",
    "gcsfs": "gcs",
    "openpyxl": "excel",
    "dask": "dask",
    "distributed": "dask",
    "streamlit": "dashboard",
    "plotly": "dashboard",
    "fastapi": "serve",
    "uvicorn": "serve",
    "prometheus_client": "serve",
}


class UsageError(Exception):
    """A usage error found after argument parsing (exit status 2)."""


class JobError(Exception):
    """An expected failure of a command (exit status 1, message printed as is)."""


# --------------------------------------------------------------------------
# messages
# --------------------------------------------------------------------------
def one_line(text: object) -> str:
    """Collapse a (possibly multi-line) message into one line."""
    return " ".join(str(text).split())


def _secrets_of(url: str) -> list[str]:
    """Return the password, query string and query values of a URL."""
    from urllib.parse import parse_qsl, quote, urlsplit

    if "://" not in url:
        return []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    secrets = [password] if password else []
    if parts.query:
        secrets.append(parts.query)
        values = [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
        secrets.extend(v for v in values if len(v) >= 4)
    secrets += [quote(s, safe="") for s in secrets]
    return [s for s in secrets if s]


def redact_text(text: str, urls: Sequence[str | None] = ()) -> str:
    """Hide, in ``text``, every URL of ``urls`` and each of its secrets.

    Errors of third-party libraries quote the URL they were given, or pieces
    of it (``Max retries exceeded with url: /?token=...``): each given URL is
    replaced by its :func:`churnlib._urls.redact_url` form, and any password,
    query string or query value of it left anywhere in the message by ``***``.
    """
    for url in sorted({str(u) for u in urls if u}, key=len, reverse=True):
        safe = redact_url(url)
        if safe == url:
            continue
        text = text.replace(url, safe)
        bare = url.split("://", 1)[-1]  # quoted without its scheme
        if len(bare) > 3:
            text = text.replace(bare, safe.split("://", 1)[-1])
        for secret in sorted(set(_secrets_of(url)), key=len, reverse=True):
            text = text.replace(secret, "***")
    return text


def error_message(err: BaseException) -> str:
    """Return the one line printed for a failed command."""
    from churnlib.exceptions import ChurnlibError

    message = one_line(err) or type(err).__name__
    if isinstance(err, ChurnlibError | JobError):
        return message
    if isinstance(err, FileNotFoundError) and err.filename:
        return f"no file at {redact_url(str(err.filename))}: check the path or URL"
    if isinstance(err, ModuleNotFoundError) and err.name:
        top = err.name.split(".")[0]
        extra = EXTRA_OF.get(top)
        install = f'pip install "churnlib[{extra}]"' if extra else f"pip install {top}"
        return (
            f"this command needs the optional package {top!r}: {install} "
            '(or every extra: pip install "churnlib[all]")'
        )
    if isinstance(err, PermissionError) and err.filename:
        return (
            f"permission denied: {redact_url(str(err.filename))}: check the "
            "folder's permissions or write somewhere else"
        )
    return f"{type(err).__name__}: {message}"


# --------------------------------------------------------------------------
# argument values
# --------------------------------------------------------------------------
def parse_storage_options(pairs: Sequence[str] | None) -> dict[str, Any] | None:
    """``["key=value", ...]`` -> dict; values are JSON-decoded when possible."""
    if not pairs:
        return None
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--storage-option expects KEY=VALUE, got {pair!r} "
                "(for example --storage-option anon=true)"
            )
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def parse_label(text: str | None) -> Any:
    """Decode a label from the command line: ``1`` -> 1, ``true`` -> True, else str."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, bool | int | float) else text


def positive_int(minimum: int) -> Callable[[str], int]:
    """Return an argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def unit_interval(text: str) -> float:
    """Argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def probability(text: str) -> float:
    """Argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"must be strictly between 0 and 1, got {value}"
        )
    return value


def check_html_url(url: str, option: str = "the report") -> None:
    """Refuse a report URL that does not end in ``.html`` (usage error)."""
    if not str(url).lower().split("?")[0].endswith((".html", ".htm")):
        raise UsageError(f"{option} must be an .html file, got {redact_url(url)!r}")


def local_path(url: str) -> Path | None:
    """Return the local path of a plain path or ``file://`` URL, else None."""
    text = str(url)
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(text).path))
    if "://" in text or "::" in text:
        return None
    return Path(text)


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
class Progress:
    """One line per stage: ``[5/9] train    12.3 s   MLflow run 1a2b3c4d, ...``."""

    def __init__(self, total: int, *, quiet: bool, stream: TextIO) -> None:
        self.total = total
        self.quiet = quiet
        self.stream = stream
        self.index = 0
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, str]]:
        """Time a stage; the caller fills ``info["detail"]``."""
        self.index += 1
        info: dict[str, str] = {"detail": ""}
        start = time.perf_counter()
        yield info
        elapsed = time.perf_counter() - start
        self.timings[name] = elapsed
        if not self.quiet:
            head = f"[{self.index}/{self.total}] {name}"
            self.stream.write(f"{head:<26}{elapsed:5.1f} s   {info['detail']}\n")
            self.stream.flush()


def print_table(rows: Sequence[Mapping[str, Any]], stream: TextIO) -> None:
    """Print dict rows as an aligned plain-text table."""
    if not rows:
        return
    columns = list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    stream.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    stream.write("\n")
    for r in cells:
        stream.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
        stream.write("\n")


def print_metrics(metrics: Mapping[str, Any], stream: TextIO) -> None:
    """Print ``name  value`` lines, integers without decimals."""
    width = max((len(k) for k in metrics), default=0)
    for key, value in metrics.items():
        if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
            stream.write(f"  {key:<{width}}  {int(value)}\n")
        elif isinstance(value, float):
            stream.write(f"  {key:<{width}}  {value:.4f}\n")
        else:
            stream.write(f"  {key:<{width}}  {value}\n")


def plain(value: Any) -> Any:
    """Numpy scalars -> Python scalars (for JSON)."""
    return value.item() if hasattr(value, "item") else value
