"""Churn-specific ranking metrics: lift, cumulative gain, campaign profit, KS.

All curves come from ONE sort of the scores followed by cumulative sums; tied
scores form one group (a campaign cannot separate customers the model scores
equally), so every curve has one point per distinct score. Between two points
the curves are linear, which is the *expected* value when the customers in a
tied group are contacted in random order.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from churnlib._validation import Interval, StrOptions, validate_params
from churnlib.evaluation._checks import check_binary_scores

__all__ = [
    "CampaignEconomics",
    "CampaignProfit",
    "cumulative_gain",
    "expected_calibration_error",
    "expected_campaign_profit",
    "ks_statistic",
    "lift_curve",
    "lift_score",
]


@dataclass(frozen=True, slots=True)
class _RankedCounts:
    """Cumulative (weighted) churners and non-churners at each distinct score.

    ``tp[i]`` and ``fp[i]`` count the churners and non-churners whose score is
    ``>= thresholds[i]``; ``thresholds`` is strictly decreasing.
    """

    tp: np.ndarray
    fp: np.ndarray
    thresholds: np.ndarray

    @property
    def n_pos(self) -> float:
        return float(self.tp[-1])

    @property
    def n_neg(self) -> float:
        return float(self.fp[-1])

    def fractions(self) -> np.ndarray:
        """Fraction of customers targeted at each point, starting at 0."""
        total = self.tp + self.fp
        return np.concatenate(([0.0], total / total[-1]))

    def gains(self) -> np.ndarray:
        """Fraction of all churners captured at each point, starting at 0."""
        return np.concatenate(([0.0], self.tp / self.tp[-1]))

    def thresholds_with_origin(self) -> np.ndarray:
        return np.concatenate(([np.inf], self.thresholds))

    def lift_at(self, fraction: float) -> float:
        """Lift of the top ``fraction``, a tied group counting pro rata."""
        return float(np.interp(fraction, self.fractions(), self.gains()) / fraction)


def _ranked_counts(
    y: np.ndarray, scores: np.ndarray, weight: np.ndarray | None
) -> _RankedCounts:
    """One descending sort + cumulative sums; ties grouped at their last index."""
    # Order inside a tie group is irrelevant (the group is kept whole), so the
    # fast unstable sort is enough.
    order = np.argsort(scores)[::-1]
    s = scores[order]
    ends = np.flatnonzero(s[1:] != s[:-1])
    ends = np.append(ends, s.shape[0] - 1)
    y_sorted = y[order]
    if weight is None:
        tp = np.cumsum(y_sorted, dtype=np.float64)[ends]
        fp = (ends + 1.0) - tp
    else:
        w = weight[order]
        tp = np.cumsum(np.where(y_sorted, w, 0.0))[ends]
        fp = np.cumsum(np.where(y_sorted, 0.0, w))[ends]
    return _RankedCounts(tp=tp, fp=fp, thresholds=s[ends])


def _counts(
    y_true: Any, y_score: Any, sample_weight: Any, pos_label: Any, caller: str
) -> _RankedCounts:
    y, scores, w = check_binary_scores(
        y_true, y_score, sample_weight=sample_weight, pos_label=pos_label, caller=caller
    )
    return _ranked_counts(y, scores, w)


def cumulative_gain(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative gain: share of churners captured by targeting the top scores.

    Customers are sorted by decreasing score; for each distinct score the
    curve gives the fraction of customers targeted (those scoring at least the
    threshold) and the fraction of all churners among them. A random ordering
    follows the diagonal; a perfect one reaches 1 at the churn rate.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels (churned or not).
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely to churn: probabilities or any
        monotonic score (only the order matters).
    pos_label : int, bool or str, default=None
        The label of the churn class. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    fractions : ndarray of shape (n_thresholds + 1,)
        Fraction of customers targeted, increasing from 0 to 1.
    gains : ndarray of shape (n_thresholds + 1,)
        Fraction of all churners among the targeted customers (recall),
        increasing from 0 to 1.
    thresholds : ndarray of shape (n_thresholds + 1,)
        Decreasing scores: point ``i`` targets customers scoring
        ``>= thresholds[i]``. ``thresholds[0]`` is ``inf`` (nobody targeted).

    See Also
    --------
    lift_curve : Gain divided by the fraction targeted.
    CumulativeGainDisplay : Plot of this curve.

    Examples
    --------
    >>> from churnlib.evaluation import cumulative_gain
    >>> fractions, gains, thresholds = cumulative_gain(
    ...     [1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1]
    ... )
    >>> fractions
    array([0.  , 0.25, 0.75, 1.  ])
    >>> gains
    array([0. , 0.5, 1. , 1. ])
    >>> thresholds
    array([inf, 0.9, 0.8, 0.1])
    """
    c = _counts(y_true, y_score, sample_weight, pos_label, "cumulative_gain")
    return c.fractions(), c.gains(), c.thresholds_with_origin()


