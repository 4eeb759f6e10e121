"""Shared input checks and the base class of the uplift estimators (private)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from churnlib._core.labels import decode_labels
from churnlib._validation import validate_estimator_params
from churnlib.exceptions import DataValidationError, InvalidParameterError

__all__ = ["check_treatment", "default_classifier"]


def default_classifier() -> LogisticRegression:
    """Return the default base classifier: a plain logistic regression.

    Linear in the preprocessed features, fast on a million rows and persisted
    by skops without any trusted type.
    """
    return LogisticRegression(max_iter=1000)


def check_treatment(treatment: Any, n: int, *, caller: str) -> np.ndarray:
    """Return ``treatment`` as a bool vector of length ``n`` (offer made or not)."""
    if treatment is None:
        raise InvalidParameterError(
            f"{caller}.fit needs treatment: one 0/1 or bool value per customer "
            "saying whether the offer was made. Call fit(X, y, treatment=...) "
            "or, in a Pipeline named step 'uplift', "
            "pipeline.fit(X, y, uplift__treatment=...)."
        )
    if isinstance(treatment, pd.DataFrame):
        if treatment.shape[1] != 1:
            raise DataValidationError(
                f"{caller}: treatment must be one column, got {treatment.shape[1]}.",
                columns=treatment.columns,
            )
        treatment = treatment.iloc[:, 0]
    arr = np.asarray(
        treatment.to_numpy() if isinstance(treatment, pd.Series) else treatment
    )
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataValidationError(
            f"{caller}: treatment must have one value per row of X ({n}); got "
            f"shape {arr.shape}."
        )
    if arr.dtype == np.bool_:
        t = arr
    else:
        if arr.dtype.kind in "fc" and not np.isfinite(arr.astype(float)).all():
            raise DataValidationError(
                f"{caller}: treatment contains NaN; every customer must be "
                "marked offered (1) or not (0)."
            )
        values = pd.unique(arr)
        if not set(values.tolist()) <= {0, 1}:
            raise DataValidationError(
                f"{caller}: treatment must be 0/1 or bool (offer made or not); "
                f"got values such as {sorted(values.tolist(), key=repr)[:5]!r}."
            )
        t = arr.astype(bool)
    n_t = int(t.sum())
    if n_t == 0 or n_t == n:
        raise DataValidationError(
            f"{caller}: treatment must contain both offered and not-offered "
            f"customers to estimate an effect; got {n_t} offered of {n}."
        )
    return t


class _UpliftBase(BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Fit-time plumbing shared by the uplift estimators (private base class).

    Subclasses implement ``_fit(X, y, t, sample_weight)`` and
    ``_predict_uplift(X)``. The *uplift* is the churn probability the offer
    removes: ``P(churn | no offer) - P(churn | offer)``; target the highest
    uplift first.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def _fit(
        self, X: Any, y: np.ndarray, t: np.ndarray, sample_weight: Any
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_uplift(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        if isinstance(X, pd.DataFrame):
            # Frames go to the base estimators untouched (categorical dtypes
            # included); only the feature names and count are recorded.
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        return validate_data(self, X, reset=reset, accept_sparse=("csr", "csc"))

    def fit(
        self, X: Any, y: Any, treatment: Any = None, sample_weight: Any = None
    ) -> Any:
        """Fit the uplift model on a campaign: features, churn, offer.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Customer features (e.g. the output of ``ChurnPreprocessor``).
        y : array-like of shape (n_samples,)
            Churn labels: bool, 0/1, or two labels one of which is ``pos_label``.
        treatment : array-like of shape (n_samples,)
            Whether each customer received the offer (bool or 0/1). Required;
            in a Pipeline pass it as ``<step name>__treatment``.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the base estimators.

        Returns
        -------
        self
            The fitted estimator.
        """
        validate_estimator_params(self)
        name = type(self).__name__
        if y is None:
            raise InvalidParameterError(
                f"{name} requires y to be passed, but the target y is None. Pass "
                "the churn outcome of each customer."
            )
        X = self._validate_X(X, reset=True)
        n = X.shape[0]
        if n < 2:
            raise DataValidationError(
                f"{name} needs customers in both arms; got n_samples = {n}."
            )
        y_arr = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y)
        if y_arr.ndim != 1 or y_arr.shape[0] != n:
            raise DataValidationError(
                f"{name}: y must have one label per row of X ({n}); got shape "
                f"{y_arr.shape}."
            )
        t = check_treatment(treatment, n, caller=name)
        # the one label rule of every stage (refuses labels it cannot read)
        y_bool, rule = decode_labels(y_arr, pos_label=getattr(self, "pos_label", None))
        pos_label = rule.pos_label
        for arm, mask in (("offered", t), ("not offered", ~t)):
            churners = int(y_bool[mask].sum())
            if churners in (0, int(mask.sum())):
                raise DataValidationError(
                    f"{name}: the {arm} customers are all "
                    f"{'churners' if churners else 'non-churners'}; each arm needs "
                    "both outcomes to estimate churn with and without the offer."
                )
        self.pos_label_ = pos_label
        self.treatment_share_ = float(t.mean())
        self._fit(X, y_bool, t, sample_weight)
        return self

    def predict_uplift(self, X: Any) -> np.ndarray:
        """Estimated churn probability the offer removes, per customer.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Customer features.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``P(churn | no offer) - P(churn | offer)``: positive for customers
            the offer keeps (persuadables), negative for those it pushes away
            (sleeping dogs).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return np.asarray(self._predict_uplift(X), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Predict the uplift, as :meth:`predict_uplift` (for ``Pipeline.predict``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Customer features.

        Returns
        -------
        ndarray of shape (n_samples,)
            The estimated uplift.
        """
        return self.predict_uplift(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags


def fit_classifier(
    estimator: Any, X: Any, y: np.ndarray, sample_weight: np.ndarray | None
) -> Any:
    """Clone and fit a classifier; sample weights only when given."""
    model = clone(estimator)
    if sample_weight is None:
        return model.fit(X, y)
    return model.fit(X, y, sample_weight=sample_weight)


def churn_column(model: Any, X: Any) -> np.ndarray:
    """Probability of the ``True`` (churn) class from a model fitted on bool y."""
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    classes = list(model.classes_)
    return proba[:, classes.index(True)]


def rows(X: Any, mask: np.ndarray) -> Any:
    """Rows of an array, sparse matrix or DataFrame selected by a bool mask."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[np.flatnonzero(mask)]
    return X[mask]


def as_weight(sample_weight: Any, n: int, caller: str) -> np.ndarray | None:
    """Return validated sample weights, or None."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n or not np.isfinite(w).all() or (w < 0).any():
        raise DataValidationError(
            f"{caller}: sample_weight must hold {n} finite non-negative numbers."
        )
    if not w.sum() > 0:
        raise DataValidationError(
            f"{caller}: sample_weight is zero for every customer; give some "
            "customers a positive weight."
        )
    return w
