"""What a retention campaign is worth: EMPC, per-customer value, uplift profit.

- :func:`expected_maximum_profit` / :func:`empc_score`: the expected maximum
  profit measure for churn (EMPC) of Verbraken, Verbeke and Baesens (2013),
  with the acceptance rate of the offer drawn from a ``Beta(alpha, beta)``
  distribution, computed exactly on the ROC convex hull.
- :func:`value_profit_curve`: the campaign profit curve of
  :func:`~churnlib.evaluation.expected_campaign_profit` with a value per
  customer (an array or a callable of the customer table).
- :func:`max_profit_uplift`: the most profitable campaign along an *uplift*
  ranking, measured on a randomised campaign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betainc

from churnlib._validation import Interval, validate_params
from churnlib.evaluation._checks import check_binary_scores, check_scores
from churnlib.evaluation._metrics import (
    CampaignEconomics,
    CampaignProfit,
    _ranked_counts,
)
from churnlib.evaluation._uplift import _arms
from churnlib.exceptions import DataValidationError

__all__ = [
    "ExpectedMaximumProfit",
    "UpliftProfit",
    "customer_profit",
    "empc_score",
    "expected_maximum_profit",
    "max_profit_uplift",
    "value_profit_curve",
]

_POSITIVE = [Interval(Real, 0, None, closed="neither")]
_NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedMaximumProfit:
    """Result of :func:`expected_maximum_profit`.

    Attributes
    ----------
    value : float
        EMPC: expected maximum profit per customer, in the currency of
        ``clv``.
    fraction : float
        Expected share of customers the optimal campaign contacts
        (``E[eta*(gamma)]`` over the acceptance distribution).
    threshold : float
        Churn-score threshold whose campaign size is closest to ``fraction``:
        contact customers scoring ``>= threshold``.
    hull_fpr, hull_tpr : ndarray
        Vertices of the ROC convex hull (false and true positive rates).
    acceptance_bounds : ndarray
        Acceptance rates where the optimal hull vertex changes
        (``len(hull_fpr) - 1`` values, clipped to [0, 1]).
    """

    value: float
    fraction: float
    threshold: float
    hull_fpr: np.ndarray
    hull_tpr: np.ndarray
    acceptance_bounds: np.ndarray


def _roc_hull(
    tp: np.ndarray, fp: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-left ROC convex hull: (fpr, tpr, threshold) at its vertices.

    Vectorised: scipy's Qhull on the ROC points plus the corner (1, 0), which
    makes the point set two-dimensional; the hull's vertices other than the
    corner form the upper chain from (0, 0) to (1, 1).
    """
    from scipy.spatial import ConvexHull

    fpr = np.concatenate(([0.0], fp / fp[-1]))
    tpr = np.concatenate(([0.0], tp / tp[-1]))
    thr = np.concatenate(([np.inf], thresholds))
    points = np.column_stack((np.append(fpr, 1.0), np.append(tpr, 0.0)))
    hull = ConvexHull(points)
    idx = np.asarray(hull.vertices)
    idx = idx[idx < fpr.shape[0]]  # drop the corner
    # Keep the upper chain only: points at or above the diagonal chord from
    # (0, 0) to (1, 1) -- those on the bottom/right edges (tpr == 0 with fpr >
    # 0, or fpr == 1 with tpr < 1) belong to the lower chain.
    upper = (tpr[idx] >= fpr[idx] - 1e-15) | (idx == 0) | (idx == fpr.shape[0] - 1)
    idx = np.sort(idx[upper])
    if idx[0] != 0:
        idx = np.concatenate(([0], idx))
    if idx[-1] != fpr.shape[0] - 1:
        idx = np.append(idx, fpr.shape[0] - 1)
    return fpr[idx], tpr[idx], thr[idx]