def lift_curve(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lift by fraction targeted: churn rate of the targeted over the overall rate.

    ``lift = gain / fraction``: how many times more churners a campaign reaches
    by following the model than by contacting the same number of customers at
    random. Random ordering gives 1 everywhere.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely to churn.
    pos_label : int, bool or str, default=None
        The label of the churn class. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    fractions : ndarray of shape (n_thresholds,)
        Fraction of customers targeted, increasing to 1 (0 is left out:
        lift is undefined when nobody is targeted).
    lift : ndarray of shape (n_thresholds,)
        Lift at each fraction; the last value is 1.
    thresholds : ndarray of shape (n_thresholds,)
        Decreasing scores: point ``i`` targets customers scoring
        ``>= thresholds[i]``.

    See Also
    --------
    lift_score : Lift at one fraction, e.g. the top decile.
    LiftCurveDisplay : Plot of this curve.

    Examples
    --------
    >>> from churnlib.evaluation import lift_curve
    >>> fractions, lift, _ = lift_curve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1])
    >>> fractions
    array([0.25, 0.75, 1.  ])
    >>> lift
    array([2.        , 1.33333333, 1.        ])
    """
    c = _counts(y_true, y_score, sample_weight, pos_label, "lift_curve")
    fractions = c.fractions()[1:]
    return fractions, c.gains()[1:] / fractions, c.thresholds


_FRACTION = {"fraction": [Interval(Real, 0, 1, closed="right")]}


def lift_score(
    y_true: Any,
    y_score: Any,
    *,
    fraction: float = 0.1,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> float:
    """Lift in the top ``fraction`` of scores (top-decile lift by default).

    The churn rate among the ``fraction`` of customers with the highest scores
    divided by the overall churn rate. A lift of 3 means a campaign aimed at
    those customers reaches three times as many churners as one aimed at the
    same number of customers picked at random.

    Exactly ``fraction * n_samples`` customers are targeted. When the cut falls
    inside a group of tied scores, that group contributes its *expected* share
    (as if the tied customers were picked in random order), so the result does
    not depend on how ties happen to be ordered.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely to churn.
    fraction : float in (0, 1], default=0.1
        Share of customers targeted, highest scores first.
    pos_label : int, bool or str, default=None
        The label of the churn class. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights (``fraction`` is then a share of the
        total weight).

    Returns
    -------
    float
        The lift; 1 for a random model, at most ``1 / churn_rate``.

    See Also
    --------
    lift_curve : Lift at every fraction.

    Examples
    --------
    >>> from churnlib.evaluation import lift_score
    >>> y = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    >>> scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    >>> lift_score(y, scores, fraction=0.1)  # top customer churns; rate 0.2
    5.0
    """
    validate_params(_FRACTION, {"fraction": fraction}, "lift_score")
    c = _counts(y_true, y_score, sample_weight, pos_label, "lift_score")
    return c.lift_at(fraction)


def ks_statistic(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> float:
    """Kolmogorov-Smirnov statistic between the churners' and stayers' scores.

    The largest vertical distance between the cumulative score distributions
    of churners and non-churners, ``max |TPR - FPR|`` over all thresholds:
    0 when the model cannot tell them apart, 1 when some threshold separates
    them perfectly. Identical to :func:`scipy.stats.ks_2samp`'s statistic
    on the two groups of scores (without weights).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely to churn.
    pos_label : int, bool or str, default=None
        The label of the churn class. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        The KS statistic in [0, 1].

    Examples
    --------
    >>> from churnlib.evaluation import ks_statistic
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    c = _counts(y_true, y_score, sample_weight, pos_label, "ks_statistic")
    return _ks_from_counts(c)


