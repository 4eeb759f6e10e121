"""Access control for ``churnlib serve``: API keys kept only as SHA-256 digests.

Tokens come from ``CHURNLIB_SERVE_TOKENS`` (comma or whitespace separated) and
from a token file (one a line, ``#`` comments). The service keeps their
SHA-256 digests, never the tokens, and compares a presented token's digest
with every known digest using :func:`hmac.compare_digest`. A token file is
re-read when it changes, so removing a line revokes that key without a
restart. Nothing here logs, prints or returns a token except
:func:`generate_token`'s caller, which prints the generated key once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "TOKENS_ENV",
    "TokenSet",
    "generate_token",
    "read_token_file",
    "tokens_from_env",
]

#: Environment variable holding the accepted tokens (comma or space separated).
TOKENS_ENV = "CHURNLIB_SERVE_TOKENS"
#: Shortest token accepted: shorter keys are guessable.
MIN_TOKEN_LENGTH = 16


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _split(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


def generate_token() -> str:
    """Return a new random API key (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def tokens_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """Tokens listed in ``CHURNLIB_SERVE_TOKENS`` (empty list when unset)."""
    env = os.environ if environ is None else environ
    return _split(env.get(TOKENS_ENV, ""))


def read_token_file(path: str | os.PathLike[str]) -> list[str]:
    """Tokens in a file: one a line (or comma separated); ``#`` starts a comment.

    Raises
    ------
    churnlib.exceptions.InvalidParameterError
        When the file cannot be read (the message names the file, never its
        content).
    """
    from churnlib.exceptions import InvalidParameterError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidParameterError(
            f"Cannot read the token file {os.fspath(path)!r} "
            f"({type(err).__name__}); check the path and its permissions."
        ) from None
    tokens: list[str] = []
    for line in text.splitlines():
        tokens.extend(_split(line.split("#", 1)[0]))
    return tokens


def _check(tokens: Iterable[str], where: str) -> list[bytes]:
    from churnlib.exceptions import InvalidParameterError

    digests = []
    for i, token in enumerate(tokens):
        if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
            # never echo the token itself
            raise InvalidParameterError(
                f"Token #{i + 1} from {where} is shorter than {MIN_TOKEN_LENGTH} "
                "characters; use long random keys, e.g. `python -c 'import "
                "secrets; print(secrets.token_urlsafe(32))'`."
            )
        digests.append(_digest(token))
    return digests


class TokenSet:
    """The accepted API keys, held as SHA-256 digests.

    Parameters
    ----------
    tokens : iterable of str, default=()
        Tokens given directly (e.g. from the environment).
    token_file : path-like or None, default=None
        A file of tokens, re-read by :meth:`refresh` whenever it changes.
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        *,
        token_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self._fixed = _check(tokens, "the given tokens")
        self._file = None if token_file is None else Path(token_file)
        self._file_state: tuple[int, int] | None = None
        self._from_file: list[bytes] = []
        self._lock = threading.Lock()
        if self._file is not None:
            read_token_file(self._file)  # a missing file is an error at start
            self.refresh()

    def __len__(self) -> int:
        return len(self._fixed) + len(self._from_file)

    def __repr__(self) -> str:
        return f"TokenSet(n_tokens={len(self)})"

    def refresh(self) -> bool:
        """Re-read the token file if it changed; return True when it did.

        A file that became unreadable keeps the previous keys (a half-written
        file never locks everyone out, nor lets anyone in).
        """
        if self._file is None:
            return False
        try:
            st = self._file.stat()
        except OSError:
            return False
        state = (st.st_mtime_ns, st.st_size)
        if state == self._file_state:
            return False
        digests = _check(read_token_file(self._file), f"file {str(self._file)!r}")
        with self._lock:
            self._from_file = digests
            self._file_state = state
        return True

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is one of the keys (constant time per key)."""
        presented = _digest(token)
        with self._lock:
            known = self._fixed + self._from_file
        ok = False
        for digest in known:  # compare with every key: no early exit
            ok |= hmac.compare_digest(presented, digest)
        return ok