def expected_maximum_profit(
    y_true: Any,
    y_score: Any,
    *,
    alpha: float = 6.0,
    beta: float = 14.0,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    pos_label: Any = None,
) -> ExpectedMaximumProfit:
    """Compute the expected maximum profit (EMPC), its fraction and threshold.

    A campaign contacts the customers scoring above a threshold. A contacted
    churner accepts the offer with probability ``gamma`` (then stays: worth
    ``clv - incentive_cost``) and otherwise leaves; every contact costs
    ``contact_cost``; a contacted non-churner takes the incentive. The profit
    per customer at a point ``(FPR, TPR)`` of the ROC curve is ``pi0 TPR
    (gamma (clv - incentive_cost) - contact_cost) - pi1 FPR (incentive_cost +
    contact_cost)`` (``pi0``/``pi1``: shares of churners/non-churners). For
    each ``gamma`` the best threshold is a vertex of the ROC convex hull;
    EMPC integrates that maximum over ``gamma ~ Beta(alpha, beta)`` -- exactly,
    as a sum over the hull's vertices of incomplete beta functions.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True churn labels.
    y_score : array-like of shape (n_samples,)
        Churn scores, higher meaning more likely to churn.
    alpha, beta : float > 0, default=6, 14
        Parameters of the Beta distribution of the acceptance rate (the
        defaults, mean 0.3, are those of Verbraken et al.).
    clv : float > 0, default=200
        Customer lifetime value of a retained customer.
    incentive_cost : float >= 0, default=10
        Cost of the incentive, paid by every customer who takes it.
    contact_cost : float >= 0, default=1
        Cost of contacting one customer.
    pos_label : int, bool or str, default=None
        The churn label. ``None`` means ``1``/``True``.

    Returns
    -------
    ExpectedMaximumProfit
        ``value`` (EMPC per customer), ``fraction`` (expected share
        contacted), ``threshold`` and the hull.

    See Also
    --------
    empc_score : The value alone, for scorers.
    expected_campaign_profit : The profit at one fixed acceptance rate.

    References
    ----------
    Verbraken, T., Verbeke, W. and Baesens, B. (2013). A novel profit
    maximizing metric for measuring classification performance of customer
    churn prediction models. IEEE TKDE 25(5), 961-973.

    Examples
    --------
    >>> from churnlib.evaluation import expected_maximum_profit
    >>> result = expected_maximum_profit(
    ...     [0, 1, 0, 1, 0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9]
    ... )
    >>> round(result.value, 4), round(result.fraction, 4), result.threshold
    (23.8756, 0.8744, 0.2)
    """
    validate_params(
        {
            "alpha": _POSITIVE,
            "beta": _POSITIVE,
            "clv": _POSITIVE,
            "incentive_cost": _NON_NEGATIVE,
            "contact_cost": _NON_NEGATIVE,
        },
        {
            "alpha": alpha,
            "beta": beta,
            "clv": clv,
            "incentive_cost": incentive_cost,
            "contact_cost": contact_cost,
        },
        "expected_maximum_profit",
    )
    y, scores, _ = check_binary_scores(
        y_true, y_score, pos_label=pos_label, caller="expected_maximum_profit"
    )
    c = _ranked_counts(y, scores, None)
    n = float(y.shape[0])
    pi0, pi1 = c.n_pos / n, c.n_neg / n
    fpr, tpr, thr = _roc_hull(c.tp, c.fp, c.thresholds)
    a, b = float(alpha), float(beta)
    d, f = float(incentive_cost), float(contact_cost)
    margin = float(clv) - d
    d_tpr, d_fpr = np.diff(tpr), np.diff(fpr)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Moving from vertex i to i+1 pays when gamma exceeds this bound.
        bounds = np.where(
            (d_tpr > 0) & (margin > 0),
            (f + pi1 * d_fpr * (d + f) / (pi0 * d_tpr)) / margin,
            np.inf,
        )
    bounds = np.clip(np.maximum.accumulate(bounds), 0.0, 1.0)
    lo = np.concatenate(([0.0], bounds))
    hi = np.concatenate((bounds, [1.0]))
    mass = betainc(a, b, hi) - betainc(a, b, lo)
    first_moment = a / (a + b) * (betainc(a + 1.0, b, hi) - betainc(a + 1.0, b, lo))
    gain = pi0 * tpr * max(margin, 0.0)
    cost = pi0 * tpr * f + pi1 * fpr * (d + f)
    value = float(np.sum(gain * first_moment - cost * mass))
    rates = pi0 * tpr + pi1 * fpr
    fraction = float(np.sum(rates * mass))
    all_fractions = c.fractions()
    all_thresholds = c.thresholds_with_origin()
    nearest = int(np.argmin(np.abs(all_fractions - fraction)))
    threshold = float(all_thresholds[nearest])
    if not np.isfinite(threshold):  # contact nobody
        threshold = float(np.inf)
    del thr
    return ExpectedMaximumProfit(
        value=value,
        fraction=fraction,
        threshold=threshold,
        hull_fpr=fpr,
        hull_tpr=tpr,
        acceptance_bounds=bounds,
    )


