"""Secrets hygiene, trusted types and signatures for the model store.

Three small jobs, kept together because they are what stands between a model
file someone else wrote and code running in this process:

- :func:`secret_values` and :func:`redact` keep credentials out of messages,
  manifests and logs;
- :data:`TRUSTED_TYPES` and :func:`trusted_types_for` decide which types a skops
  file may contain (never from a list read from the artifact itself);
- :func:`sign` and :func:`verify` compute and check the manifest's HMAC-SHA256.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import importlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "TRUSTED_TYPES",
    "canonical_json",
    "load_trusted",
    "redact",
    "secret_values",
    "sign",
    "trusted_types_for",
    "untrusted_types",
    "verify",
]

#: Types churnlib trusts inside a skops file, beyond skops' own defaults
#: (scikit-learn estimators, numpy arrays and builtins). Each one is plain data
#: or a scikit-learn internal needed to rebuild a fitted model.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # churnlib's own plain-data pieces of a fitted ChurnPreprocessor (its
        # estimators are trusted by _is_churnlib_estimator below)
        "churnlib.data._schema.ChurnSchema",
        "churnlib.features._preprocessor.feature_name",
        # the objective of ChurnTrainer(threshold={"tp": ..., "fp": ...})
        "churnlib.training._trainer._campaign_gain",
        "numpy.dtype",
        # a fitted SplineTransformer (the default model's spline logistic
        # candidate): B-spline knots and coefficients, and the array
        # conversion function scipy stores with them
        "scipy._lib.array_api_compat.numpy._aliases.asarray",
        "scipy.interpolate._bsplines.BSpline",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.compose._column_transformer.make_column_selector",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.feature_selection._univariate_selection.chi2",
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.mutual_info_classif",
        # pure metric functions behind TunedThresholdClassifierCV(scoring=...)
        "sklearn.metrics._classification.accuracy_score",
        "sklearn.metrics._classification.balanced_accuracy_score",
        "sklearn.metrics._classification.f1_score",
        "sklearn.metrics._classification.fbeta_score",
        "sklearn.metrics._classification.matthews_corrcoef",
        "sklearn.metrics._classification.precision_score",
        "sklearn.metrics._classification.recall_score",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._scorer._CurveScorer",
        "sklearn.metrics._scorer._Scorer",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.tree._tree.Tree",
        "sklearn.utils._bunch.Bunch",
        "sklearn.utils._metadata_requests.MetadataRequest",
        "sklearn.utils._metadata_requests.MethodMetadataRequest",
    }
)

_SECRET_KEY_RE = re.compile(
    r"secret|password|passwd|token|credential|connection_string|account_key|"
    r"sas|key|signature|auth",
    re.IGNORECASE,
)
_MIN_SECRET_LEN = 6


def _is_churnlib_estimator(name: str) -> bool:
    """Tell whether ``name`` is a churnlib class that is a scikit-learn estimator.

    The module is imported only when it belongs to churnlib itself, so a
    crafted type name cannot make this process import anything else.
    """
    module_name, _, attr = name.rpartition(".")
    if not module_name.startswith("churnlib.") or not attr.isidentifier():
        return False
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    obj = getattr(module, attr, None)
    if not isinstance(obj, type):
        return False
    from sklearn.base import BaseEstimator

    return issubclass(obj, BaseEstimator)


def trusted_types_for(
    untrusted: Iterable[str], extra: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Split the types skops does not trust by default into (accepted, refused).

    Parameters
    ----------
    untrusted : iterable of str
        Output of :func:`skops.io.get_untrusted_types` for the file.
    extra : iterable of str, default=()
        Additional type names the *caller's code* trusts.

    Returns
    -------
    accepted, refused : list of str
        ``accepted`` goes to ``skops.io.loads(trusted=...)``; a non-empty
        ``refused`` means the file must not be loaded.
    """
    allowed = TRUSTED_TYPES | frozenset(extra)
    accepted, refused = [], []
    for name in sorted(set(untrusted)):
        if name in allowed or _is_churnlib_estimator(name):
            accepted.append(name)
        else:
            refused.append(name)
    return accepted, refused


