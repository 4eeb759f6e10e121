"""Version folders: write a new version, list them, read one back verified.

``versions/<id>/`` holds an MLflow model directory and, written last, its
``manifest.json`` (:mod:`._manifest`). :class:`VersionShelf` is the only code
that writes or reads those folders; the facade decides *which* version.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from churnlib.deployment._backend import StoreBackend
from churnlib.deployment._manifest import (
    MANIFEST,
    build_manifest,
    check_file,
    check_signature,
    parse_manifest,
    safe_file_names,
)
from churnlib.deployment._mlflow_format import MODEL_FILE, mlflow_files
from churnlib.deployment._security import trusted_types_for, untrusted_types
from churnlib.deployment._version import is_version_id, new_version_id, version_time
from churnlib.exceptions import DeploymentError, IntegrityError

__all__ = ["VersionShelf"]


class VersionShelf:
    """The version folders of one store.

    Parameters
    ----------
    backend : StoreBackend
    key : bytes or None
        The signing key: manifests are signed, and must verify, when set.
    trusted : sequence of str
        Extra type names the caller's code trusts in a skops file.
    """

    def __init__(
        self, backend: StoreBackend, key: bytes | None, trusted: Sequence[str]
    ) -> None:
        self._b = backend
        self._key = key
        self._trusted = tuple(trusted)

    # -------------------------------------------------------------- paths
    @property
    def folder(self) -> str:
        return self._b.path("versions")

    def folder_of(self, version: str) -> str:
        return self._b.path("versions", version)

    def manifest_path(self, version: str) -> str:
        return self._b.path("versions", version, MANIFEST)

    # -------------------------------------------------------------- lists
    def complete(self) -> list[str]:
        """Ids of versions that have a manifest, oldest first."""
        folder = self.folder
        with self._b.io("list versions in", folder):
            paths = self._b.find(folder)
        ids = {
            posixpath.basename(posixpath.dirname(p))
            for p in paths
            if posixpath.basename(p) == MANIFEST
            and posixpath.dirname(posixpath.dirname(p)) == folder
        }
        return sorted(v for v in ids if is_version_id(v))

    def present(self) -> set[str]:
        """Every folder name under ``versions/``, complete or not."""
        folder = self.folder
        with self._b.io("list versions in", folder):
            return {
                posixpath.relpath(p, folder).split("/", 1)[0]
                for p in self._b.find(folder)
            }

    # -------------------------------------------------------------- reads
    def read_manifest(self, version: str) -> tuple[dict[str, Any], bytes]:
        """Read and verify (signature included) a manifest.

        Raises ``FileNotFoundError`` when the version does not exist.
        """
        path = self.manifest_path(version)
        raw = self._b.cat(path)
        where = self._b.url_of(path)
        manifest = parse_manifest(raw, version, where)
        check_signature(manifest, self._key, where)
        return manifest, raw

    def read_many(self, versions: Sequence[str]) -> dict[str, bytes | Exception]:
        """Manifest bytes of many versions (concurrently); errors as values."""
        paths = [self.manifest_path(v) for v in versions]
        with self._b.io("read manifests in", self.folder):
            blobs = self._b.cat_many(paths)
        return {v: blobs[p] for v, p in zip(versions, paths, strict=True)}

    def read_verified(
        self, version: str
    ) -> tuple[dict[str, Any], bytes, dict[str, bytes]]:
        """Read a version: its manifest and every file, all checked.

        Checks the signature (when there is a key), that file names are safe
        relative paths, and every file's size and SHA-256.
        """
        manifest, raw = self.read_manifest(version)
        names = safe_file_names(manifest, self._b.url_of(self.manifest_path(version)))
        vdir = self.folder_of(version)
        paths = [posixpath.join(vdir, n) for n in names]
        with self._b.io("read version files from", vdir):
            blobs = self._b.cat_many(paths)
        out: dict[str, bytes] = {}
        for name, path in zip(names, paths, strict=True):
            blob = blobs[path]
            where = self._b.url_of(path)
            if isinstance(blob, FileNotFoundError):
                raise IntegrityError(
                    f"The file {where} listed in the manifest is missing; the "
                    "version is damaged.",
                    url=where,
                )
            if isinstance(blob, Exception):
                raise self._b.error(blob, "read", path)
            check_file(manifest["files"][name], blob, where)
            out[name] = bytes(blob)
        return manifest, raw, out

    def same_publication(self, run_id: str, fingerprint: str) -> str | None:
        """Return the newest version of ``run_id`` holding the same model, if any."""
        for v in reversed(self.complete()):
            try:
                manifest, _ = self.read_manifest(v)
            except (IntegrityError, FileNotFoundError):
                continue
            if (
                manifest.get("run_id") == run_id
                and manifest.get("model_fingerprint") == fingerprint
            ):
                return v
        return None

    # ------------------------------------------------------------- writes
    def write(
        self,
        model: Any,
        *,
        run_id: str | None,
        metrics: Mapping[str, float],
        metadata: Mapping[str, Any],
        features: Mapping[str, Any],
        contract: Any,
        fingerprint: str | None,
    ) -> tuple[str, dict[str, Any], bytes]:
        """Write a new version: files first, the manifest last (the commit).

        A failure leaves no visible version; the folder is removed at once
        unless the storage stopped answering (``prune`` removes it later).
        """
        import skops.io as sio

        backend = self._b
        data = sio.dumps(model)
        # hash the model bytes in a thread (hashlib releases the GIL) while
        # the type audit runs here
        digest: dict[str, str] = {}
        hasher = threading.Thread(
            target=lambda: digest.update(sha256=hashlib.sha256(data).hexdigest())
        )
        hasher.start()
        try:
            accepted, refused = trusted_types_for(untrusted_types(data), self._trusted)
        finally:
            hasher.join()
        if refused:
            raise DeploymentError(
                f"The model contains types churnlib does not trust when loading: "
                f"{refused}. If you trust them, pass "
                f"ModelStore(..., trusted_types={refused!r}).",
                url=backend.url,
            )

        version = new_version_id()
        created_at = version_time(version)
        files: dict[str, bytes] = {
            f"model/{name}": blob
            for name, blob in mlflow_files(
                trusted_types=accepted,
                model_size=len(data),
                created_at=created_at,
                contract=contract,
                features=features,
            ).items()
        }
        files[MODEL_FILE] = data
        vdir = self.folder_of(version)
        backend.ensure_root()
        try:
            entries = {}
            with backend.io("write version files to", vdir):
                backend.makedirs(posixpath.join(vdir, "model"))
                for name, blob in files.items():
                    entries[name] = {
                        "sha256": digest["sha256"]
                        if blob is data
                        else hashlib.sha256(blob).hexdigest(),
                        "size": len(blob),
                    }
                # one call: async backends upload the files concurrently
                backend.write_many(
                    {posixpath.join(vdir, name): blob for name, blob in files.items()}
                )
            manifest, raw = build_manifest(
                version=version,
                created_at=created_at,
                run_id=run_id,
                trusted_types=accepted,
                entries=entries,
                metrics=metrics,
                metadata=metadata,
                features=features,
                contract=None if contract is None else contract.to_dict(),
                estimator=f"{type(model).__module__}.{type(model).__qualname__}",
                key=self._key,
                extra={"model_fingerprint": fingerprint} if fingerprint else None,
            )
            path = self.manifest_path(version)
            with backend.io("write the manifest", path):
                backend.write_exclusive(path, raw)
        except FileExistsError:
            raise DeploymentError(
                f"Version {version} already exists in {backend.url}; publish again.",
                url=backend.url,
            ) from None
        except FileNotFoundError as err:
            self._discard(vdir)
            raise DeploymentError(
                f"Could not write version {version} to {backend.url}: the location "
                "does not exist (was the bucket or folder deleted?). Create it, "
                "or use create=True.",
                url=backend.url,
            ) from err
        except DeploymentError as err:
            if "did not answer" not in str(err):  # a dead endpoint: leave it
                self._discard(vdir)
            raise
        except BaseException:
            self._discard(vdir)
            raise
        return version, manifest, raw

    def _discard(self, vdir: str) -> None:
        with contextlib.suppress(Exception):
            self._b.rm_tree(vdir)

    def hide(self, version: str) -> None:
        """Remove the manifest: the version stops existing at once."""
        path = self.manifest_path(version)
        with self._b.io("delete", path):
            self._b.rm_file(path)

    def remove(self, version: str) -> None:
        """Delete every file of a version folder."""
        vdir = self.folder_of(version)
        with self._b.io("delete", vdir):
            self._b.rm_tree(vdir)
