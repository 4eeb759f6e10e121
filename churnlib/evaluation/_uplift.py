"""Uplift evaluation on a campaign: Qini and uplift curves, their areas, uplift@k.

A campaign table holds, per customer, the churn outcome, whether the offer was
made (``treatment``) and the model's uplift score. Customers are sorted by
decreasing uplift (tied scores form one group, counted pro rata as in the churn
curves); at each cut the churners above it are counted in each arm (``Y_t``
offered, ``Y_c`` not offered) and scaled by the arm sizes ``N_t``, ``N_c``:

- **Qini curve** (Radcliffe, 2007): ``Y_c x N_t / N_c - Y_t``: customers the
  offer kept among the offered customers above the cut;
- **uplift curve**: ``(Y_c / N_c - Y_t / N_t) x N``: customers the offer
  keeps if *everyone* above the cut gets it. In a randomised campaign it is an
  unbiased estimate of the sum of the true effects ``p0 - p1`` above the cut.

Both are sums of per-customer contributions, so the *perfect* ranking --
churners not offered first, churners offered last -- has the largest area, and
the Qini coefficient ``(area(model) - area(random)) / (area(perfect) -
area(random))`` lies in [-1, 1]: 0 for a random ranking, 1 for the perfect one.
A model that ranks sleeping dogs first makes the curves dip below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from churnlib._html import esc
from churnlib._optional import check_matplotlib_support
from churnlib._validation import Interval, validate_params
from churnlib.evaluation._checks import (
    check_binary_target,
    check_sample_weight,
    check_scores,
    final_estimator,
)
from churnlib.evaluation._plotting import _ChurnCurveDisplayMixin
from churnlib.exceptions import DataValidationError, InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "QiniCurveDisplay",
    "UpliftCurveDisplay",
    "auuc",
    "compare_targeting",
    "qini_coefficient",
    "qini_curve",
    "uplift_at_k",
    "uplift_curve",
    "uplift_report_section",
]


@dataclass(frozen=True, slots=True)
class _ArmCounts:
    """Cumulative (weighted) customers and churners per arm at each distinct score.

    Index ``i`` counts the customers scoring ``>= thresholds[i]``;
    ``thresholds`` is strictly decreasing.
    """

    n_t: np.ndarray
    n_c: np.ndarray
    churn_t: np.ndarray
    churn_c: np.ndarray
    thresholds: np.ndarray

    @property
    def total(self) -> float:
        return float(self.n_t[-1] + self.n_c[-1])

    def fractions(self) -> np.ndarray:
        return np.concatenate(([0.0], (self.n_t + self.n_c) / self.total))

    def thresholds_with_origin(self) -> np.ndarray:
        return np.concatenate(([np.inf], self.thresholds))

    def with_origin(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        z = [0.0]
        return (
            np.concatenate((z, self.n_t)),
            np.concatenate((z, self.n_c)),
            np.concatenate((z, self.churn_t)),
            np.concatenate((z, self.churn_c)),
        )

    def qini(self) -> np.ndarray:
        """``Y_c x N_t / N_c - Y_t``: customers kept among the offered."""
        _, _, y_t, y_c = self.with_origin()
        out: np.ndarray = y_c * (self.n_t[-1] / self.n_c[-1]) - y_t
        return out

    def uplift(self) -> np.ndarray:
        """``(Y_c / N_c - Y_t / N_t) x N``: customers kept if the top is offered."""
        _, _, y_t, y_c = self.with_origin()
        out: np.ndarray = (y_c / self.n_c[-1] - y_t / self.n_t[-1]) * self.total
        return out

    def at(self, fraction: float) -> tuple[float, float, float, float]:
        """Return the counts of the top ``fraction`` (tied group pro rata)."""
        x = self.fractions()
        return tuple(  # type: ignore[return-value]
            float(np.interp(fraction, x, v)) for v in self.with_origin()
        )


def _ranked_arms(
    churned: np.ndarray, score: np.ndarray, t: np.ndarray, w: np.ndarray | None
) -> _ArmCounts:
    """One descending sort + cumulative sums per arm; ties grouped at their end."""
    order = np.argsort(score)[::-1]
    s = score[order]
    ends = np.append(np.flatnonzero(s[1:] != s[:-1]), s.shape[0] - 1)
    ww = np.ones(s.shape[0]) if w is None else w[order]
    tt, yy = t[order], churned[order]
    wt = np.where(tt, ww, 0.0)
    wc = ww - wt
    return _ArmCounts(
        n_t=np.cumsum(wt)[ends],
        n_c=np.cumsum(wc)[ends],
        churn_t=np.cumsum(np.where(yy, wt, 0.0))[ends],
        churn_c=np.cumsum(np.where(yy, wc, 0.0))[ends],
        thresholds=s[ends],
    )


def _check_campaign(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    sample_weight: Any,
    pos_label: Any,
    caller: str,
    name: str = "uplift",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate (churn labels, scores, treatment, weights) of a campaign."""
    from churnlib.uplift._base import check_treatment

    y, _ = check_binary_target(y_true, pos_label=pos_label, caller=caller)
    scores = check_scores(uplift, name=name, caller=caller)
    if scores.shape[0] != y.shape[0]:
        raise DataValidationError(
            f"{caller}: y_true and {name} have different lengths ({y.shape[0]} and "
            f"{scores.shape[0]}). Pass one score per customer."
        )
    t = check_treatment(treatment, y.shape[0], caller=caller)
    w = check_sample_weight(sample_weight, y.shape[0], caller=caller)
    return y, scores, t, w