def load_trusted(candidates: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Build the ``trusted=`` list used to load a model.

    It holds churnlib's types, ``extra``, and the churnlib estimators among
    ``candidates``. ``candidates`` may come from an artifact: each one is kept
    only if it names a scikit-learn estimator defined in churnlib, so the
    artifact cannot widen what is trusted.
    """
    churnlib_types = {c for c in candidates if _is_churnlib_estimator(str(c))}
    return sorted(TRUSTED_TYPES | frozenset(extra) | churnlib_types)


def untrusted_types(data: bytes) -> list[str]:
    """Like :func:`skops.io.get_untrusted_types`, without reading array payloads.

    Only for bytes this process just produced with :func:`skops.io.dumps`: the
    type audit needs the schema, not the arrays, which for a large forest are
    most of the cost. Falls back to the public function if skops' internals
    change.
    """
    import skops.io as sio

    try:
        from zipfile import ZipFile

        from skops.io._audit import get_tree
        from skops.io._utils import read_schema

        class _NoPayload:
            def read(self, name: str) -> bytes:
                return b""

        with ZipFile(io.BytesIO(data)) as zip_file:
            schema, context = read_schema(zip_file)
            context = dataclasses.replace(context, src=_NoPayload())
            tree = get_tree(schema, load_context=context, trusted=None)
            return sorted(tree.get_unsafe_set())
    except Exception:  # pragma: no cover - depends on skops internals
        return list(sio.get_untrusted_types(data=data))


def secret_values(*sources: Any) -> frozenset[str]:
    """Every credential-looking string inside ``sources`` (nested mappings).

    Values under keys that look like credentials (``secret``, ``token``,
    ``key``, ``password``, ``connection_string``...) are collected, and so are
    the ``Key=Value`` parts of connection strings. Plain strings and bytes
    given directly (a signing key) count too.
    """
    found: set[str] = set()

    def add(value: str) -> None:
        if len(value) >= _MIN_SECRET_LEN:
            found.add(value)
        for part in value.split(";"):
            k, sep, v = part.partition("=")
            if sep and _SECRET_KEY_RE.search(k) and len(v) >= _MIN_SECRET_LEN:
                found.add(v)

    def walk(obj: Any, sensitive: bool) -> None:
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, sensitive or bool(_SECRET_KEY_RE.search(str(k))))
        elif isinstance(obj, list | tuple | set | frozenset):
            for v in obj:
                walk(v, sensitive)
        elif isinstance(obj, bytes) and sensitive:
            with contextlib.suppress(UnicodeDecodeError):
                add(obj.decode())
        elif isinstance(obj, str) and sensitive:
            add(obj)

    for source in sources:
        walk(source, sensitive=not isinstance(source, Mapping))
    return frozenset(found)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` with ``***`` (longest first)."""
    for value in sorted(secrets, key=len, reverse=True):
        if value:
            text = text.replace(value, "***")
    return text


def canonical_json(obj: Any) -> bytes:
    """Serialize ``obj`` as signed: sorted keys, no whitespace, ASCII."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def sign(manifest: Mapping[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) of the manifest without its ``signature`` field."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return hmac.new(key, canonical_json(body), hashlib.sha256).hexdigest()


def verify(manifest: Mapping[str, Any], key: bytes) -> bool:
    """Whether the manifest carries a valid HMAC-SHA256 signature for ``key``."""
    signature = manifest.get("signature")
    if not isinstance(signature, Mapping):
        return False
    if signature.get("algorithm") != "hmac-sha256":
        return False
    value = signature.get("value")
    if not isinstance(value, str):
        return False
    return hmac.compare_digest(value, sign(manifest, key))
