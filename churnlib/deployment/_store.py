"""The model store facade: publish, list, load, promote, roll back, prune.

:class:`ModelStore` composes four parts, each in its own module:
``_backend`` (bounded, atomic, redacted storage I/O), ``_manifest`` (what a
version's manifest holds, how it is built and verified), ``_folders`` (writing
and reading version folders) and ``_aliases`` (signed, sequenced alias records
and the store lease). :mod:`churnlib._core.timeouts` bounds every storage request.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from numbers import Integral, Real
from typing import Any, ClassVar, TypeVar, cast

from churnlib._validation import Interval, validate_params
from churnlib.deployment._aliases import AliasBook, alias_stack
from churnlib.deployment._backend import StoreBackend
from churnlib.deployment._folders import VersionShelf
from churnlib.deployment._manifest import (
    MANIFEST,
    check_signature,
    clean_metadata,
    clean_metrics,
    feature_schema,
    parse_manifest,
)
from churnlib.deployment._security import (
    load_trusted,
)
from churnlib.deployment._version import (
    RESERVED,
    ModelVersion,
    is_version_id,
    parse_reference,
    validate_alias,
    version_time,
)
from churnlib.exceptions import (
    ChurnlibError,
    DeploymentError,
    IntegrityError,
    InvalidParameterError,
    ModelNotFoundError,
)

__all__ = ["ModelStore", "load_model"]

logger = logging.getLogger("churnlib.deployment")

SIGNING_KEY_ENV = "CHURNLIB_SIGNING_KEY"

#: an incomplete version folder older than this is garbage for ``prune``
_INCOMPLETE_AFTER = timedelta(days=1)


F = TypeVar("F", bound=Callable[..., Any])


def _churnlib_errors(method: F) -> F:
    """Let no bare ``OSError`` (``FileNotFoundError``, ...) leave a public call.

    The store turns them into churnlib errors where it expects them (a missing
    version, a lost exclusive create); this is the net for the rest (a bucket
    deleted mid-call), with the message redacted like every backend error.
    """

    @functools.wraps(method)
    def wrapper(self: ModelStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ChurnlibError:
            raise
        except OSError as err:
            action = f"{method.__name__} in"
            wrapped = self._backend.error(err, action)
            if wrapped.__cause__ is None:
                raise wrapped from None
            raise wrapped from err

    return cast(F, wrapper)


@functools.cache
def _not_fitted_error() -> type[Exception]:
    """Return the error for an unfitted model: churnlib's and scikit-learn's.

    Built on first use so that importing the store does not import sklearn.
    """
    from sklearn.exceptions import NotFittedError

    class ModelNotFittedError(InvalidParameterError, NotFittedError):  # type: ignore[misc]
        """The model given to ``publish`` is not fitted."""

    ModelNotFittedError.__module__ = "churnlib.deployment"
    return ModelNotFittedError


def _contract_from(data: Any, where: str) -> Any:
    """Return the ModelContract stored in a manifest, or None."""
    if data is None:
        return None
    from churnlib._core.contract import ModelContract

    try:
        return ModelContract.from_dict(data)
    except (ChurnlibError, TypeError, ValueError, KeyError, AttributeError) as err:
        raise IntegrityError(
            f"The model contract in {where} cannot be read ({type(err).__name__}: "
            f"{err}); publish the model again.",
            url=where,
        ) from None


class ModelStore:
    """Immutable, verifiable model versions on any fsspec URL.

    A store is a folder (local, ``memory://``, ``s3://``, ``az://``/``abfs://``,
    ``gs://``...) holding one sub-folder per published version. Each version is
    an MLflow-format model directory (the model serialized with skops, never
    pickle) plus a ``manifest.json`` holding the SHA-256 of every file and the
    model contract. The manifest is written last, so a version without one
    does not exist.

    Read more in the :doc:`deployment guide </guide/deployment>`.

    Parameters
    ----------
    url : str or os.PathLike
        Where the store lives: any fsspec URL or a local path. Credentials and
        tokens never go in the URL (``s3://KEY:SECRET@...`` and ``?sig=...``
        are refused): pass them in ``storage_options``.
    storage_options : mapping, default=None
        Passed straight to fsspec (credentials, endpoint...). churnlib adds
        connect/read timeouts and bounded retries for S3, Azure and GCS unless
        you set them. Never stored, logged or shown.
    signing_key : str or bytes, default=None
        Key for HMAC-SHA256 signatures of manifests and alias records.
        Defaults to the ``CHURNLIB_SIGNING_KEY`` environment variable. With a
        key, ``publish`` and ``promote`` sign, and every read (``load``,
        ``get``, ``versions``, aliases) refuses unsigned or wrongly signed
        records.
    create : bool, default=True
        Create the bucket, container or folder on first write when missing.
        With ``False`` a missing location raises :class:`DeploymentError`.
    trusted_types : sequence of str, default=None
        Extra type names your code trusts in a skops file, on top of
        churnlib's own list (``churnlib.deployment.TRUSTED_TYPES``). A list
        is never read from the artifact itself.
    timeout : float, default=None
        Seconds one storage request may take before the call fails with a
        :class:`DeploymentError`: 60 by default, or the
        ``CHURNLIB_STORAGE_TIMEOUT`` environment variable.

    Attributes
    ----------
    url : str
        The store URL without credentials.

    See Also
    --------
    load_model : Load ``"<store url>@<version or alias>"`` in one call.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from churnlib.deployment import ModelStore
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> store = ModelStore("memory://doctest/models")
    >>> v1 = store.publish(model, metrics={"roc_auc": 0.91}, alias="production")
    >>> store.load("production").predict([[2.5]])
    array([1])
    >>> [v.aliases for v in store.versions()]
    [('production',)]
    >>> v2 = store.publish(model, alias="production")
    >>> store.rollback("production").version == v1.version
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "storage_options": [Mapping, None],
        "signing_key": [str, bytes, None],
        "create": ["boolean"],
        "trusted_types": [list, tuple, None],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
        signing_key: str | bytes | None = None,
        create: bool = True,
        trusted_types: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        import fsspec

        validate_params(
            self._parameter_constraints,
            {
                "storage_options": storage_options,
                "signing_key": signing_key,
                "create": create,
                "trusted_types": trusted_types,
                "timeout": timeout,
            },
            "ModelStore",
        )
        url = fsspec.utils.stringify_path(url)
        if not isinstance(url, str) or not url:
            raise InvalidParameterError(
                "The 'url' parameter of ModelStore must be a non-empty str or "
                f"os.PathLike. Got {url!r} instead."
            )
        if signing_key is None:
            signing_key = os.environ.get(SIGNING_KEY_ENV) or None
        if isinstance(signing_key, str):
            signing_key = signing_key.encode()
        if signing_key is not None and len(signing_key) < 16:
            raise InvalidParameterError(
                "The signing key must be at least 16 bytes long; generate one "
                "with `python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        self._key: bytes | None = signing_key
        self._backend = StoreBackend(
            url,
            storage_options or {},
            create=create,
            timeout=timeout,
            extra_secrets=[signing_key] if signing_key else [],
        )
        self._aliases = AliasBook(self._backend, self._key)
        self._versions = VersionShelf(self._backend, self._key, trusted_types or ())
        self.url = self._backend.url
        self.create = create
        self._trusted = tuple(trusted_types or ())

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        signed = ", signed=True" if self._key else ""
        return f"ModelStore({self.url!r}{signed})"

    @property
    def fs(self) -> Any:
        """The fsspec filesystem the store writes through."""
        return self._backend.fs

    @property
    def signed(self) -> bool:
        """Whether this store signs and requires signed manifests and aliases."""
        return self._key is not None

    @property
    def timeout(self) -> float:
        """Seconds one storage request may take before a call fails."""
        return self._backend.timeout

    @property
    def _root(self) -> str:
        return self._backend.root

    @property
    def _local(self) -> bool:
        return self._backend.local

    def _path(self, *parts: str) -> str:
        return self._backend.path(*parts)

    def _url(self, path: str) -> str:
        return self._backend.url_of(path)

    # ------------------------------------------------------------- manifests
    def _manifest_path(self, version: str) -> str:
        return self._versions.manifest_path(version)

    def _read_manifest(self, version: str) -> tuple[dict[str, Any], bytes]:
        """Read and verify (signature included) the manifest of ``version``."""
        try:
            return self._versions.read_manifest(version)
        except FileNotFoundError:
            raise self._not_found(f"version {version!r}") from None

    def _version_from(
        self, manifest: Mapping[str, Any], raw: bytes, aliases: Sequence[str]
    ) -> ModelVersion:
        version = str(manifest["version"])
        try:
            created = datetime.fromisoformat(str(manifest["created_at"]))
        except (KeyError, ValueError):
            created = version_time(version)
        return ModelVersion(
            version=version,
            url=self._url(self._path("versions", version)),
            created_at=created,
            sha256=hashlib.sha256(raw).hexdigest(),
            metrics=manifest.get("metrics") or {},
            aliases=tuple(sorted(aliases)),
            run_id=manifest.get("run_id"),
            metadata=manifest.get("metadata") or {},
            contract=_contract_from(
                manifest.get("contract"), self._url(self._manifest_path(version))
            ),
        )

    def _verified(self, version: str) -> tuple[dict[str, Any], bytes, dict[str, bytes]]:
        try:
            return self._versions.read_verified(version)
        except FileNotFoundError:
            raise self._not_found(f"version {version!r}") from None

    # ---------------------------------------------------------------- lookup
    def _not_found(self, what: str) -> ModelNotFoundError:
        try:
            versions = self._complete_versions()
            aliases = sorted(self._aliases.read_all())
        except DeploymentError:
            versions, aliases = [], []
        if not versions and not self._exists():
            return ModelNotFoundError(
                f"No {what}: there is no model store at {self.url}. "
                f"{self._url_hint()}Check the URL (a store is created by its "
                "first publish).",
                url=self.url,
            )
        if not versions:
            listing = "The store has no versions yet; publish one first"
        else:
            shown = versions[-10:]
            more = f" (and {len(versions) - 10} older)" if len(versions) > 10 else ""
            listing = (
                f"Available versions: {', '.join(shown)}{more}; "
                f"aliases: {', '.join(aliases) or 'none'}; or 'latest'"
            )
        return ModelNotFoundError(
            f"No {what} in the model store {self.url}. {listing}.",
            url=self.url,
        )

    def _exists(self) -> bool:
        """Whether anything is at the store's root (an empty store still is)."""
        try:
            return bool(self.fs.exists(self._root))
        except (DeploymentError, OSError):
            return True  # unknown: say what the listing says

    def _url_hint(self) -> str:
        """Say what is often wrong with a store URL that names nothing."""
        text = str(self.url)
        if text.startswith("file://") and not text.startswith("file:///"):
            return (
                "file:// URLs name an absolute path with three slashes "
                "(file:///tmp/models); with two, the first folder is read as "
                "a host. "
            )
        local = text.startswith("file:") or "://" not in text
        if local and re.search(r"%[0-9A-Fa-f]{2}", text):
            return "Percent-escapes (%20) in a local path are not decoded. "
        return ""

    def _resolve(self, ref: Any) -> str:
        """Resolve a version id, alias, ``"latest"`` or ModelVersion to an id."""
        if isinstance(ref, ModelVersion):
            return ref.version
        if not isinstance(ref, str) or not ref:
            raise InvalidParameterError(
                "A model reference must be a version id, an alias name or "
                f"'latest'. Got {ref!r} instead."
            )
        if ref == "latest":
            versions = self._complete_versions()
            if not versions:
                raise self._not_found("version ('latest')")
            return versions[-1]
        if is_version_id(ref):
            return ref
        if ref in RESERVED:
            raise self._not_found(f"model {ref!r}")
        try:
            validate_alias(ref)
        except InvalidParameterError:
            raise self._not_found(f"version or alias {ref!r}") from None
        state = self._aliases.read(ref)
        stack = alias_stack(state["history"]) if state else []
        if not stack:
            raise self._not_found(f"alias {ref!r}")
        return stack[-1]

    def _complete_versions(self) -> list[str]:
        return self._versions.complete()

    def _aliases_of(self, version: str) -> list[str]:
        return [
            name
            for name, state in self._aliases.read_all().items()
            if (stack := alias_stack(state["history"])) and stack[-1] == version
        ]

    # ---------------------------------------------------------------- public
    @_churnlib_errors
    def versions(self) -> list[ModelVersion]:
        """Every complete, verified version, oldest first.

        A folder without a readable manifest (a publish in progress, or one that
        died midway) is not a version and is not listed. In a signed store a
        version whose manifest is unsigned or wrongly signed is not listed
        either (a warning is logged), and neither are such aliases.

        Returns
        -------
        list of ModelVersion
        """
        ids = self._complete_versions()
        if not ids:
            return []
        blobs = self._versions.read_many(ids)
        by_version: dict[str, list[str]] = {}
        for name, state in self._aliases.read_all().items():
            stack = alias_stack(state["history"])
            if stack:
                by_version.setdefault(stack[-1], []).append(name)
        out = []
        for version in ids:
            raw, path = blobs[version], self._manifest_path(version)
            if isinstance(raw, FileNotFoundError):
                continue  # pruned meanwhile
            if isinstance(raw, Exception):
                raise self._backend.error(raw, "read", path)
            try:
                manifest = parse_manifest(raw, version, self._url(path))
                check_signature(manifest, self._key, self._url(path))
                out.append(
                    self._version_from(manifest, raw, by_version.get(version, []))
                )
            except IntegrityError as err:
                logger.warning("skipping version %s: %s", version, err)
        return out

    @_churnlib_errors
    def get(self, ref: str | ModelVersion = "latest") -> ModelVersion:
        """Describe the version a reference points to, without loading it.

        The manifest (and, for an alias, the alias record) is verified as
        :meth:`load` does, signature included.

        Parameters
        ----------
        ref : str or ModelVersion, default="latest"
            A version id, an alias name or ``"latest"``.

        Returns
        -------
        ModelVersion

        Raises
        ------
        ModelNotFoundError
            If nothing matches; the message lists what exists.
        IntegrityError
            If the manifest or alias record fails its checks.
        """
        version = self._resolve(ref)
        manifest, raw = self._read_manifest(version)
        return self._version_from(manifest, raw, self._aliases_of(version))

    @_churnlib_errors
    def publish(
        self,
        model: Any,
        *,
        metrics: Mapping[str, float] | None = None,
        metadata: Mapping[str, Any] | None = None,
        alias: str | None = None,
        run_id: str | None = None,
        input_example: Any = None,
        contract: Any = None,
    ) -> ModelVersion:
        """Publish a fitted model as a new immutable version.

        Publishing is idempotent per training run: when ``run_id`` is known
        and a version of the same run holding the same model (same
        content hash, ``model_fingerprint``) exists, that
        version is returned (and ``alias`` promoted to it) instead of a copy.

        Parameters
        ----------
        model : estimator or TrainingResult
            A fitted scikit-learn estimator (usually a ``Pipeline``). A
            ``TrainingResult`` (anything with ``.model``, ``.run_id`` and
            ``.metrics``) is unpacked: its metrics, run id and contract are
            recorded unless given here.
        metrics : mapping of str to float, default=None
            Finite numbers recorded in the manifest.
        metadata : mapping, default=None
            JSON-serializable facts to keep with the version (never secrets:
            publishing refuses metadata that contains a credential of this store).
        alias : str, default=None
            Promote the new version to this alias once it is complete.
        run_id : str, default=None
            The MLflow run that trained the model.
        input_example : pandas.DataFrame, default=None
            A few input rows; their column names and dtypes become the feature
            schema of the manifest (otherwise only ``feature_names_in_``).
        contract : ModelContract, default=None
            The model contract to store (default: the one the model carries,
            see :func:`churnlib.contract.get_contract`). It is written into the manifest
            (signed with it), attached to the model by :meth:`load`, shown as
            ``ModelVersion.contract``, and gives the MLflow model its input
            signature.

        Returns
        -------
        ModelVersion

        Raises
        ------
        DeploymentError
            If the storage cannot be written, or the model holds types churnlib
            would refuse to load. A publish that fails leaves no version behind.
        """
        if (
            hasattr(model, "model")
            and hasattr(model, "run_id")
            and not hasattr(model, "predict")
        ):
            result = model
            model = result.model
            run_id = run_id if run_id is not None else result.run_id
            if metrics is None:
                metrics = getattr(result, "metrics", None)
            if contract is None:
                contract = getattr(result, "contract", None)
        if not hasattr(model, "predict"):
            raise InvalidParameterError(
                "The 'model' parameter of ModelStore.publish must be a fitted "
                "scikit-learn estimator (with predict) or a TrainingResult. Got "
                f"{type(model).__name__} instead."
            )
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(model)
        except NotFittedError as err:
            raise _not_fitted_error()(
                f"The model passed to ModelStore.publish is not fitted ({err}) "
                "Fit it first."
            ) from err
        if alias is not None:
            validate_alias(alias)
        if run_id is not None and not isinstance(run_id, str):
            raise InvalidParameterError(
                f"The 'run_id' parameter of ModelStore.publish must be a str or "
                f"None. Got {run_id!r} instead."
            )
        from churnlib._core.contract import ModelContract, get_contract

        if contract is None:
            contract = get_contract(model)
        elif not isinstance(contract, ModelContract):
            raise InvalidParameterError(
                "The 'contract' parameter of ModelStore.publish must be a "
                f"churnlib.ModelContract or None. Got {type(contract).__name__} "
                "instead."
            )
        metrics = clean_metrics(metrics)
        metadata = clean_metadata(metadata)
        features = feature_schema(model, input_example)
        contract_dict = None if contract is None else contract.to_dict()
        import json

        described = json.dumps([metrics, metadata, run_id, features, contract_dict])
        if any(s in described for s in self._backend.secrets):
            raise InvalidParameterError(
                "The metadata passed to ModelStore.publish contains a credential "
                "from this store's storage_options or signing key; remove it."
            )
        fingerprint = None
        if run_id is not None:
            from churnlib._core.model_facts import model_fingerprint

            fingerprint = model_fingerprint(model)
            same = self._versions.same_publication(run_id, fingerprint)
            if same is not None:
                logger.info(
                    "run %s with this model is already version %s in %s",
                    run_id,
                    same,
                    self.url,
                )
                return self.promote(same, alias) if alias else self.get(same)
        version, manifest, raw = self._versions.write(
            model,
            run_id=run_id,
            metrics=metrics,
            metadata={**metadata},
            features=features,
            contract=contract,
            fingerprint=fingerprint,
        )
        logger.info("published %s to %s", version, self.url)
        published = self._version_from(manifest, raw, [])
        if alias is not None:
            try:
                return self.promote(version, alias)
            except DeploymentError as err:
                raise DeploymentError(
                    f"Version {version} was published to {self.url}, but setting "
                    f"alias {alias!r} failed: {err} Run "
                    f"store.promote({version!r}, {alias!r}) to retry.",
                    url=self.url,
                ) from err
        return published

    @_churnlib_errors
    def download(
        self, ref: str | ModelVersion, path: str | os.PathLike[str]
    ) -> ModelVersion:
        """Copy a verified version to a local folder.

        ``<path>/model`` is then an MLflow model directory
        (``mlflow.pyfunc.load_model(f"{path}/model")``, ``mlflow models serve
        -m <path>/model``) and ``<path>/manifest.json`` its manifest. Every file
        is checked against the manifest (and the signature) before anything is
        written.

        Parameters
        ----------
        ref : str or ModelVersion
            A version id, an alias name or ``"latest"``.
        path : str or os.PathLike
            A local folder; created if missing. Existing files are overwritten.

        Returns
        -------
        ModelVersion
        """
        from pathlib import Path

        version = self._resolve(ref)
        manifest, raw, blobs = self._verified(version)
        dest = Path(path)
        try:
            for name, blob in {**blobs, MANIFEST: raw}.items():
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(blob)
        except OSError as err:
            raise DeploymentError(
                f"Could not write version {version} into the folder {dest} "
                f"({type(err).__name__}: {err.strerror or err}); choose a writable "
                "folder.",
                url=str(dest),
            ) from err
        return self._version_from(manifest, raw, self._aliases_of(version))

    @_churnlib_errors
    def load(self, ref: str | ModelVersion = "latest") -> Any:
        """Verify and load a model, with its contract attached.

        Every file's size and SHA-256 is checked against the manifest (and the
        manifest's HMAC signature when the store has a signing key) **before**
        anything is deserialized. The model is rebuilt with :func:`skops.io.loads`
        and churnlib's own trusted-type list; nothing is unpickled and MLflow is
        not needed. The version's model contract, when it has one, is attached
        (read it with :func:`churnlib.contract.get_contract`).

        Parameters
        ----------
        ref : str or ModelVersion, default="latest"
            A version id, an alias name or ``"latest"``.

        Returns
        -------
        estimator
            The fitted model.

        Raises
        ------
        ModelNotFoundError
            If ``ref`` matches nothing (the message lists what exists).
        IntegrityError
            If a file is missing, differs from its manifest, the signature is
            missing or wrong, or the model holds untrusted types.
        """
        version = self._resolve(ref)
        manifest, _, blobs = self._verified(version)
        model_bytes = blobs[manifest["model_file"]]
        vdir = self._path("versions", version)
        contract = _contract_from(manifest.get("contract"), self._url(vdir))
        import skops.io as sio
        from skops.io.exceptions import UntrustedTypesFoundException

        trusted = load_trusted(manifest.get("trusted_types") or [], self._trusted)
        try:
            model = sio.loads(model_bytes, trusted=trusted)
        except UntrustedTypesFoundException as err:
            refused = str(err).split("\n", 1)[0]
            raise IntegrityError(
                f"The model of version {version} contains types churnlib does not "
                f"trust ({refused}). If you trust them, pass "
                "ModelStore(..., trusted_types=[...]) with their names.",
                url=self._url(vdir),
            ) from None
        except Exception as err:
            raise IntegrityError(
                f"The model file of version {version} is not a readable skops "
                f"file ({type(err).__name__}: {err}).",
                url=self._url(vdir),
            ) from err
        if contract is not None:
            from churnlib._core.contract import attach_contract

            with contextlib.suppress(AttributeError, TypeError):  # slotted models
                attach_contract(model, contract)
        logger.info("loaded %s from %s", version, self.url)
        return model

    @_churnlib_errors
    def promote(self, version: str | ModelVersion, alias: str) -> ModelVersion:
        """Point ``alias`` at ``version``, keeping the alias's history.

        Holds the store lease while it checks the version exists and records
        the step, so a concurrent :meth:`prune` cannot delete the version the
        alias now points to.

        Parameters
        ----------
        version : str or ModelVersion
            A version id, another alias, ``"latest"`` or a ModelVersion.
        alias : str
            Alias name: letters, digits, ``_``, ``.``, ``-``; starts with a letter.

        Returns
        -------
        ModelVersion
            The version, with its aliases updated.
        """
        alias = validate_alias(alias)
        self._backend.ensure_root()
        with self._aliases.lease():
            target = self._resolve(version)
            manifest, raw = self._read_manifest(target)  # must be a real version
            state = self._aliases.read(alias)
            stack = alias_stack(state["history"]) if state else []
            if not stack or stack[-1] != target:
                self._aliases.write(alias, target, "promote")
                logger.info("alias %s -> %s in %s", alias, target, self.url)
        return self._version_from(manifest, raw, self._aliases_of(target))

    @_churnlib_errors
    def rollback(self, alias: str) -> ModelVersion:
        """Point ``alias`` back at the version it pointed to before.

        Rolling back again goes further back; the history keeps every step.

        Parameters
        ----------
        alias : str

        Returns
        -------
        ModelVersion
            The version the alias now points to.

        Raises
        ------
        ModelNotFoundError
            If the alias does not exist.
        DeploymentError
            If the alias has no earlier version.
        """
        alias = validate_alias(alias)
        with self._aliases.lease():
            state = self._aliases.read(alias)
            if state is None:
                raise self._not_found(f"alias {alias!r}")
            stack = alias_stack(state["history"])
            if len(stack) < 2:
                raise DeploymentError(
                    f"The alias {alias!r} in {self.url} has no previous version to "
                    f"roll back to (it points to {stack[-1] if stack else None})."
                    " Promote a version instead.",
                    url=self.url,
                )
            target = stack[-2]
            self._read_manifest(target)
            self._aliases.write(alias, target, "rollback")
            logger.info("alias %s rolled back to %s in %s", alias, target, self.url)
        return self.get(target)

    @_churnlib_errors
    def alias_history(self, alias: str) -> list[dict[str, Any]]:
        """Return the alias's history, oldest first (``version``/``action``/``at``)."""
        alias = validate_alias(alias)
        state = self._aliases.read(alias)
        if state is None:
            raise self._not_found(f"alias {alias!r}")
        return [dict(entry) for entry in state["history"]]

    @_churnlib_errors
    def prune(self, keep: int = 5) -> list[str]:
        """Delete old versions, keeping the newest ``keep`` and every aliased one.

        A version an alias points to, or could roll back to, is never deleted:
        prune decides and hides the doomed versions (removes their manifests)
        while holding the same lease as :meth:`promote`, so an alias set
        concurrently either is seen and protects its version, or finds the
        version already gone and fails. Folders of publishes that never
        completed are removed once they are more than a day old (younger ones
        may be a publish in progress).

        Parameters
        ----------
        keep : int, default=5
            How many of the newest versions to keep regardless of aliases.

        Returns
        -------
        list of str
            The ids of the deleted versions, oldest first.

        Raises
        ------
        IntegrityError
            If an alias record cannot be verified (its versions are unknown, so
            nothing is deleted).
        """
        validate_params(
            {"keep": [Interval(Integral, 0, None, closed="left")]},
            {"keep": keep},
            "ModelStore.prune",
        )
        with self._aliases.lease():
            complete = self._complete_versions()
            protected = set(complete[len(complete) - keep :] if keep else [])
            for name in self._alias_names():
                state = self._aliases.read(name)  # raises when unverifiable
                if state is not None:
                    protected.update(alias_stack(state["history"]))
            doomed = [v for v in complete if v not in protected]
            for version in doomed:  # invisible first, under the lease
                self._versions.hide(version)
        present = self._versions.present()
        cutoff = datetime.now(UTC) - _INCOMPLETE_AFTER
        stale = [
            v
            for v in present
            if is_version_id(v) and v not in complete and version_time(v) < cutoff
        ]
        for version in doomed + stale:
            self._versions.remove(version)
        if doomed:
            logger.info("pruned %d versions from %s", len(doomed), self.url)
        return doomed

    def _alias_names(self) -> list[str]:
        folder = self._aliases.folder
        with self._backend.io("list aliases in", folder):
            paths = self._backend.find(folder)
        log_root = posixpath.join(folder, ".log")
        names = {
            posixpath.basename(p)[: -len(".json")]
            for p in paths
            if p.endswith(".json") and posixpath.dirname(p) == folder
        } | {
            posixpath.basename(posixpath.dirname(p))
            for p in paths
            if posixpath.dirname(posixpath.dirname(p)) == log_root
        }
        return sorted(names)

    @classmethod
    def from_reference(
        cls,
        reference: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        signing_key: str | bytes | None = None,
        create: bool = False,
        trusted_types: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> tuple[ModelStore, str]:
        """Split ``"<store url>@<ref>"`` into a store and a reference.

        Parameters
        ----------
        reference : str
            For example ``"s3://bucket/models/churn@production"``. Without
            ``@``, the reference is ``"latest"``.
        storage_options, signing_key, create, trusted_types, timeout
            As for :class:`ModelStore` (``create`` defaults to False here).

        Returns
        -------
        store : ModelStore
        ref : str

        Examples
        --------
        >>> store, ref = ModelStore.from_reference("memory://models/churn@production")
        >>> store, ref
        (ModelStore('memory://models/churn'), 'production')
        """
        url, ref = parse_reference(str(reference))
        store = cls(
            url,
            storage_options=storage_options,
            signing_key=signing_key,
            create=create,
            trusted_types=trusted_types,
            timeout=timeout,
        )
        return store, ref


def load_model(
    reference: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    signing_key: str | bytes | None = None,
    trusted_types: Sequence[str] | None = None,
    timeout: float | None = None,
) -> Any:
    """Load ``"<store url>@<version id | alias | latest>"`` from a model store.

    Parameters
    ----------
    reference : str
        For example ``"s3://bucket/models/churn@production"``; without ``@``
        the newest version is loaded.
    storage_options : mapping, default=None
        Passed to fsspec.
    signing_key : str or bytes, default=None
        As for :class:`ModelStore` (``CHURNLIB_SIGNING_KEY`` by default).
    trusted_types : sequence of str, default=None
        As for :class:`ModelStore`.
    timeout : float, default=None
        As for :class:`ModelStore` (60 s per storage request by default).

    Returns
    -------
    estimator
        The verified, fitted model, with its contract attached.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from churnlib.deployment import ModelStore, load_model
    >>> model = DummyClassifier().fit([[0], [1]], [0, 1])
    >>> _ = ModelStore("memory://doctest/load").publish(model, alias="prod")
    >>> load_model("memory://doctest/load@prod")
    DummyClassifier()
    """
    store, ref = ModelStore.from_reference(
        reference,
        storage_options=storage_options,
        signing_key=signing_key,
        trusted_types=trusted_types,
        timeout=timeout,
    )
    return store.load(ref)
