"""Reference fitting: what the monitor compares production with, decided once.

The reference is the data the model was validated on. From it the monitor
learns which columns are features (the model contract's features when the
model carries one; never identifiers or excluded columns), their dtypes, the
drift bins (:class:`DriftDetector`, one per segment value too), the reference
scores and labels, the calibration used by label-free estimates and the
reference performance (from rows the model did not fit on).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churnlib._core.contract import get_contract
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
)
from churnlib.monitoring._detector import DriftDetector
from churnlib.monitoring._performance import PerformanceSummary, bootstrap_sd
from churnlib.monitoring._summary import DriftSummary

__all__ = ["SCORE_FEATURE", "STRING", "Reference"]

#: Name of the model score in drift frames and alerts.
SCORE_FEATURE = "model_score"
# pyarrow-backed strings (pandas 3's default "str"; NA-aware on pandas 2 too)
STRING: Any = (
    "str" if int(pd.__version__.split(".")[0]) >= 3 else pd.StringDtype("pyarrow")
)
#: Largest share of reference rows that may be training rows.
MAX_TRAINING_OVERLAP = 0.01
#: Fewest reference rows of a segment value to monitor it separately.
MIN_SEGMENT_ROWS = 50


def check_columns(frame: pd.DataFrame, what: str) -> None:
    """Refuse duplicated or non-string column names, naming them."""
    names = list(frame.columns)
    not_str = [c for c in names if not isinstance(c, str)]
    if not_str:
        shown = not_str[:5]
        raise DataValidationError(
            f"{what} has column names that are not strings: {shown} (of type "
            f"{type(shown[0]).__name__}). Name every column, e.g. "
            "frame.columns = frame.columns.astype(str), or read the table with "
            "its header row.",
            columns=[str(c) for c in shown],
        )
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise DataValidationError(
            f"{what} has duplicated column names {dup}; each column must have a "
            "unique name. Rename or drop the copies.",
            columns=dup,
        )


def check_scores(scores: Any, n: int, what: str, pos: int = 1) -> np.ndarray:
    """One probability in [0, 1] per row (a 2-column predict_proba is accepted)."""
    arr = np.asarray(scores)
    if arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[:, pos]
    if arr.ndim != 1 or len(arr) != n:
        raise DataValidationError(
            f"{what} must hold one probability per row ({n}); got shape "
            f"{arr.shape}. Pass predict_proba(X)[:, 1]."
        )
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise DataValidationError(f"{what} must be numeric probabilities.") from err
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        raise DataValidationError(
            f"{what} must be probabilities in [0, 1] without missing values; "
            f"{int(bad.sum())} value(s) are not (first: {arr[bad][0]!r})."
        )
    return arr


def check_labels(y: Any, what: str, contract: Any = None) -> np.ndarray:
    """Booleans from bool / 0-1 labels, or raw labels through the contract."""
    s = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y)
    if s.isna().any():
        raise DataValidationError(f"{what} has missing labels; drop those rows.")
    values = s.to_numpy()
    if pd.api.types.is_bool_dtype(s):
        flags: np.ndarray = values.astype(bool)
        return flags
    try:
        num = values.astype(np.float64)
    except (TypeError, ValueError) as err:
        if contract is not None and contract.labels is not None:
            decoded: np.ndarray = np.asarray(contract.decode_labels(values), bool)
            return decoded
        raise DataValidationError(
            f"{what} must be booleans or 0/1; got values like {values[:3].tolist()}."
        ) from err
    if not np.isin(num, (0.0, 1.0)).all():
        raise DataValidationError(
            f"{what} must be booleans or 0/1; got values like "
            f"{sorted(set(num.tolist()))[:5]}."
        )
    out: np.ndarray = num.astype(bool)
    return out


def _positive_index(model: Any) -> int:
    try:
        from churnlib._core.model_facts import positive_index
    except ImportError:
        return 1
    index: int = positive_index(model)
    return index


def _clone(detector: DriftDetector, **params: Any) -> DriftDetector:
    from sklearn.base import clone

    cloned: DriftDetector = clone(detector)
    if params:
        cloned.set_params(**params)
    return cloned


class Reference:
    """Everything the monitor learns from the reference, once."""

    def __init__(
        self,
        reference: Any,
        *,
        model: Any,
        reference_scores: Any,
        target: Any,
        id_column: str | None,
        detector: DriftDetector | None,
        threshold: float | None,
        segments: Sequence[str] | None,
        max_segment_values: int,
        allow_training_overlap: bool,
    ) -> None:
        if not isinstance(reference, pd.DataFrame):
            raise DataValidationError(
                f"reference must be a pandas DataFrame; got {type(reference).__name__}."
            )
        check_columns(reference, "reference")
        if len(reference) < 2:
            raise DataValidationError(
                f"reference has {len(reference)} rows; at least 2 are needed."
            )
        self.model = model
        self.contract = None if model is None else get_contract(model)
        contract = self.contract
        if contract is not None:
            if contract.id_column is not None:
                id_column = contract.id_column
            if target is None and contract.target in reference.columns:
                target = contract.target
            if threshold is None:
                threshold = float(contract.threshold)
        self.threshold = 0.5 if threshold is None else float(threshold)
        self.id_column = id_column

        # ---- labels ---------------------------------------------------- #
        y_raw = None
        drop: list[str] = []
        if isinstance(target, str):
            if target not in reference.columns:
                raise DataValidationError(
                    f"target column {target!r} is not in reference (columns: "
                    f"{list(reference.columns)}).",
                    columns=[target],
                )
            y_raw = reference[target]
            drop.append(target)
        elif target is not None:
            y_raw = pd.Series(np.asarray(target))
            if len(y_raw) != len(reference):
                raise DataValidationError(
                    f"target has {len(y_raw)} values for {len(reference)} "
                    "reference rows."
                )
        if id_column is not None and id_column in reference.columns:
            drop.append(id_column)

        # ---- features -------------------------------------------------- #
        if contract is not None:
            # exactly the model's features: identifiers, excluded columns and
            # anything else in the table are never watched
            features = contract.prepare(reference, source="the reference")
            features = features.reset_index(drop=True)
        else:
            features = reference.drop(columns=drop).reset_index(drop=True)
        if features.shape[1] == 0:
            raise DataValidationError("reference has no feature columns.")
        reserved = [
            c for c in features.columns if c == SCORE_FEATURE or str(c).startswith("__")
        ]
        if reserved:
            raise DataValidationError(
                f"reference columns {reserved} use reserved names; rename them.",
                columns=reserved,
            )
        self.features = tuple(str(c) for c in features.columns)
        self.dtypes = features.dtypes
        normalized = self.normalize(features)

        # ---- trustworthy reference ------------------------------------- #
        self.training_overlap = float("nan")
        in_training = np.zeros(len(features), dtype=bool)
        if contract is not None and contract.row_hashes:
            self.training_overlap = float(contract.training_overlap(features))
            if self.training_overlap > MAX_TRAINING_OVERLAP:
                in_training = _training_rows(contract, features)
                message = (
                    f"{self.training_overlap:.0%} of the reference rows were "
                    "training rows of the model: its performance on them is "
                    "in-sample (too good), and every later chunk would look like a "
                    "drop. Pass held-out validation rows (e.g. TrainingResult's "
                    "validation split or the test part of train_test_split_churn) "
                    "as the reference."
                )
                if not allow_training_overlap:
                    raise DataValidationError(
                        message + " To monitor anyway, pass "
                        "allow_training_overlap=True: the training rows then only "
                        "serve as the drift reference, never for performance."
                    )
                warnings.warn(
                    message + f" Using the {int((~in_training).sum()):,} other rows "
                    "for the reference performance.",
                    DataQualityWarning,
                    stacklevel=4,
                )

        # ---- scores ---------------------------------------------------- #
        scores = None
        if reference_scores is not None:
            scores = check_scores(reference_scores, len(reference), "reference_scores")
        elif model is not None:
            scores = self.model_scores(
                features
                if contract is not None
                else reference.drop(columns=[c for c in drop if c != id_column])
            )
        self.has_scores = scores is not None

        # ---- drift reference ------------------------------------------ #
        self.segments = tuple(segments or ())
        for col in self.segments:
            if col not in self.features:
                raise DataValidationError(
                    f"segment column {col!r} is not a feature of the monitor "
                    f"(features: {list(self.features)}); segments must be "
                    "columns every logged batch has.",
                    columns=[col],
                )
        base = DriftDetector(random_state=0) if detector is None else detector
        ref_frame = normalized
        if scores is not None:
            ref_frame = ref_frame.assign(**{SCORE_FEATURE: scores})
        self.segment_values: dict[str, tuple[str, ...]] = {}
        for col in self.segments:
            values = ref_frame[col].astype(STRING)
            counts = values.value_counts(dropna=True)
            counts = counts[counts >= MIN_SEGMENT_ROWS]
            self.segment_values[col] = tuple(
                str(v) for v in counts.index[:max_segment_values]
            )
        n_family = 1 + sum(len(v) for v in self.segment_values.values())
        alpha = float(base.get_params()["alpha"]) / n_family
        self.detector = _clone(base, alpha=alpha)
        self.detector.fit(ref_frame)
        self.kinds = {
            **dict.fromkeys(self.detector.numeric_features_, "numeric"),
            **dict.fromkeys(self.detector.categorical_features_, "categorical"),
        }
        self.missing = missing_rates(self.detector.reference_stats_)

        # ---- performance reference ------------------------------------ #
        self.calibrator: Any = None
        self.metrics: dict[str, float] = {}
        y_ref = None
        if y_raw is not None:
            y_ref = check_labels(y_raw, "target", contract).astype(float)
        held_out = ~in_training
        self.scores = np.zeros(0) if scores is None else scores[held_out]
        self.y = None if y_ref is None else y_ref[held_out]
        self.calibrated = self.scores
        if scores is not None:
            if self.y is not None and len(np.unique(self.y)) == 2:
                from sklearn.isotonic import IsotonicRegression

                self.calibrator = IsotonicRegression(
                    y_min=0.0, y_max=1.0, out_of_bounds="clip"
                ).fit(self.scores, self.y)
            self.calibrated = self.calibrate(self.scores)
            perf = PerformanceSummary.from_arrays(
                self.scores, self.y, self.calibrated, self.threshold
            )
            self.metrics = perf.realized() if self.y is not None else perf.estimated()
            self.metrics.update(perf.observed())
            self.score_histogram = perf.hist
        else:
            self.score_histogram = np.zeros(1000, dtype=np.int64)
        self._bands: dict[int, dict[str, float]] = {}

        # ---- segments -------------------------------------------------- #
        self.segment_detectors: dict[tuple[str, str], DriftDetector] = {}
        self.segment_metrics: dict[tuple[str, str], dict[str, float]] = {}
        for col, values in self.segment_values.items():
            column = ref_frame[col].astype(STRING).to_numpy(dtype=object)
            for value in values:
                rows = column == value
                det = _clone(base, alpha=alpha)
                det.fit(ref_frame.loc[rows].reset_index(drop=True))
                self.segment_detectors[col, value] = det
                if scores is not None:
                    keep = rows[held_out]
                    perf = PerformanceSummary.from_arrays(
                        self.scores[keep],
                        None if self.y is None else self.y[keep],
                        self.calibrated[keep],
                        self.threshold,
                    )
                    m = perf.realized() if self.y is not None else perf.estimated()
                    self.segment_metrics[col, value] = m

    # ------------------------------------------------------------------ #
    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for label-free estimates."""
        if self.calibrator is None:
            return scores
        return np.asarray(self.calibrator.predict(scores), dtype=np.float64)

    def model_scores(self, X: pd.DataFrame) -> np.ndarray:
        """Churn probabilities of ``X`` from the model."""
        try:
            proba = self.model.predict_proba(X)
        except Exception as err:
            raise DataValidationError(
                f"model.predict_proba failed on the data: {type(err).__name__}: {err}"
            ) from err
        return check_scores(
            proba, len(X), "model.predict_proba output", _positive_index(self.model)
        )

    def normalize(self, X: pd.DataFrame) -> pd.DataFrame:
        """Features with stable dtypes: float64 numerics, strings or bools."""
        return pd.DataFrame(self.normalized_columns(X), index=X.index)

    def normalized_columns(self, X: pd.DataFrame) -> dict[str, Any]:
        """Return the columns of :meth:`normalize`, as arrays by feature name."""
        kinds = self.__dict__.get("_kinds")
        if kinds is None:  # once per reference (and for ones pickled before)
            kinds = self._kinds = {
                name: _column_kind(self.dtypes[name]) for name in self.features
            }
        out: dict[str, Any] = {}
        for name in self.features:
            col = X[name]
            kind = kinds[name]
            if kind == "number":
                dtype = col.dtype
                if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
                    out[name] = col.to_numpy().astype(np.float64)  # a copy
                    continue
                try:
                    numbers = pd.to_numeric(col)
                    out[name] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as err:
                    raise DataValidationError(
                        f"Column {name!r} is numeric in the reference but holds "
                        f"non-numeric values (dtype {col.dtype}); fix the column.",
                        columns=[name],
                    ) from err
            elif kind == "bool":
                out[name] = col.array  # positional, like every other column
            elif isinstance(col.dtype, pd.CategoricalDtype):
                # a few category labels converted, then taken by code: the
                # same strings as col.astype(STRING), without a Python object
                # per row (a logged batch is mostly prepared categoricals)
                labels = _string_labels(col.dtype)
                out[name] = labels.take(col.cat.codes.to_numpy(), allow_fill=True)
            else:
                out[name] = col.astype(STRING).array
        return out

    def band(self, size: int) -> dict[str, float]:
        """Return each reference metric's standard deviation at ``size`` rows."""
        if size not in self._bands:
            self._bands[size] = bootstrap_sd(
                self.scores, self.y, self.calibrated, self.threshold, size
            )
        return self._bands[size]

    def band_scale(
        self, sd0: dict[str, float], boot_n: int, n: int
    ) -> dict[str, float]:
        """Scale bootstrap standard deviations from ``boot_n`` rows to ``n``."""
        return {k: v * math.sqrt(boot_n / max(n, 1)) for k, v in sd0.items()}