def _ks_from_counts(c: _RankedCounts) -> float:
    return float(np.max(np.abs(c.tp / c.n_pos - c.fp / c.n_neg)))


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignEconomics:
    """Money assumptions of a retention campaign, per customer.

    The defaults follow the churn case study of Verbraken et al. (2013):
    a customer is worth 200, the retention incentive costs 10, contacting
    costs 1, and 30 % of contacted churners accept the offer and stay.

    Parameters
    ----------
    customer_value : float, default=200.0
        Value of a retained customer (e.g. customer lifetime value), > 0.
    incentive_cost : float, default=10.0
        Cost of the incentive for each customer who accepts it, >= 0.
    contact_cost : float, default=1.0
        Cost of contacting one customer, >= 0.
    acceptance_rate : float, default=0.3
        Probability that a contacted would-be churner accepts and stays.

    Examples
    --------
    >>> from churnlib.evaluation import CampaignEconomics
    >>> CampaignEconomics(customer_value=500.0).gain_per_churner
    146.0
    """

    customer_value: float = 200.0
    incentive_cost: float = 10.0
    contact_cost: float = 1.0
    acceptance_rate: float = 0.3

    _constraints = {  # noqa: RUF012 - class-level constant, not a field
        "customer_value": [Interval(Real, 0, None, closed="neither")],
        "incentive_cost": [Interval(Real, 0, None, closed="left")],
        "contact_cost": [Interval(Real, 0, None, closed="left")],
        "acceptance_rate": [Interval(Real, 0, 1, closed="both")],
    }

    def __post_init__(self) -> None:
        validate_params(
            type(self)._constraints,
            {
                "customer_value": self.customer_value,
                "incentive_cost": self.incentive_cost,
                "contact_cost": self.contact_cost,
                "acceptance_rate": self.acceptance_rate,
            },
            "CampaignEconomics",
        )

    @property
    def gain_per_churner(self) -> float:
        """Expected net gain from contacting one churner.

        ``acceptance_rate * (customer_value - incentive_cost) - contact_cost``.
        """
        return float(
            self.acceptance_rate * (self.customer_value - self.incentive_cost)
            - self.contact_cost
        )

    @property
    def cost_per_non_churner(self) -> float:
        """Cost of contacting one customer who would have stayed anyway.

        ``incentive_cost + contact_cost``: non-churners take the incentive.
        """
        return float(self.incentive_cost + self.contact_cost)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CampaignProfit:
    """Expected profit of a retention campaign by fraction of customers targeted.

    Returned by :func:`expected_campaign_profit`. ``profit``, ``fraction``
    and ``threshold`` describe the chosen campaign: the requested fraction,
    or the most profitable one. The curve arrays have one point per distinct
    score, plus the empty campaign at fraction 0.

    Attributes
    ----------
    profit : float
        Expected profit of the campaign, in the currency of the economics.
    fraction : float
        Share of customers contacted (the highest scores first).
    threshold : float
        Contact customers whose score is ``>= threshold`` (``inf`` means
        contact nobody: no campaign is profitable).
    n_customers : float
        Number (total weight) of customers evaluated.
    fractions, profits, thresholds : ndarray
        The profit curve.
    economics : CampaignEconomics
        The assumptions used.
    """

    profit: float
    fraction: float
    threshold: float
    n_customers: float
    fractions: np.ndarray
    profits: np.ndarray
    thresholds: np.ndarray
    economics: CampaignEconomics

    @property
    def profit_per_customer(self) -> float:
        """Expected profit divided by the number of customers evaluated."""
        return self.profit / self.n_customers

    def to_frame(self) -> pd.DataFrame:
        """Return the profit curve as a DataFrame (fraction, threshold, profit)."""
        return pd.DataFrame(
            {
                "fraction": self.fractions,
                "threshold": self.thresholds,
                "profit": self.profits,
            }
        )

    def __repr__(self) -> str:
        return (
            f"CampaignProfit(profit={self.profit:.6g}, fraction={self.fraction:.4g}, "
            f"threshold={self.threshold:.4g}, n_customers={self.n_customers:g}, "
            f"n_points={self.fractions.shape[0]})"
        )