def empc_score(
    y_true: Any,
    y_score: Any,
    *,
    alpha: float = 6.0,
    beta: float = 14.0,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    pos_label: Any = None,
) -> float:
    """Compute the expected maximum profit for customer churn (EMPC).

    The ``value`` of :func:`expected_maximum_profit`; see it for the model.
    Usable with :func:`sklearn.metrics.make_scorer` (greater is better).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True churn labels.
    y_score : array-like of shape (n_samples,)
        Churn scores, higher meaning more likely to churn.
    alpha, beta : float > 0, default=6, 14
        Beta distribution of the acceptance rate.
    clv : float > 0, default=200
        Customer lifetime value.
    incentive_cost : float >= 0, default=10
        Cost of the incentive.
    contact_cost : float >= 0, default=1
        Cost of one contact.
    pos_label : int, bool or str, default=None
        The churn label.

    Returns
    -------
    float
        The EMPC, in the currency of ``clv`` per customer.

    Examples
    --------
    >>> from churnlib.evaluation import empc_score
    >>> round(empc_score([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]), 4)
    28.0
    """
    return expected_maximum_profit(
        y_true,
        y_score,
        alpha=alpha,
        beta=beta,
        clv=clv,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        pos_label=pos_label,
    ).value


CustomerValue = float | Callable[[Any], Any] | Any


def _customer_values(
    customer_value: CustomerValue, n: int, X: Any, caller: str
) -> np.ndarray:
    if callable(customer_value):
        if X is None:
            raise DataValidationError(
                f"{caller}: customer_value is a callable of the customer table; "
                "pass the table as X=..."
            )
        raw = customer_value(X)
    else:
        raw = customer_value
    if np.ndim(raw) == 0:
        values = np.full(n, float(raw))
    else:
        values = check_scores(
            raw.to_numpy() if isinstance(raw, pd.Series) else raw,
            name="customer_value",
            caller=caller,
        )
    if values.shape[0] != n:
        raise DataValidationError(
            f"{caller}: customer_value has {values.shape[0]} values for {n} "
            "customers. Pass one value per customer (e.g. df['clv'])."
        )
    if not np.isfinite(values).all() or (values < 0).any():
        raise DataValidationError(
            f"{caller}: customer_value must be finite and non-negative."
        )
    return values


