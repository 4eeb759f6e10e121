"""Uplift models: two-model (T-learner), X-learner and class transformation."""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from churnlib._validation import Interval
from churnlib.exceptions import InvalidParameterError
from churnlib.uplift._base import (
    _UpliftBase,
    as_weight,
    churn_column,
    default_classifier,
    fit_classifier,
    rows,
)

__all__ = ["ClassTransformationUplift", "TwoModelUplift", "XLearnerUplift"]


class _Classifier:
    """Constraint: an object with ``fit`` and ``predict_proba``."""

    def is_satisfied_by(self, value: Any) -> bool:
        return callable(getattr(value, "fit", None)) and callable(
            getattr(value, "predict_proba", None)
        )

    def __str__(self) -> str:
        return "a classifier implementing 'fit' and 'predict_proba'"


class _Regressor:
    """Constraint: an object with ``fit`` and ``predict``."""

    def is_satisfied_by(self, value: Any) -> bool:
        return callable(getattr(value, "fit", None)) and callable(
            getattr(value, "predict", None)
        )

    def __str__(self) -> str:
        return "a regressor implementing 'fit' and 'predict'"


_LABEL = [None, str, int, bool]


class _OutcomeModels(_UpliftBase):
    """Shared part of the models with one churn model per arm."""

    estimator: Any
    estimator_treated: Any

    def _fit_arms(
        self, X: Any, y: np.ndarray, t: np.ndarray, sample_weight: Any
    ) -> None:
        base = default_classifier() if self.estimator is None else self.estimator
        treated = base if self.estimator_treated is None else self.estimator_treated
        w = as_weight(sample_weight, y.shape[0], type(self).__name__)
        self.estimator_control_ = fit_classifier(
            base, rows(X, ~t), y[~t], None if w is None else w[~t]
        )
        self.estimator_treated_ = fit_classifier(
            treated, rows(X, t), y[t], None if w is None else w[t]
        )

    def predict_outcomes(self, X: Any) -> np.ndarray:
        """Predicted churn probability without and with the offer.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Customer features.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Column 0: ``P(churn | no offer)`` (the churn risk if nothing is
            done); column 1: ``P(churn | offer)``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return np.column_stack(
            (
                churn_column(self.estimator_control_, X),
                churn_column(self.estimator_treated_, X),
            )
        )


class TwoModelUplift(_OutcomeModels):
    """Two-model (T-learner) uplift: one churn model per arm, subtract.

    Fits a clone of ``estimator`` on the customers who were not offered the
    incentive and another on those who were; the uplift of a customer is the
    difference of the two predicted churn probabilities. Simple, works with
    any probabilistic classifier, and gives the churn risk without the offer
    for free (:meth:`predict_outcomes`). Its weakness: the two models' errors
    do not cancel, so with small arms the difference is noisy.

    Parameters
    ----------
    estimator : classifier, default=None
        Base classifier with ``predict_proba``, cloned for each arm. ``None``
        means ``LogisticRegression(max_iter=1000)``.
    estimator_treated : classifier, default=None
        A different classifier for the offered arm; ``None`` uses
        ``estimator``.
    pos_label : str, int or bool, default=None
        The label meaning "churned" when ``y`` is not bool or 0/1.

    Attributes
    ----------
    estimator_control_ : classifier
        Churn model of the customers not offered the incentive.
    estimator_treated_ : classifier
        Churn model of the customers offered the incentive.
    pos_label_ : object
        The churn label used.
    treatment_share_ : float
        Share of offered customers in the training data.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when ``X`` was a DataFrame.

    See Also
    --------
    XLearnerUplift : Corrects the two models with imputed effects.
    ClassTransformationUplift : One model on a transformed label.

    Examples
    --------
    >>> from churnlib.data import generate_campaign
    >>> from churnlib.uplift import TwoModelUplift
    >>> df = generate_campaign(2_000, random_state=0)
    >>> X = df[["tenure_months", "monthly_charges", "support_calls"]]
    >>> model = TwoModelUplift().fit(X, df["churned"], treatment=df["offer"])
    >>> model.predict_uplift(X.head(3)).round(3)
    array([0.237, 0.021, 0.017])
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "estimator": [None, _Classifier()],
        "estimator_treated": [None, _Classifier()],
        "pos_label": _LABEL,
    }

    # Listed in this class so the API reference documents them here.
    fit = _UpliftBase.fit
    predict_uplift = _UpliftBase.predict_uplift
    predict = _UpliftBase.predict
    predict_outcomes = _OutcomeModels.predict_outcomes

    def __init__(
        self,
        estimator: Any = None,
        *,
        estimator_treated: Any = None,
        pos_label: Any = None,
    ) -> None:
        self.estimator = estimator
        self.estimator_treated = estimator_treated
        self.pos_label = pos_label

    def _fit(self, X: Any, y: np.ndarray, t: np.ndarray, sample_weight: Any) -> None:
        self._fit_arms(X, y, t, sample_weight)

    def _predict_uplift(self, X: Any) -> np.ndarray:
        out: np.ndarray = churn_column(self.estimator_control_, X) - churn_column(
            self.estimator_treated_, X
        )
        return out


