"""The version manifest: what it holds, how it is built, parsed and verified.

``versions/<id>/manifest.json`` lists the SHA-256 and size of every file of a
version, with the metrics, metadata, the model contract, the feature schema
and library versions. It is written last (a version without one does not
exist) and, in a signed store, carries an HMAC-SHA256 over all of it.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from churnlib.deployment._mlflow_format import MODEL_FILE, library_versions
from churnlib.deployment._security import sign, verify
from churnlib.exceptions import IntegrityError, InvalidParameterError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "build_manifest",
    "check_file",
    "check_signature",
    "clean_metadata",
    "clean_metrics",
    "feature_schema",
    "parse_manifest",
    "safe_file_names",
]

MANIFEST = "manifest.json"
FORMAT = "churnlib.model-store/1"


def clean_metrics(metrics: Any) -> dict[str, float]:
    """Validate ``metrics``: a mapping of str to finite numbers."""
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise InvalidParameterError(
            "The 'metrics' parameter of ModelStore.publish must be a mapping of "
            f"str to float or None. Got {type(metrics).__name__} instead."
        )
    out = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or isinstance(value, bool):
            value_ok = False
        else:
            try:
                value = float(value)
                value_ok = value == value and abs(value) != float("inf")
            except (TypeError, ValueError):
                value_ok = False
        if not value_ok:
            raise InvalidParameterError(
                f"Metric {name!r} must be a finite number with a str name; got "
                f"{value!r}. Drop it or replace it with a finite value."
            )
        out[name] = value
    return out


def clean_metadata(metadata: Any) -> dict[str, Any]:
    """Validate ``metadata``: a JSON-serializable mapping."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidParameterError(
            "The 'metadata' parameter of ModelStore.publish must be a mapping or "
            f"None. Got {type(metadata).__name__} instead."
        )
    out = {}
    for key, value in metadata.items():
        try:
            out[str(key)] = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as err:
            raise InvalidParameterError(
                f"Metadata {key!r} is not JSON-serializable ({err}); store plain "
                "strings, numbers, booleans, lists or dicts."
            ) from err
    return out


def feature_schema(model: Any, input_example: Any) -> dict[str, Any]:
    """Input column names and dtypes (dtypes only when an example is given)."""
    if input_example is not None:
        import pandas as pd

        if not isinstance(input_example, pd.DataFrame):
            module = type(input_example).__module__.split(".")[0]
            hint = (
                " Convert it first: input_example.to_pandas()."
                if module in ("polars", "pyarrow")
                else ""
            )
            raise InvalidParameterError(
                "The 'input_example' parameter of ModelStore.publish must be a "
                f"pandas DataFrame or None. Got {module}."
                f"{type(input_example).__name__} instead.{hint}"
            )
        return {
            "names": [str(c) for c in input_example.columns],
            "dtypes": {str(c): str(t) for c, t in input_example.dtypes.items()},
        }
    names = getattr(model, "feature_names_in_", None)
    n = getattr(model, "n_features_in_", None)
    return {
        "names": None if names is None else [str(c) for c in names],
        "n_features": None if n is None else int(n),
        "dtypes": None,
    }


def build_manifest(
    *,
    version: str,
    created_at: datetime,
    run_id: str | None,
    trusted_types: list[str],
    entries: Mapping[str, Mapping[str, Any]],
    metrics: Mapping[str, float],
    metadata: Mapping[str, Any],
    features: Mapping[str, Any],
    contract: Mapping[str, Any] | None,
    estimator: str,
    key: bytes | None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Build the manifest of a new version and its bytes (signed with ``key``)."""
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": version,
        "created_at": created_at.isoformat(),
        "run_id": run_id,
        "model_file": MODEL_FILE,
        "serialization": "skops",
        "trusted_types": list(trusted_types),
        "files": {k: dict(v) for k, v in entries.items()},
        "metrics": dict(metrics),
        "metadata": dict(metadata),
        "features": dict(features),
        "contract": None if contract is None else dict(contract),
        "estimator": estimator,
        "libraries": library_versions(),
        **(extra or {}),
    }
    if key is not None:
        manifest["signature"] = {
            "algorithm": "hmac-sha256",
            "value": sign(manifest, key),
        }
    return manifest, json.dumps(manifest, indent=2, sort_keys=True).encode()


def parse_manifest(raw: bytes, version: str, where: str) -> dict[str, Any]:
    """Parse manifest bytes of ``version``; IntegrityError if not one."""
    try:
        manifest = json.loads(raw)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("not a churnlib manifest")
    except ValueError as err:
        raise IntegrityError(
            f"The manifest {where} is not a valid churnlib manifest ({err}); the "
            "version is damaged: publish it again.",
            url=where,
        ) from None
    if manifest.get("version") != version:
        raise IntegrityError(
            f"The manifest {where} belongs to version {manifest.get('version')!r}, "
            f"not {version!r}: it was copied or tampered with.",
            url=where,
        )
    return manifest


def check_signature(manifest: Mapping[str, Any], key: bytes | None, where: str) -> None:
    """With a key, refuse an unsigned or wrongly signed manifest."""
    if key is None:
        return
    version = manifest.get("version")
    if "signature" not in manifest:
        raise IntegrityError(
            f"Version {version} ({where}) is not signed, and this store requires "
            "signatures (a signing key is set). Publish it again with the signing "
            "key.",
            url=where,
        )
    if not verify(manifest, key):
        raise IntegrityError(
            f"The signature of {where} does not match: the manifest was altered "
            "or signed with another key. Refusing to use it.",
            url=where,
        )


def safe_file_names(manifest: Mapping[str, Any], where: str) -> list[str]:
    """List the manifest's file names, refusing a missing model or unsafe paths."""
    files = manifest.get("files")
    if not isinstance(files, dict) or manifest.get("model_file") not in files:
        raise IntegrityError(
            f"The manifest {where} does not list the model file.", url=where
        )
    for name in files:
        norm = posixpath.normpath(str(name))
        if name.startswith("/") or norm != name or norm.startswith(".."):
            raise IntegrityError(
                f"The manifest {where} lists an unsafe path {name!r}; refusing to "
                "load it.",
                url=where,
            )
    return list(files)


def check_file(expected: Any, blob: bytes, where: str) -> None:
    """Refuse ``blob`` unless its size and SHA-256 match the manifest entry."""
    if not isinstance(expected, Mapping) or (
        len(blob) != expected.get("size")
        or hashlib.sha256(blob).hexdigest() != expected.get("sha256")
    ):
        raise IntegrityError(
            f"The file {where} does not match its manifest (SHA-256 or size "
            "differs): it was altered or damaged. Refusing to load it.",
            url=where,
        )