def _arms(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    sample_weight: Any,
    pos_label: Any,
    caller: str,
) -> tuple[_ArmCounts, np.ndarray, np.ndarray, np.ndarray | None]:
    y, s, t, w = _check_campaign(
        y_true,
        uplift,
        treatment,
        sample_weight=sample_weight,
        pos_label=pos_label,
        caller=caller,
    )
    return _ranked_arms(y, s, t, w), y, t, w


def _perfect(y: np.ndarray, t: np.ndarray, w: np.ndarray | None) -> _ArmCounts:
    """Rank perfectly: churners not offered first, churners offered last.

    Both curves are sums of per-customer contributions (a churner not offered
    adds, a churner offered subtracts, everyone else adds nothing), so sorting
    by contribution gives the largest possible area.
    """
    score = np.where(y, np.where(t, -1.0, 1.0), 0.0)
    return _ranked_arms(y, score, t, w)


def qini_curve(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Qini curve: customers kept among the offered, by fraction targeted.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome of each customer after the campaign.
    uplift : array-like of shape (n_samples,)
        Uplift scores, higher meaning the offer keeps the customer more
        (e.g. ``model.predict_uplift(X)``).
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive (bool or 0/1).
    pos_label : int, bool or str, default=None
        The churn label. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    fractions : ndarray of shape (n_thresholds + 1,)
        Fraction of customers targeted, from 0 to 1.
    qini : ndarray of shape (n_thresholds + 1,)
        ``Y_c x N_t / N_c - Y_t``: churners not offered above the cut, scaled
        to the offered arm's size, minus churners offered above the cut.
    thresholds : ndarray of shape (n_thresholds + 1,)
        Decreasing uplift scores; ``thresholds[0]`` is ``inf``.

    Examples
    --------
    >>> from churnlib.evaluation import qini_curve
    >>> churned = [0, 1, 0, 1, 1, 0]
    >>> offer = [1, 0, 1, 0, 1, 0]
    >>> fractions, qini, _ = qini_curve(churned, [6, 5, 4, 3, 2, 1], offer)
    >>> qini
    array([0., 0., 1., 1., 2., 1., 1.])
    """
    c, *_ = _arms(y_true, uplift, treatment, sample_weight, pos_label, "qini_curve")
    return c.fractions(), c.qini(), c.thresholds_with_origin()


def uplift_curve(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uplift curve: customers kept by offering the top of the list.

    At each cut, ``(Y_c / N_c - Y_t / N_t) x N`` (churners above the cut per
    arm, divided by the arm's size): the estimated number of customers the
    offer keeps if everyone above the cut gets it -- unbiased in a randomised
    campaign.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome of each customer after the campaign.
    uplift : array-like of shape (n_samples,)
        Uplift scores, higher first.
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive.
    pos_label : int, bool or str, default=None
        The churn label. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    fractions : ndarray of shape (n_thresholds + 1,)
        Fraction of customers targeted, from 0 to 1.
    kept : ndarray of shape (n_thresholds + 1,)
        Estimated customers kept; the last value is ``(churn rate not offered
        - churn rate offered) x N``.
    thresholds : ndarray of shape (n_thresholds + 1,)
        Decreasing uplift scores; ``thresholds[0]`` is ``inf``.

    Examples
    --------
    >>> from churnlib.evaluation import uplift_curve
    >>> churned = [0, 1, 0, 1, 1, 0]
    >>> offer = [1, 0, 1, 0, 1, 0]
    >>> fractions, kept, _ = uplift_curve(churned, [6, 5, 4, 3, 2, 1], offer)
    >>> kept
    array([0., 0., 2., 2., 4., 2., 2.])
    """
    c, *_ = _arms(y_true, uplift, treatment, sample_weight, pos_label, "uplift_curve")
    return c.fractions(), np.round(c.uplift(), 12), c.thresholds_with_origin()


def _normalised_area(
    x: np.ndarray, values: np.ndarray, x_p: np.ndarray, perfect: np.ndarray
) -> float:
    end = float(values[-1])
    random = 0.5 * end  # straight line from (0, 0) to (1, end)
    model = float(np.trapezoid(values, x)) - random
    best = float(np.trapezoid(perfect, x_p)) - random
    if best <= 0:
        return 0.0
    return model / best


def qini_coefficient(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> float:
    """Qini coefficient: area between the Qini curve and random, normalised.

    ``(area(model) - area(random)) / (area(perfect) - area(random))`` with
    areas over the fraction targeted; the random ranking is the straight line
    to the Qini curve's end, the perfect one puts the churners not offered
    first and the churners offered last (so sleeping dogs are allowed).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome of each customer after the campaign.
    uplift : array-like of shape (n_samples,)
        Uplift scores, higher first.
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive.
    pos_label : int, bool or str, default=None
        The churn label. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        0 for a random ranking, 1 for the perfect one, negative when worse
        than random.

    See Also
    --------
    qini_curve : The curve.
    auuc : The same normalisation on the uplift curve.

    Examples
    --------
    >>> from churnlib.evaluation import qini_coefficient
    >>> churned = [0, 1, 0, 1, 1, 0]
    >>> offer = [1, 0, 1, 0, 1, 0]
    >>> round(qini_coefficient(churned, [6, 5, 4, 3, 2, 1], offer), 4)
    0.3846
    """
    c, y, t, w = _arms(
        y_true, uplift, treatment, sample_weight, pos_label, "qini_coefficient"
    )
    p = _perfect(y, t, w)
    return _normalised_area(c.fractions(), c.qini(), p.fractions(), p.qini())


def auuc(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    normalize: bool = True,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> float:
    """Area under the uplift curve (AUUC): customers kept, averaged over budgets.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome of each customer after the campaign.
    uplift : array-like of shape (n_samples,)
        Uplift scores, higher first.
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive.
    normalize : bool, default=True
        ``True``: the area divided by the number of customers -- the share of
        the base kept, averaged over every campaign size from 0 to 100 %.
        ``False``: the area in customers kept.
    pos_label : int, bool or str, default=None
        The churn label. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        The area under the uplift curve over the fraction targeted (a
        random ranking gives half the full campaign's effect).

    See Also
    --------
    qini_coefficient : The area between the Qini curve and random, scaled
        by the perfect ranking's.

    Examples
    --------
    >>> from churnlib.evaluation import auuc
    >>> churned = [0, 1, 0, 1, 1, 0]
    >>> offer = [1, 0, 1, 0, 1, 0]
    >>> round(auuc(churned, [6, 5, 4, 3, 2, 1], offer, normalize=False), 4)
    1.8333
    """
    validate_params({"normalize": ["boolean"]}, {"normalize": normalize}, "auuc")
    c, *_ = _arms(y_true, uplift, treatment, sample_weight, pos_label, "auuc")
    area = float(np.trapezoid(c.uplift(), c.fractions()))
    return area / c.total if normalize else area


def uplift_at_k(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    *,
    k: float = 0.3,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> float:
    """Churn rate prevented in the top ``k`` of the uplift ranking.

    ``churn rate not offered - churn rate offered`` among the ``k`` share of
    customers with the highest uplift (a tied group at the cut counted pro
    rata): how much the offer lowers churn where the model says to send it.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome of each customer after the campaign.
    uplift : array-like of shape (n_samples,)
        Uplift scores, higher first.
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive.
    k : float in (0, 1], default=0.3
        Share of customers targeted.
    pos_label : int, bool or str, default=None
        The churn label. ``None`` means ``1``/``True``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        The difference of churn rates (e.g. 0.12: 12 points less churn).

    Raises
    ------
    DataValidationError
        If the top ``k`` holds no offered or no not-offered customer.

    Examples
    --------
    >>> from churnlib.evaluation import uplift_at_k
    >>> churned = [0, 1, 0, 1, 1, 0]
    >>> offer = [1, 0, 1, 0, 1, 0]
    >>> uplift_at_k(churned, [6, 5, 4, 3, 2, 1], offer, k=0.5)
    1.0
    """
    validate_params(
        {"k": [Interval(Real, 0, 1, closed="right")]}, {"k": k}, "uplift_at_k"
    )
    c, *_ = _arms(y_true, uplift, treatment, sample_weight, pos_label, "uplift_at_k")
    n_t, n_c, y_t, y_c = c.at(float(k))
    if n_t <= 0 or n_c <= 0:
        raise DataValidationError(
            f"uplift_at_k: the top {k:.1%} of the ranking holds "
            f"{'no offered' if n_t <= 0 else 'no not-offered'} customer, so no "
            "effect can be measured there. Use a larger k."
        )
    return float(y_c / n_c - y_t / n_t)


# --------------------------------------------------------------------- Displays


class _UpliftCurveMixin(_ChurnCurveDisplayMixin):
    """Shared plotting of the two uplift curves (private)."""

    _xlabel = "Fraction of customers targeted (highest uplift first)"
    _ylabel = ""
    _curve: Any = None

    def __init__(
        self,
        *,
        fractions: np.ndarray,
        values: np.ndarray,
        random_end: float | None = None,
        perfect_fractions: np.ndarray | None = None,
        perfect_values: np.ndarray | None = None,
        name: str | None = None,
    ) -> None:
        self.fractions = fractions
        self.values = values
        self.random_end = float(values[-1]) if random_end is None else random_end
        self.perfect_fractions = perfect_fractions
        self.perfect_values = perfect_values
        self.name = name

    def plot(
        self,
        *,
        ax: Axes | None = None,
        name: str | None = None,
        plot_random: bool = True,
        plot_perfect: bool = False,
        **kwargs: Any,
    ) -> Self:
        """Plot the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        name : str, default=None
            Legend label; defaults to the ``name`` given at construction.
        plot_random : bool, default=True
            Draw the random-targeting line (to the curve's end).
        plot_perfect : bool, default=False
            Draw the perfect ranking's curve (when it was computed).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        Self
            This object, with ``line_``, ``random_line_``, ``perfect_line_``,
            ``ax_`` and ``figure_`` set.
        """
        ax, name = self._plot_curve(self.values, ax=ax, name=name, kwargs=kwargs)
        ax.axhline(0.0, color="k", linewidth=0.8)
        self.random_line_ = None
        self.perfect_line_ = None
        if plot_random:
            (self.random_line_,) = ax.plot(
                [0.0, 1.0],
                [0.0, self.random_end],
                "k--",
                linewidth=1,
                label="Random targeting",
            )
        if (
            plot_perfect
            and self.perfect_fractions is not None
            and self.perfect_values is not None
        ):
            (self.perfect_line_,) = ax.plot(
                self.perfect_fractions,
                self.perfect_values,
                ":",
                color="grey",
                label="Perfect ranking",
            )
        self._finish_plot(
            ax,
            ylabel=self._ylabel,
            legend=name is not None or plot_random or self.perfect_line_ is not None,
            loc="best",
        )
        return self

    @classmethod
    def _compute(
        cls,
        y_true: Any,
        uplift: Any,
        treatment: Any,
        *,
        pos_label: Any,
        sample_weight: Any,
        name: str | None,
    ) -> Self:
        c, y, t, w = _arms(
            y_true,
            uplift,
            treatment,
            sample_weight,
            pos_label,
            f"{cls.__name__}.from_predictions",
        )
        p = _perfect(y, t, w)
        values = getattr(c, cls._curve)()
        return cls(
            fractions=c.fractions(),
            values=values,
            random_end=float(values[-1]),
            perfect_fractions=p.fractions(),
            perfect_values=getattr(p, cls._curve)(),
            name=name,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        uplift: Any,
        treatment: Any,
        *,
        sample_weight: Any = None,
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        plot_random: bool = True,
        plot_perfect: bool = False,
        **kwargs: Any,
    ) -> Self:
        """Plot the curve from outcomes, uplift scores and the treatment.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Churn outcomes.
        uplift : array-like of shape (n_samples,)
            Uplift scores, higher first.
        treatment : array-like of shape (n_samples,)
            Whether each customer was offered the incentive.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        pos_label : int, bool or str, default=None
            The churn label; ``None`` means ``1``/``True``.
        name : str, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_random : bool, default=True
            Draw the random-targeting line.
        plot_perfect : bool, default=False
            Draw the perfect ranking's curve.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        Self
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        display = cls._compute(
            y_true,
            uplift,
            treatment,
            pos_label=pos_label,
            sample_weight=sample_weight,
            name=name,
        )
        return display.plot(
            ax=ax, plot_random=plot_random, plot_perfect=plot_perfect, **kwargs
        )

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        treatment: Any,
        *,
        sample_weight: Any = None,
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        plot_random: bool = True,
        plot_perfect: bool = False,
        **kwargs: Any,
    ) -> Self:
        """Plot the curve of a fitted uplift model (or pipeline) on a campaign.

        Parameters
        ----------
        estimator : fitted uplift model
            An estimator with ``predict_uplift`` (or a Pipeline ending in
            one, whose ``predict`` returns the uplift).
        X : array-like or DataFrame of shape (n_samples, n_features)
            Customer features.
        y : array-like of shape (n_samples,)
            Churn outcomes.
        treatment : array-like of shape (n_samples,)
            Whether each customer was offered the incentive.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        pos_label : int, bool or str, default=None
            The churn label.
        name : str, default=None
            Legend label; defaults to the model's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_random : bool, default=True
            Draw the random-targeting line.
        plot_perfect : bool, default=False
            Draw the perfect ranking's curve.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        Self
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        scores = uplift_scores(estimator, X, caller=f"{cls.__name__}.from_estimator")
        if name is None:
            name = type(final_estimator(estimator)).__name__
        return cls.from_predictions(
            y,
            scores,
            treatment,
            sample_weight=sample_weight,
            pos_label=pos_label,
            name=name,
            ax=ax,
            plot_random=plot_random,
            plot_perfect=plot_perfect,
            **kwargs,
        )


def uplift_scores(estimator: Any, X: Any, *, caller: str) -> np.ndarray:
    """Return ``predict_uplift(X)``, or ``predict(X)`` of an uplift Pipeline."""
    if hasattr(estimator, "predict_uplift"):
        return np.asarray(estimator.predict_uplift(X), dtype=np.float64)
    final = final_estimator(estimator)
    if hasattr(final, "predict_uplift") and hasattr(estimator, "predict"):
        return np.asarray(estimator.predict(X), dtype=np.float64)
    raise InvalidParameterError(
        f"{caller} needs an uplift model with predict_uplift (such as "
        f"churnlib.uplift.TwoModelUplift); {type(final).__name__} has none. For a "
        "churn classifier use the churn curves (CumulativeGainDisplay)."
    )


class QiniCurveDisplay(_UpliftCurveMixin):
    """Qini curve visualization: customers kept among the offered, by fraction.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, or from
    the output of :func:`~churnlib.evaluation.qini_curve`.

    Parameters
    ----------
    fractions : ndarray
        Fraction of customers targeted.
    values : ndarray
        Qini values at each fraction.
    random_end : float, default=None
        End of the random-targeting line (the curve's last value); ``None``
        uses ``values[-1]``.
    perfect_fractions, perfect_values : ndarray, default=None
        The perfect ranking's curve.
    name : str, default=None
        Name of the model, for the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The Qini curve.
    random_line_ : matplotlib Line2D or None
        The random-targeting line.
    perfect_line_ : matplotlib Line2D or None
        The perfect ranking's curve.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    qini_curve : Compute the curve.
    qini_coefficient : Its normalised area.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from churnlib.evaluation import QiniCurveDisplay
    >>> display = QiniCurveDisplay.from_predictions(
    ...     [0, 1, 0, 1, 1, 0], [6, 5, 4, 3, 2, 1], [1, 0, 1, 0, 1, 0]
    ... )
    >>> display.line_.get_ydata()
    array([0., 0., 1., 1., 2., 1., 1.])
    """

    _ylabel = "Customers kept among the offered (Qini)"
    _curve = "qini"

    # Listed in this class so the API reference documents them here.
    plot = _UpliftCurveMixin.plot
    from_predictions = _UpliftCurveMixin.__dict__["from_predictions"]
    from_estimator = _UpliftCurveMixin.__dict__["from_estimator"]


class UpliftCurveDisplay(_UpliftCurveMixin):
    """Uplift curve visualization: customers kept by offering the top of the list.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, or from
    the output of :func:`~churnlib.evaluation.uplift_curve`.

    Parameters
    ----------
    fractions : ndarray
        Fraction of customers targeted.
    values : ndarray
        Estimated customers kept at each fraction.
    random_end : float, default=None
        End of the random-targeting line; ``None`` uses ``values[-1]``.
    perfect_fractions, perfect_values : ndarray, default=None
        The perfect ranking's curve.
    name : str, default=None
        Name of the model, for the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The uplift curve.
    random_line_ : matplotlib Line2D or None
        The random-targeting line.
    perfect_line_ : matplotlib Line2D or None
        The perfect ranking's curve.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    uplift_curve : Compute the curve.
    auuc : Its normalised area.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from churnlib.evaluation import UpliftCurveDisplay
    >>> display = UpliftCurveDisplay.from_predictions(
    ...     [0, 1, 0, 1, 1, 0], [6, 5, 4, 3, 2, 1], [1, 0, 1, 0, 1, 0]
    ... )
    >>> display.line_.get_ydata().round(2)
    array([0., 0., 2., 2., 4., 2., 2.])
    """

    _ylabel = "Customers kept (estimated)"
    _curve = "uplift"

    # Listed in this class so the API reference documents them here.
    plot = _UpliftCurveMixin.plot
    from_predictions = _UpliftCurveMixin.__dict__["from_predictions"]
    from_estimator = _UpliftCurveMixin.__dict__["from_estimator"]


# ------------------------------------------------------- targeting comparison


def compare_targeting(
    y_true: Any,
    treatment: Any,
    uplift: Any,
    churn_score: Any,
    *,
    fraction: float = 0.3,
    customer_value: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    truth: Any = None,
    pos_label: Any = None,
) -> pd.DataFrame:
    """Compare offering the top ``fraction`` by uplift vs by churn probability.

    For each ranking (and a random pick) the same budget -- ``fraction`` of
    the customers -- is offered the incentive. The randomised campaign
    estimates, for those ``n`` customers, the customers kept (the
    :func:`uplift_curve` at ``fraction``), the incentives redeemed
    (``n - Y_t x N / N_t``: those who would stay with the offer) and the
    profit ``customer_value x kept - contact_cost x n - incentive_cost x
    redeemed``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Churn outcome after the campaign.
    treatment : array-like of shape (n_samples,)
        Whether each customer was offered the incentive (a randomised
        campaign, so both arms are comparable at every cut).
    uplift : array-like of shape (n_samples,)
        Uplift scores (``predict_uplift``).
    churn_score : array-like of shape (n_samples,)
        Churn probabilities (or any churn score) of the same customers.
    fraction : float in (0, 1], default=0.3
        The budget: share of customers offered the incentive.
    customer_value, incentive_cost, contact_cost : float, default=200, 10, 1
        Value of a kept customer, cost of a redeemed incentive, cost of a
        contact.
    truth : DataFrame, default=None
        The true churn probabilities without and with the offer, columns
        ``churn_probability_control`` and ``churn_probability_treated`` (as
        :func:`~churnlib.data.generate_campaign` returns them with
        ``return_truth=True``): adds ``true_kept`` and ``true_profit``, the
        expected values of offering exactly the top ``round(fraction x N)``.
    pos_label : int, bool or str, default=None
        The churn label.

    Returns
    -------
    pandas.DataFrame
        Indexed by ranking (``"uplift"``, ``"churn probability"``,
        ``"random"``), with ``targeted``, ``churn_rate_offered`` and
        ``churn_rate_not_offered`` (among the targeted), ``kept``,
        ``profit`` (and the truth columns).

    Examples
    --------
    >>> from churnlib.evaluation import compare_targeting
    >>> churned = [0, 1, 0, 1, 1, 0, 1, 1]
    >>> offer = [1, 0, 1, 0, 1, 0, 1, 0]
    >>> table = compare_targeting(
    ...     churned,
    ...     offer,
    ...     [8, 7, 6, 5, 4, 3, 2, 1],
    ...     [1, 2, 3, 4, 5, 6, 7, 8],
    ...     fraction=0.5,
    ... )
    >>> table["kept"].tolist()
    [4.0, -2.0, 0.0]
    """
    validate_params(
        {
            "fraction": [Interval(Real, 0, 1, closed="right")],
            "customer_value": [Interval(Real, 0, None, closed="neither")],
            "incentive_cost": [Interval(Real, 0, None, closed="left")],
            "contact_cost": [Interval(Real, 0, None, closed="left")],
        },
        {
            "fraction": fraction,
            "customer_value": customer_value,
            "incentive_cost": incentive_cost,
            "contact_cost": contact_cost,
        },
        "compare_targeting",
    )
    caller = "compare_targeting"
    y, u, t, _ = _check_campaign(
        y_true,
        uplift,
        treatment,
        sample_weight=None,
        pos_label=pos_label,
        caller=caller,
    )
    churn = check_scores(churn_score, name="churn_score", caller=caller)
    if churn.shape[0] != y.shape[0]:
        raise DataValidationError(
            f"{caller}: churn_score has {churn.shape[0]} values but y_true has "
            f"{y.shape[0]}."
        )
    p0 = p1 = None
    if truth is not None:
        needed = ["churn_probability_control", "churn_probability_treated"]
        missing = [c for c in needed if c not in getattr(truth, "columns", ())]
        if missing:
            raise DataValidationError(
                f"{caller}: truth must be a DataFrame with columns {needed}; "
                f"missing {missing}. Pass generate_campaign(..., "
                "return_truth=True).",
                columns=missing,
            )
        p0 = check_scores(truth[needed[0]], name=needed[0], caller=caller)
        p1 = check_scores(truth[needed[1]], name=needed[1], caller=caller)
        if p0.shape[0] != y.shape[0]:
            raise DataValidationError(
                f"{caller}: truth has {p0.shape[0]} rows but y_true has {y.shape[0]}."
            )
    n = y.shape[0]
    rankings: dict[str, np.ndarray] = {
        "uplift": u,
        "churn probability": churn,
        # A fixed-seed random ranking: the budget spent without a model.
        "random": np.asarray(np.random.default_rng(0).random(n)),
    }
    rows = []
    for label, score in rankings.items():
        c = _ranked_arms(y, score, t, None)
        n_t, n_c, y_t, y_c = c.at(float(fraction))
        targeted = n_t + n_c
        kept = (y_c / c.n_c[-1] - y_t / c.n_t[-1]) * c.total
        redeemed = targeted - y_t * c.total / c.n_t[-1]
        row: dict[str, Any] = {
            "ranking": label,
            "targeted": targeted,
            "churn_rate_offered": y_t / n_t if n_t > 0 else float("nan"),
            "churn_rate_not_offered": y_c / n_c if n_c > 0 else float("nan"),
            "kept": kept,
            "profit": customer_value * kept
            - contact_cost * targeted
            - incentive_cost * redeemed,
        }
        if p0 is not None and p1 is not None:
            top = np.argsort(-score, kind="stable")[: round(fraction * n)]
            true_kept = float(np.sum(p0[top] - p1[top]))
            row["true_kept"] = true_kept
            row["true_profit"] = (
                customer_value * true_kept
                - contact_cost * top.shape[0]
                - incentive_cost * float(np.sum(1.0 - p1[top]))
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("ranking")


def uplift_report_section(
    y_true: Any,
    treatment: Any,
    uplift: Any,
    churn_score: Any,
    *,
    fraction: float = 0.3,
    customer_value: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    pos_label: Any = None,
) -> str:
    """Render the report-card section: target by uplift or by churn risk.

    Computes :func:`compare_targeting` at the same budget and the Qini
    coefficients of both rankings, and renders them as a self-contained
    ``<section>`` (escaped; no scripts, no external resources) to be inserted
    into the report card's body.

    Parameters
    ----------
    y_true, treatment, uplift, churn_score : array-like of shape (n_samples,)
        Campaign outcomes, offers, uplift scores and churn probabilities of the
        same customers, see :func:`compare_targeting`.
    fraction : float in (0, 1], default=0.3
        The budget: share of customers offered the incentive.
    customer_value, incentive_cost, contact_cost : float, default=200, 10, 1
        Campaign economics, see :func:`compare_targeting`.
    pos_label : int, bool or str, default=None
        The churn label.

    Returns
    -------
    str
        ``<section id="uplift">...</section>``.

    Examples
    --------
    >>> from churnlib.evaluation import uplift_report_section
    >>> html = uplift_report_section(
    ...     [0, 1, 0, 1, 1, 0, 1, 1],
    ...     [1, 0, 1, 0, 1, 0, 1, 0],
    ...     [8, 7, 6, 5, 4, 3, 2, 1],
    ...     [1, 2, 3, 4, 5, 6, 7, 8],
    ...     fraction=0.5,
    ... )
    >>> html.startswith('<section id="uplift">')
    True
    """
    table = compare_targeting(
        y_true,
        treatment,
        uplift,
        churn_score,
        fraction=fraction,
        customer_value=customer_value,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        pos_label=pos_label,
    )
    q_uplift = qini_coefficient(y_true, uplift, treatment, pos_label=pos_label)
    q_churn = qini_coefficient(y_true, churn_score, treatment, pos_label=pos_label)
    by_uplift, by_churn = table.loc["uplift"], table.loc["churn probability"]
    better = "uplift" if by_uplift["profit"] >= by_churn["profit"] else "churn risk"
    verdict = (
        f"Offering the incentive to the {fraction:.0%} of customers with the "
        f"highest uplift keeps an estimated {by_uplift['kept']:,.0f} customers "
        f"and earns {by_uplift['profit']:,.0f}; offering it to the {fraction:.0%} "
        f"most likely to churn keeps {by_churn['kept']:,.0f} and earns "
        f"{by_churn['profit']:,.0f}. At this budget, target by {better}."
    )
    body = "\n".join(
        "<tr>"
        f"<th>{esc(label)}</th>"
        f"<td class='num'>{row['targeted']:,.0f}</td>"
        f"<td class='num'>{row['churn_rate_offered']:.1%}</td>"
        f"<td class='num'>{row['churn_rate_not_offered']:.1%}</td>"
        f"<td class='num'>{row['kept']:,.1f}</td>"
        f"<td class='num'>{row['profit']:,.0f}</td>"
        "</tr>"
        for label, row in table.iterrows()
    )
    return f"""<section id="uplift">
<h2>Whom to target: uplift vs churn risk</h2>
<p>{esc(verdict)}</p>
<p>Qini coefficient (0 = random, 1 = perfect): uplift ranking
{q_uplift:.3f}, churn-probability ranking {q_churn:.3f}.</p>
<table>
<thead><tr><th>ranking</th><th>offered</th><th>churn rate with offer</th>
<th>churn rate without offer</th><th>customers kept</th><th>profit</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
<p>Customers kept and incentives redeemed (offered customers who stay) are
estimated for the top {fraction:.0%} of each ranking from the campaign's
randomised arms; profit = {esc(f"{customer_value:g}")} per customer kept
&minus; {esc(f"{contact_cost:g}")} per contact &minus;
{esc(f"{incentive_cost:g}")} per incentive redeemed.</p>
</section>"""