class XLearnerUplift(_OutcomeModels):
    """X-learner uplift (Künzel et al., 2019): two models, then imputed effects.

    Stage 1 fits one churn model per arm, as :class:`TwoModelUplift`. Stage 2
    imputes each customer's effect from the *other* arm's model -- for an
    offered customer ``P(churn | no offer) - churned``, for a customer not
    offered ``churned - P(churn | offer)`` -- and fits a regressor per arm on
    those effects. The uplift blends the two effect models with the offer
    propensity ``g``: ``g * tau_control(x) + (1 - g) * tau_treated(x)``, so
    the model trained on the larger arm gets the larger weight.

    Parameters
    ----------
    estimator : classifier, default=None
        Stage-1 churn classifier, cloned per arm. ``None`` means
        ``LogisticRegression(max_iter=1000)``.
    effect_estimator : regressor, default=None
        Stage-2 regressor of the imputed effects, cloned per arm. ``None``
        means ``Ridge(alpha=1.0)``.
    estimator_treated : classifier, default=None
        A different stage-1 classifier for the offered arm.
    propensity : float in (0, 1), default=None
        Probability of being offered (a randomised campaign's share).
        ``None`` uses the share of offered customers in the training data.
    pos_label : str, int or bool, default=None
        The label meaning "churned" when ``y`` is not bool or 0/1.

    Attributes
    ----------
    estimator_control_, estimator_treated_ : classifier
        Stage-1 churn models per arm.
    effect_control_, effect_treated_ : regressor
        Stage-2 effect models fitted on each arm's imputed effects.
    propensity_ : float
        The propensity used to blend the effect models.
    pos_label_ : object
        The churn label used.
    treatment_share_ : float
        Share of offered customers in the training data.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when ``X`` was a DataFrame.

    See Also
    --------
    TwoModelUplift : Stage 1 alone.

    Examples
    --------
    >>> from churnlib.data import generate_campaign
    >>> from churnlib.uplift import XLearnerUplift
    >>> df = generate_campaign(2_000, random_state=0)
    >>> X = df[["tenure_months", "monthly_charges", "support_calls"]]
    >>> model = XLearnerUplift().fit(X, df["churned"], treatment=df["offer"])
    >>> model.predict_uplift(X.head(3)).round(3)
    array([0.194, 0.037, 0.042])
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "estimator": [None, _Classifier()],
        "effect_estimator": [None, _Regressor()],
        "estimator_treated": [None, _Classifier()],
        "propensity": [None, Interval(Real, 0, 1, closed="neither")],
        "pos_label": _LABEL,
    }

    # Listed in this class so the API reference documents them here.
    fit = _UpliftBase.fit
    predict_uplift = _UpliftBase.predict_uplift
    predict = _UpliftBase.predict
    predict_outcomes = _OutcomeModels.predict_outcomes

    def __init__(
        self,
        estimator: Any = None,
        *,
        effect_estimator: Any = None,
        estimator_treated: Any = None,
        propensity: float | None = None,
        pos_label: Any = None,
    ) -> None:
        self.estimator = estimator
        self.effect_estimator = effect_estimator
        self.estimator_treated = estimator_treated
        self.propensity = propensity
        self.pos_label = pos_label

    def _fit(self, X: Any, y: np.ndarray, t: np.ndarray, sample_weight: Any) -> None:
        self._fit_arms(X, y, t, sample_weight)
        w = as_weight(sample_weight, y.shape[0], type(self).__name__)
        X_t, X_c = rows(X, t), rows(X, ~t)
        d_treated = churn_column(self.estimator_control_, X_t) - y[t]
        d_control = y[~t] - churn_column(self.estimator_treated_, X_c)
        reg = (
            Ridge(alpha=1.0) if self.effect_estimator is None else self.effect_estimator
        )
        self.effect_treated_ = fit_classifier(
            reg, X_t, d_treated, None if w is None else w[t]
        )
        self.effect_control_ = fit_classifier(
            reg, X_c, d_control, None if w is None else w[~t]
        )
        share = float(t.mean()) if w is None else float(w[t].sum() / w.sum())
        self.propensity_ = share if self.propensity is None else float(self.propensity)

    def _predict_uplift(self, X: Any) -> np.ndarray:
        g = self.propensity_
        tau_c = np.asarray(self.effect_control_.predict(X), dtype=np.float64)
        tau_t = np.asarray(self.effect_treated_.predict(X), dtype=np.float64)
        out: np.ndarray = g * tau_c + (1.0 - g) * tau_t
        return out


class ClassTransformationUplift(_UpliftBase):
    """Class-transformation uplift (Jaskowski and Jaroszewicz, 2012): one model.

    Relabels every customer with ``z = 1`` when the outcome is the one the
    offer aims at in their arm -- *offered and stayed* or *not offered and
    churned* -- and fits one classifier on ``z``, with sample weights that give
    both arms the same total weight. Then ``P(z = 1 | x) = (1 + uplift) / 2``,
    so ``uplift = 2 P(z = 1 | x) - 1``. One model learns the effect directly
    (its errors are not the difference of two models'), which often ranks
    better than two models on noisy campaigns.

    Parameters
    ----------
    estimator : classifier, default=None
        Classifier with ``predict_proba`` (and ``sample_weight`` in ``fit``
        when the arms differ in size). ``None`` means
        ``LogisticRegression(max_iter=1000)``.
    pos_label : str, int or bool, default=None
        The label meaning "churned" when ``y`` is not bool or 0/1.

    Attributes
    ----------
    estimator_ : classifier
        The classifier fitted on the transformed label.
    pos_label_ : object
        The churn label used.
    treatment_share_ : float
        Share of offered customers in the training data.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when ``X`` was a DataFrame.

    Examples
    --------
    >>> from churnlib.data import generate_campaign
    >>> from churnlib.uplift import ClassTransformationUplift
    >>> df = generate_campaign(2_000, random_state=0)
    >>> X = df[["tenure_months", "monthly_charges", "support_calls"]]
    >>> model = ClassTransformationUplift().fit(X, df["churned"], treatment=df["offer"])
    >>> model.predict_uplift(X.head(3)).round(3)
    array([0.206, 0.01 , 0.017])
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "estimator": [None, _Classifier()],
        "pos_label": _LABEL,
    }

    # Listed in this class so the API reference documents them here.
    fit = _UpliftBase.fit
    predict_uplift = _UpliftBase.predict_uplift
    predict = _UpliftBase.predict

    def __init__(self, estimator: Any = None, *, pos_label: Any = None) -> None:
        self.estimator = estimator
        self.pos_label = pos_label

    def _fit(self, X: Any, y: np.ndarray, t: np.ndarray, sample_weight: Any) -> None:
        base = default_classifier() if self.estimator is None else self.estimator
        z = np.where(t, ~y, y)
        w = as_weight(sample_weight, y.shape[0], type(self).__name__)
        # The offered share by weight, so weights act as repeated rows.
        share = float(t.mean()) if w is None else float(w[t].sum() / w.sum())
        balance = np.where(t, 0.5 / share, 0.5 / (1.0 - share))
        weight = balance if w is None else balance * w
        if not has_fit_parameter(base, "sample_weight"):
            if w is not None or abs(share - 0.5) > 1e-12:
                raise InvalidParameterError(
                    f"ClassTransformationUplift: {type(base).__name__}.fit takes no "
                    f"sample_weight, but the arms are unbalanced ({share:.1%} "
                    "offered) and need reweighting. Use a classifier that accepts "
                    "sample_weight or a 50/50 campaign."
                )
            self.estimator_ = clone(base).fit(X, z)
        else:
            self.estimator_ = clone(base).fit(X, z, sample_weight=weight)

    def _predict_uplift(self, X: Any) -> np.ndarray:
        out: np.ndarray = 2.0 * churn_column(self.estimator_, X) - 1.0
        return out