def customer_profit(
    y_true: Any,
    *,
    customer_value: CustomerValue,
    incentive_cost: float,
    contact_cost: float,
    acceptance_rate: float,
    X: Any = None,
    pos_label: Any = None,
) -> np.ndarray:
    """Compute the expected profit of contacting each customer (value per customer).

    A churner is worth ``acceptance_rate x (value_i - incentive_cost) -
    contact_cost``; a non-churner costs ``incentive_cost + contact_cost``, as
    in :func:`expected_campaign_profit`, but ``value_i`` may differ by
    customer.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True churn labels.
    customer_value : float, array-like of shape (n_samples,) or callable
        Value of retaining each customer: one number, one per customer (e.g.
        ``df["clv"]``) or a callable receiving ``X`` and returning them.
    incentive_cost, contact_cost : float >= 0
        Campaign costs.
    acceptance_rate : float in [0, 1]
        Probability that a contacted churner accepts and stays.
    X : DataFrame, default=None
        The customer table, passed to a callable ``customer_value``.
    pos_label : int, bool or str, default=None
        The churn label.

    Returns
    -------
    ndarray of shape (n_samples,)
        Profit if the customer is contacted (0 if not).

    Examples
    --------
    >>> from churnlib.evaluation import customer_profit
    >>> customer_profit(
    ...     [1, 0, 1],
    ...     customer_value=[100, 100, 500],
    ...     incentive_cost=10,
    ...     contact_cost=1,
    ...     acceptance_rate=0.5,
    ... )
    array([ 44., -11., 244.])
    """
    validate_params(
        {
            "incentive_cost": _NON_NEGATIVE,
            "contact_cost": _NON_NEGATIVE,
            "acceptance_rate": [Interval(Real, 0, 1, closed="both")],
        },
        {
            "incentive_cost": incentive_cost,
            "contact_cost": contact_cost,
            "acceptance_rate": acceptance_rate,
        },
        "customer_profit",
    )
    from churnlib.evaluation._checks import check_binary_target

    y, _ = check_binary_target(y_true, pos_label=pos_label, caller="customer_profit")
    v = _customer_values(customer_value, y.shape[0], X, "customer_profit")
    churner = acceptance_rate * (v - incentive_cost) - contact_cost
    out: np.ndarray = np.where(y, churner, -(incentive_cost + contact_cost))
    return out