def _profit_from_counts(
    c: _RankedCounts, economics: CampaignEconomics, fraction: float | None
) -> CampaignProfit:
    fractions = c.fractions()
    thresholds = c.thresholds_with_origin()
    profits = np.concatenate(
        (
            [0.0],
            economics.gain_per_churner * c.tp - economics.cost_per_non_churner * c.fp,
        )
    )
    if fraction is None:
        best = int(np.argmax(profits))  # first maximum: the smallest campaign
        chosen_fraction = float(fractions[best])
        chosen_profit = float(profits[best])
        threshold = float(thresholds[best])
    else:
        chosen_fraction = float(fraction)
        chosen_profit = float(np.interp(fraction, fractions, profits))
        idx = min(int(np.searchsorted(fractions, fraction)), fractions.shape[0] - 1)
        threshold = float(thresholds[idx])
    return CampaignProfit(
        profit=chosen_profit,
        fraction=chosen_fraction,
        threshold=threshold,
        n_customers=c.n_pos + c.n_neg,
        fractions=fractions,
        profits=profits,
        thresholds=thresholds,
        economics=economics,
    )


def expected_campaign_profit(
    y_true: Any,
    y_score: Any,
    *,
    customer_value: float,
    incentive_cost: float,
    contact_cost: float,
    acceptance_rate: float,
    fraction: float | None = None,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> CampaignProfit:
    """Compute the expected profit of a campaign aimed at the top-scored customers.

    A campaign contacts the customers with the highest scores and offers them
    an incentive to stay. Following the profit-based churn measures of
    Verbraken, Verbeke and Baesens (2013), each contacted customer yields, in
    expectation:

    - a **churner**: ``acceptance_rate * (customer_value - incentive_cost)
      - contact_cost`` (they accept and stay with probability
      ``acceptance_rate``; otherwise they leave anyway and take nothing);
    - a **non-churner**: ``-(incentive_cost + contact_cost)`` (they would
      have stayed, but take the incentive).

    Customers not contacted yield 0, so the profit of contacting the top
    fraction is ``TP * gain_per_churner - FP * cost_per_non_churner`` where
    ``TP``/``FP`` count the churners/non-churners contacted. This is the
    expected profit at the mean acceptance rate (the "MP" measure); the EMP
    measure additionally integrates the maximum over a distribution of
    acceptance rates.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely to churn.
    customer_value : float
        Value of a retained customer (e.g. lifetime value), > 0.
    incentive_cost : float
        Cost of the incentive for each customer who takes it, >= 0.
    contact_cost : float
        Cost of contacting one customer, >= 0.
    acceptance_rate : float
        Probability in [0, 1] that a contacted churner accepts and stays.
    fraction : float in (0, 1], default=None
        Share of customers to contact, highest scores first. ``None``
        picks the most profitable share (possibly 0: no campaign).
    pos_label : int, bool or str, default=None
        The label of the churn class. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    CampaignProfit
        The profit, fraction and score threshold of the chosen campaign and
        the whole profit curve.

    See Also
    --------
    ProfitCurveDisplay : Plot of the profit curve.

    Examples
    --------
    >>> from churnlib.evaluation import expected_campaign_profit
    >>> result = expected_campaign_profit(
    ...     [1, 1, 0, 0, 1, 0, 0, 0],
    ...     [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
    ...     customer_value=200,
    ...     incentive_cost=10,
    ...     contact_cost=1,
    ...     acceptance_rate=0.3,
    ... )
    >>> result.profit, result.fraction, result.threshold  # contact the top 5
    (146.0, 0.625, 0.5)
    """
    money = {
        "customer_value": customer_value,
        "incentive_cost": incentive_cost,
        "contact_cost": contact_cost,
        "acceptance_rate": acceptance_rate,
    }
    validate_params(
        {"fraction": [None, *_FRACTION["fraction"]], **CampaignEconomics._constraints},
        {"fraction": fraction, **money},
        "expected_campaign_profit",
    )
    economics = CampaignEconomics(**money)
    c = _counts(y_true, y_score, sample_weight, pos_label, "expected_campaign_profit")
    return _profit_from_counts(c, economics, fraction)


def expected_calibration_error(
    y_true: Any,
    y_prob: Any,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
    pos_label: Any = None,
) -> float:
    """Compute the expected calibration error (ECE) of churn probabilities.

    The customers are split into ``n_bins`` bins of predicted probability;
    the ECE is the average, weighted by bin size, of the gap between the
    mean predicted probability and the observed churn rate of each bin. A
    perfectly calibrated model scores 0: among customers scored 0.3, 30 %
    churn. The monitor's label-free estimate and the profit curve rely on
    calibrated probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True outcomes.
    y_prob : array-like of shape (n_samples,)
        Predicted churn probabilities in [0, 1].
    n_bins : int, default=10
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins (the usual definition, as
        :func:`sklearn.calibration.calibration_curve`) or equal-size bins
        (steadier for skewed churn scores).
    pos_label : int, bool or str, default=None
        The churn class of ``y_true``.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from churnlib.evaluation import expected_calibration_error
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=100_000)
    >>> y = rng.uniform(size=p.size) < p
    >>> round(expected_calibration_error(y, p), 3)
    0.003
    >>> round(expected_calibration_error(y, p**2), 2)
    0.17
    """
    validate_params(
        {
            "n_bins": [Interval(Real, 1, None, closed="left")],
            "strategy": [StrOptions({"quantile", "uniform"})],
        },
        {"n_bins": n_bins, "strategy": strategy},
        "expected_calibration_error",
    )
    y, scores, _ = check_binary_scores(
        y_true,
        y_prob,
        pos_label=pos_label,
        caller="expected_calibration_error",
        probabilities=True,
    )
    return calibration_error(y, scores, n_bins=int(n_bins), strategy=strategy)


def calibration_error(
    y: np.ndarray, scores: np.ndarray, *, n_bins: int = 10, strategy: str = "uniform"
) -> float:
    """ECE of checked arrays (bool labels, probabilities); NaN when empty.

    The one computation behind :func:`expected_calibration_error`, the report
    card and the trainer's metrics.
    """
    if scores.size == 0:
        return float("nan")
    if strategy == "quantile":
        order = np.argsort(scores, kind="stable")
        bins = np.empty(scores.size, dtype=np.intp)
        bins[order] = (np.arange(scores.size) * n_bins) // scores.size
    else:
        bins = np.minimum((scores * n_bins).astype(np.intp), n_bins - 1)
    mean_prob = np.bincount(bins, weights=scores, minlength=n_bins)
    churned = np.bincount(bins, weights=y.astype(float), minlength=n_bins)
    return float(np.abs(mean_prob - churned).sum() / scores.size)
