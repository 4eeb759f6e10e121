"""Aliases: signed, sequenced records, their step log, and the store lease.

An alias (``production``, ``staging``...) is a record in
``aliases/<alias>.json``::

    {
        "alias": "production",
        "version": "<id>",
        "history": [...],
        "sequence": 7,
        "digest": "<sha256 chain of the history>",
        "updated_at": "...",
        "signature": {...},
    }

``sequence`` counts the steps (promote or rollback) and ``digest`` chains them
(``d_i = sha256(d_{i-1} || entry_i)``); in a signed store the HMAC covers the
whole record, its name included. Every step is also written, before the
record itself, as an immutable ``aliases/.log/<alias>/<sequence>.json`` created
exclusively: that write is the commit point (two writers cannot both take
step *n*), and on every read the newest step in the log wins over an older
``<alias>.json`` -- a record replaced by an older signed one (a replay, or a
writer that died between the two writes) is detected and never served.

Writers (promote, rollback, prune) hold the store lease ``aliases/.lock`` so a
prune never deletes a version an alias is being pointed at.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import posixpath
import random
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from churnlib.deployment._backend import StoreBackend
from churnlib.deployment._security import canonical_json, sign, verify
from churnlib.exceptions import DeploymentError, IntegrityError

__all__ = ["AliasBook", "alias_stack"]

logger = logging.getLogger("churnlib.deployment")

#: a lease older than this is considered abandoned
LOCK_STALE_SECONDS = 30.0
#: how long a writer waits for the lease before giving up
LOCK_WAIT_SECONDS = 60.0
#: step files kept per alias in the log (only the newest matters for reads)
LOG_KEEP = 10
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()
#: (store, alias, first step) -> highest sequence this process has served; the
#: first step tells a store deleted and made again from a replayed record
_high_water: dict[tuple[str, str, str], int] = {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alias_stack(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Replay an alias history: ``promote`` pushes, ``rollback`` pops."""
    stack: list[str] = []
    for entry in history:
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(str(entry["version"]))
    return stack


def history_digest(history: Sequence[Mapping[str, Any]]) -> str:
    """Hash the history entries as a chain; return the last link (hex)."""
    digest = b""
    for entry in history:
        digest = hashlib.sha256(digest + canonical_json(dict(entry))).digest()
    return digest.hex()


def _mark(store: str, alias: str, state: Mapping[str, Any]) -> tuple[str, str, str]:
    first = state["history"][0] if state["history"] else {}
    return store, alias, history_digest([first])