def value_profit_curve(
    y_true: Any,
    y_score: Any,
    *,
    customer_value: CustomerValue,
    incentive_cost: float,
    contact_cost: float,
    acceptance_rate: float,
    fraction: float | None = None,
    X: Any = None,
    pos_label: Any = None,
) -> CampaignProfit:
    """Campaign profit curve with a value per customer.

    Like :func:`expected_campaign_profit`, whose :class:`CampaignProfit` it
    returns (so :class:`ProfitCurveDisplay` can draw it), but each contacted
    customer contributes :func:`customer_profit`: contacting a valuable
    churner pays more than contacting a cheap one. Tied scores form one group.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True churn labels.
    y_score : array-like of shape (n_samples,)
        Churn scores (or expected values), higher contacted first.
    customer_value : float, array-like or callable
        See :func:`customer_profit`.
    incentive_cost, contact_cost : float >= 0
        Campaign costs.
    acceptance_rate : float in [0, 1]
        Probability that a contacted churner accepts and stays.
    fraction : float in (0, 1], default=None
        Share to contact; ``None`` picks the most profitable one.
    X : DataFrame, default=None
        The customer table for a callable ``customer_value``.
    pos_label : int, bool or str, default=None
        The churn label.

    Returns
    -------
    CampaignProfit
        Its ``economics.customer_value`` is the mean customer value.

    Examples
    --------
    >>> from churnlib.evaluation import value_profit_curve
    >>> result = value_profit_curve(
    ...     [1, 0, 1, 0],
    ...     [0.9, 0.8, 0.7, 0.1],
    ...     customer_value=[100, 100, 500, 100],
    ...     incentive_cost=10,
    ...     contact_cost=1,
    ...     acceptance_rate=0.5,
    ... )
    >>> result.profits
    array([  0.,  44.,  33., 277., 266.])
    """
    validate_params(
        {"fraction": [None, Interval(Real, 0, 1, closed="right")]},
        {"fraction": fraction},
        "value_profit_curve",
    )
    y, scores, _ = check_binary_scores(
        y_true, y_score, pos_label=pos_label, caller="value_profit_curve"
    )
    per = customer_profit(
        y,
        customer_value=customer_value,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        acceptance_rate=acceptance_rate,
        X=X,
    )
    v = _customer_values(customer_value, y.shape[0], X, "value_profit_curve")
    order = np.argsort(scores)[::-1]
    s = scores[order]
    ends = np.append(np.flatnonzero(s[1:] != s[:-1]), s.shape[0] - 1)
    profits = np.concatenate(([0.0], np.cumsum(per[order])[ends]))
    fractions = np.concatenate(([0.0], (ends + 1.0) / s.shape[0]))
    thresholds = np.concatenate(([np.inf], s[ends]))
    if fraction is None:
        best = int(np.argmax(profits))
        chosen_f, chosen_p, thr = (
            float(fractions[best]),
            float(profits[best]),
            float(thresholds[best]),
        )
    else:
        chosen_f = float(fraction)
        chosen_p = float(np.interp(fraction, fractions, profits))
        idx = min(int(np.searchsorted(fractions, fraction)), fractions.shape[0] - 1)
        thr = float(thresholds[idx])
    economics = CampaignEconomics(
        customer_value=max(float(v.mean()), 1e-12),
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        acceptance_rate=acceptance_rate,
    )
    return CampaignProfit(
        profit=chosen_p,
        fraction=chosen_f,
        threshold=thr,
        n_customers=float(y.shape[0]),
        fractions=fractions,
        profits=profits,
        thresholds=thresholds,
        economics=economics,
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class UpliftProfit:
    """Result of :func:`max_profit_uplift`: the best campaign along an uplift ranking.

    Attributes
    ----------
    profit : float
        Estimated profit of the best campaign (``-inf`` never; 0 = no campaign).
    fraction : float
        Share of customers it offers the incentive to.
    threshold : float
        Offer to customers whose uplift is ``>= threshold``.
    fractions, profits, thresholds : ndarray
        The profit curve along the ranking.
    """

    profit: float
    fraction: float
    threshold: float
    fractions: np.ndarray
    profits: np.ndarray
    thresholds: np.ndarray


def max_profit_uplift(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    customer_value: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    pos_label: Any = None,
) -> UpliftProfit:
    """Maximum-profit uplift measure: the best campaign along the uplift ranking.

    At each cut of the ranking the randomised campaign estimates the
    customers kept (the :func:`uplift_curve`) and the profit of offering the
    incentive to the ``n`` customers above the cut: ``customer_value x kept -
    contact_cost x n - incentive_cost x redeemed``, where ``redeemed = n -
    Y_t x N / N_t`` estimates how many of them would stay with the offer
    (every offered customer who stays redeems the incentive). Returns the
    maximum over the cuts (the empty campaign, profit 0, included).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome after the campaign.
    uplift : array-like of shape (n_samples,)
        Uplift scores, higher offered first.
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive.
    customer_value : float > 0, default=200
        Value of a kept customer.
    incentive_cost, contact_cost : float >= 0, default=10, 1
        Cost of a redeemed incentive and of a contact.
    pos_label : int, bool or str, default=None
        The churn label.

    Returns
    -------
    UpliftProfit
        The best profit, its fraction and threshold, and the curve.

    Examples
    --------
    >>> from churnlib.evaluation import max_profit_uplift
    >>> result = max_profit_uplift(
    ...     [0, 1, 0, 1, 1, 0, 1, 1],
    ...     [8, 7, 6, 5, 4, 3, 2, 1],
    ...     [1, 0, 1, 0, 1, 0, 1, 0],
    ... )
    >>> result.profit, result.fraction
    (756.0, 0.5)
    """
    validate_params(
        {
            "customer_value": _POSITIVE,
            "incentive_cost": _NON_NEGATIVE,
            "contact_cost": _NON_NEGATIVE,
        },
        {
            "customer_value": customer_value,
            "incentive_cost": incentive_cost,
            "contact_cost": contact_cost,
        },
        "max_profit_uplift",
    )
    c, *_ = _arms(y_true, uplift, treatment, None, pos_label, "max_profit_uplift")
    n_t, n_c, y_t, _ = c.with_origin()
    targeted = n_t + n_c
    kept = c.uplift()
    # Expected redemptions if everyone above the cut is offered: those who
    # stay with the offer, estimated from the offered arm (unbiased).
    redeemed = targeted - y_t * (c.total / c.n_t[-1])
    profits = (
        customer_value * kept - contact_cost * targeted - incentive_cost * redeemed
    )
    best = int(np.argmax(profits))
    fractions = c.fractions()
    thresholds = c.thresholds_with_origin()
    return UpliftProfit(
        profit=float(profits[best]),
        fraction=float(fractions[best]),
        threshold=float(thresholds[best]),
        fractions=fractions,
        profits=profits,
        thresholds=thresholds,
    )