def _column_kind(dtype: Any) -> str:
    """How :meth:`Reference.normalize` stores a column: number, bool or text."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"


#: Category labels as strings, per categorical dtype (prepared frames share
#: one dtype object per feature, so this holds a few entries).
_LABELS: dict[int, tuple[Any, Any]] = {}


def _string_labels(dtype: pd.CategoricalDtype) -> Any:
    """Return the categories of ``dtype`` as a string array (``astype(STRING)``)."""
    hit = _LABELS.get(id(dtype))
    if hit is not None and hit[0] is dtype:
        return hit[1]
    labels = pd.Series(dtype.categories).astype(STRING).array
    if len(_LABELS) > 256:  # dtypes that come and go (unprepared frames)
        _LABELS.clear()
    _LABELS[id(dtype)] = (dtype, labels)
    return labels


def missing_rates(summary: DriftSummary) -> dict[str, float]:
    """Missing share per feature of a summary."""
    n = max(summary.n_rows, 1)
    rates = dict(
        zip(summary.numeric_features, summary.numeric_missing / n, strict=True)
    )
    rates.update(
        zip(summary.categorical_features, summary.categorical_missing / n, strict=True)
    )
    return rates


def _training_rows(contract: Any, features: pd.DataFrame) -> np.ndarray:
    """Rows of ``features`` known to be training rows (from the contract sketch)."""
    import base64

    try:
        from churnlib._core.contract import row_hashes
    except ImportError:  # pragma: no cover
        return np.zeros(len(features), dtype=bool)
    known = np.frombuffer(base64.b64decode(contract.row_hashes), dtype=np.uint32)
    hashes = row_hashes(contract.prepare(features), contract)
    mask: np.ndarray = np.isin(hashes, known)
    return mask


def check_segments(segments: Any) -> tuple[str, ...]:
    """Validate the ``segments`` parameter."""
    if segments is None:
        return ()
    if isinstance(segments, str):
        segments = [segments]
    out = tuple(segments)
    if not all(isinstance(s, str) for s in out) or len(set(out)) != len(out):
        raise InvalidParameterError(
            "The 'segments' parameter of ChurnMonitor must be a list of distinct "
            f"column names. Got {segments!r} instead."
        )
    return out