class AliasBook:
    """Read, verify and update the alias records of one store.

    Parameters
    ----------
    backend : StoreBackend
    key : bytes or None
        The signing key: records are signed and must verify when set.
    """

    def __init__(self, backend: StoreBackend, key: bytes | None) -> None:
        self._b = backend
        self._key = key

    # -------------------------------------------------------------- paths
    @property
    def folder(self) -> str:
        return self._b.path("aliases")

    def record_path(self, alias: str) -> str:
        return self._b.path("aliases", f"{alias}.json")

    def log_folder(self, alias: str) -> str:
        return self._b.path("aliases", ".log", alias)

    def _step_path(self, alias: str, sequence: int) -> str:
        return posixpath.join(self.log_folder(alias), f"{sequence:010d}.json")

    @property
    def lock_path(self) -> str:
        return self._b.path("aliases", ".lock")

    # -------------------------------------------------------------- reads
    def _parse(self, alias: str, raw: bytes, path: str) -> dict[str, Any]:
        """Parse and verify one record (structure, chain, signature)."""
        where = self._b.url_of(path)
        try:
            state = json.loads(raw)
            if not isinstance(state, dict) or not isinstance(
                state.get("history"), list
            ):
                raise ValueError("no history")
            for entry in state["history"]:
                if not isinstance(entry, dict) or not isinstance(
                    entry.get("version"), str
                ):
                    raise ValueError("a history entry has no version")
        except ValueError as err:
            raise IntegrityError(
                f"The alias file {where} is damaged ({err}); promote a version to "
                "this alias again to rewrite it.",
                url=where,
            ) from None
        if state.get("alias", alias) != alias:
            raise IntegrityError(
                f"The alias file {where} belongs to alias {state.get('alias')!r}, "
                f"not {alias!r}: it was copied or tampered with.",
                url=where,
            )
        if "sequence" in state and (
            state["sequence"] != len(state["history"])
            or state.get("digest") != history_digest(state["history"])
        ):
            raise IntegrityError(
                f"The alias file {where} does not match its own history (sequence "
                "or digest differs): it was altered.",
                url=where,
            )
        if self._key is not None:
            if "signature" not in state:
                raise IntegrityError(
                    f"The alias {alias!r} ({where}) is not signed, and this store "
                    "requires signatures. Promote the version again with the "
                    "signing key.",
                    url=where,
                )
            if not verify(state, self._key):
                raise IntegrityError(
                    f"The signature of the alias file {where} does not match: it was "
                    "altered or signed with another key. Refusing to use it.",
                    url=where,
                )
        state.setdefault("sequence", len(state["history"]))
        return state

    def _newest_step(self, paths: Sequence[str]) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for p in paths:
            stem = posixpath.basename(p)[: -len(".json")]
            if p.endswith(".json") and stem.isdigit():
                n = int(stem)
                if best is None or n > best[0]:
                    best = (n, p)
        return best

    def read(
        self, alias: str, *, log_paths: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """Return the verified current record of ``alias``, or None if none.

        The record file and the newest step of the log are compared: the
        newer one is the alias, and an older record file is reported.
        """
        path = self.record_path(alias)
        try:
            raw: bytes | None = self._b.cat(path)
        except FileNotFoundError:
            raw = None
        if log_paths is None:
            with self._b.io("list the alias log in", self.log_folder(alias)):
                log_paths = self._b.find(self.log_folder(alias))
        newest = self._newest_step(log_paths)
        state = None if raw is None else self._parse(alias, raw, path)
        if newest is not None and (state is None or newest[0] > state["sequence"]):
            if state is not None:
                logger.warning(
                    "alias file %s is at step %d but its log holds step %d: using "
                    "the newer step (an interrupted update, or the file was "
                    "replaced by an older one)",
                    self._b.url_of(path),
                    state["sequence"],
                    newest[0],
                )
            try:
                step = self._b.cat(newest[1])
            except FileNotFoundError:
                step = None
            if step is not None:
                state = self._parse(alias, step, newest[1])
        if state is None:
            return None
        mark = _mark(self._b.identity, alias, state)
        seen = _high_water.get(mark, 0)
        if state["sequence"] < seen:
            where = self._b.url_of(path)
            raise IntegrityError(
                f"The alias {alias!r} ({where}) went back from step {seen} to step "
                f"{state['sequence']}: its record and log were replaced by older "
                "ones. Refusing to use it; promote the intended version again.",
                url=where,
            )
        _high_water[mark] = state["sequence"]
        return state

    def read_all(self) -> dict[str, dict[str, Any]]:
        """Every alias's verified record; damaged or unverified ones are skipped.

        Skipped records are logged as warnings; resolving such an alias by
        name raises instead.
        """
        folder = self.folder
        with self._b.io("list aliases in", folder):
            paths = self._b.find(folder)
        names = sorted(
            posixpath.basename(p)[: -len(".json")]
            for p in paths
            if p.endswith(".json") and posixpath.dirname(p) == folder
        )
        logs: dict[str, list[str]] = {}
        log_root = posixpath.join(folder, ".log")
        for p in paths:
            if posixpath.dirname(posixpath.dirname(p)) == log_root:
                logs.setdefault(posixpath.basename(posixpath.dirname(p)), []).append(p)
        names = sorted(set(names) | set(logs))
        out = {}
        for name in names:
            try:
                state = self.read(name, log_paths=logs.get(name, []))
            except IntegrityError as err:
                logger.warning("skipping alias %r: %s", name, err)
                continue
            if state is not None:
                out[name] = state
        return out

    # ------------------------------------------------------------- writes
    def write(self, alias: str, version: str, action: str) -> dict[str, Any]:
        """Append one step to ``alias`` (hold :meth:`lease`); return the record."""
        for _ in range(5):
            state = self.read(alias) or {"alias": alias, "history": []}
            history = [dict(e) for e in state["history"]]
            history.append({"version": version, "action": action, "at": _now()})
            record: dict[str, Any] = {
                "alias": alias,
                "version": alias_stack(history)[-1] if alias_stack(history) else None,
                "history": history,
                "sequence": len(history),
                "digest": history_digest(history),
                "updated_at": _now(),
            }
            if self._key is not None:
                record["signature"] = {
                    "algorithm": "hmac-sha256",
                    "value": sign(record, self._key),
                }
            data = json.dumps(record, indent=2, sort_keys=True).encode()
            step = self._step_path(alias, record["sequence"])
            self._b.makedirs(self.log_folder(alias))
            try:
                with self._b.io(f"record a step of alias {alias!r} at", step):
                    self._b.write_exclusive(step, data)  # the commit point
            except FileExistsError:
                continue  # another writer took this step: read it and retry
            path = self.record_path(alias)
            with self._b.io(f"update alias {alias!r} at", path):
                self._b.write_replace(path, data)
            self._trim_log(alias, record["sequence"])
            _high_water[_mark(self._b.identity, alias, record)] = record["sequence"]
            return record
        raise DeploymentError(
            f"The alias {alias!r} in {self._b.url} kept changing under this update "
            "(other writers); retry.",
            url=self._b.url,
        )

    def _trim_log(self, alias: str, sequence: int) -> None:
        """Drop steps older than the newest :data:`LOG_KEEP` (best effort)."""
        old = sequence - LOG_KEEP
        if old < 1:
            return
        with contextlib.suppress(Exception):
            self._b.rm_file(self._step_path(alias, old))

    # -------------------------------------------------------------- lease
    @contextlib.contextmanager
    def lease(self) -> Iterator[None]:
        """Serialize alias updates and prunes: a thread lock plus a lease file.

        The lease (``aliases/.lock``, created exclusively) keeps processes from
        interleaving a prune with a promote; a lease older than 30 s is
        considered abandoned. The alias records themselves never depend on it:
        each step is an exclusive create, and every write replaces a whole file
        atomically.
        """
        key = self._b.identity
        with _thread_locks_guard:
            tlock = _thread_locks.setdefault(key, threading.Lock())
        with tlock:
            lock_path = self.lock_path
            token = secrets.token_hex(8)
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            self._b.makedirs(self.folder)
            while True:
                payload = json.dumps({"token": token, "at": time.time()}).encode()
                try:
                    with self._b.io("lock aliases in", lock_path):
                        self._b.write_exclusive(lock_path, payload)
                    break
                except FileExistsError:
                    try:
                        held = json.loads(self._b.cat(lock_path))
                        age = time.time() - float(held["at"])
                    except FileNotFoundError:
                        continue
                    except (ValueError, KeyError, TypeError):
                        age = LOCK_STALE_SECONDS + 1
                    if age > LOCK_STALE_SECONDS:
                        self._b.rm_file(lock_path)
                        continue
                    if time.monotonic() > deadline:
                        raise DeploymentError(
                            f"The aliases of {self._b.url} stayed locked by another "
                            f"writer for {LOCK_WAIT_SECONDS:.0f}s "
                            f"({self._b.url_of(lock_path)}); retry later.",
                            url=self._b.url,
                        ) from None
                    time.sleep(0.02 + 0.08 * random.random())
            try:
                yield
            finally:
                # ours unless it went stale (> 30 s) and another writer took it
                with contextlib.suppress(Exception):
                    self._b.rm_file(lock_path)
