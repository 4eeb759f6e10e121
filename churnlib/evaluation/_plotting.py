"""scikit-learn-style Displays for the churn curves.

Each Display follows scikit-learn's pattern: ``__init__`` stores precomputed
values, ``plot(*, ax=None, name=None, **kwargs)`` draws them and keeps the
artists (``ax_``, ``figure_``, ``line_``), ``from_predictions`` computes the
curve with the public metric function and ``from_estimator`` scores a model
and hands over to ``from_predictions``. matplotlib is imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from churnlib._core.alignment import aligned_labels
from churnlib._optional import check_matplotlib_support
from churnlib._validation import StrOptions, validate_params
from churnlib.evaluation._checks import final_estimator, positive_proba
from churnlib.evaluation._metrics import (
    cumulative_gain,
    expected_campaign_profit,
    lift_curve,
)
from churnlib.exceptions import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "CumulativeGainDisplay",
    "LiftCurveDisplay",
    "ProfitCurveDisplay",
    "check_matplotlib_support",
]


_RESPONSE_METHOD = {
    "response_method": [StrOptions({"auto", "predict_proba", "decision_function"})]
}


def _binary_scores(
    estimator: Any, X: Any, *, response_method: str, pos_label: Any, caller: str
) -> tuple[np.ndarray, Any]:
    """Churn scores of ``estimator`` on ``X`` (probability or decision value)."""
    validate_params(_RESPONSE_METHOD, {"response_method": response_method}, caller)
    if response_method in ("auto", "predict_proba") and hasattr(
        estimator, "predict_proba"
    ):
        return positive_proba(estimator, X, pos_label=pos_label, caller=caller)
    if response_method in ("auto", "decision_function") and hasattr(
        estimator, "decision_function"
    ):
        classes = list(getattr(estimator, "classes_", [0, 1]))
        if pos_label is None:
            pos_label = classes[-1]
        if pos_label not in classes:
            raise InvalidParameterError(
                f"{caller}: pos_label={pos_label!r} is not one of the estimator's "
                f"classes {classes!r}."
            )
        scores = np.asarray(estimator.decision_function(X), dtype=np.float64)
        return (scores if pos_label == classes[-1] else -scores), pos_label
    raise InvalidParameterError(
        f"{caller} needs an estimator with {response_method!r} "
        "(predict_proba or decision_function for 'auto'); "
        f"{type(estimator).__name__} has none."
    )


class _DisplayMixin:
    """Axes set-up shared by every churnlib Display (private)."""

    name: str | None

    def _setup_ax(self, ax: Axes | None, name: str | None) -> tuple[Axes, str | None]:
        """Check matplotlib, create the axes if needed, store ``ax_``/``figure_``.

        Returns the axes and the legend name (``name``, else ``self.name``).
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        if name is None:
            name = self.name
        self.ax_ = ax
        self.figure_ = ax.figure
        return ax, name


class _ChurnCurveDisplayMixin(_DisplayMixin):
    """Shared flow of the churn curve Displays (private).

    ``plot`` draws its curve with :meth:`_plot_curve` and labels the axes
    with :meth:`_finish_plot`; ``from_estimator`` scores the model and hands
    over to the subclass's ``from_predictions`` with :meth:`_from_estimator`.
    """

    _xlabel = "Fraction of customers targeted (highest scores first)"

    fractions: np.ndarray
    if TYPE_CHECKING:  # pragma: no cover
        from_predictions: ClassVar[Callable[..., Any]]

    def _plot_curve(
        self, values: np.ndarray, *, ax: Axes | None, name: str | None, kwargs: Any
    ) -> tuple[Axes, str | None]:
        """Set up the axes and draw ``values`` by fraction targeted as ``line_``."""
        ax, name = self._setup_ax(ax, name)
        (self.line_,) = ax.plot(self.fractions, values, **{"label": name, **kwargs})
        return ax, name

    def _finish_plot(
        self,
        ax: Axes,
        *,
        ylabel: str,
        legend: bool,
        loc: Literal["upper right", "lower right", "best"],
        **limits: Any,
    ) -> None:
        """Axis labels and limits, a percent x axis and (if asked) the legend."""
        ax.set(xlabel=self._xlabel, ylabel=ylabel, xlim=(0, 1.01), **limits)
        self._percent_axis(ax.xaxis)
        if legend:
            ax.legend(loc=loc)

    @staticmethod
    def _percent_axis(axis: Any) -> None:
        from matplotlib.ticker import PercentFormatter

        axis.set_major_formatter(PercentFormatter(xmax=1.0))

    @classmethod
    def _from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        response_method: str,
        pos_label: Any,
        name: str | None,
        **from_predictions_kwargs: Any,
    ) -> Self:
        """Score ``X``, name the curve after the model, call ``from_predictions``."""
        caller = f"{cls.__name__}.from_estimator"
        check_matplotlib_support(caller)
        y = aligned_labels(X, y, caller=caller)
        scores, pos_label = _binary_scores(
            estimator,
            X,
            response_method=response_method,
            pos_label=pos_label,
            caller=caller,
        )
        if name is None:
            name = type(final_estimator(estimator)).__name__
        display: Self = cls.from_predictions(
            y, scores, pos_label=pos_label, name=name, **from_predictions_kwargs
        )
        return display


class LiftCurveDisplay(_ChurnCurveDisplayMixin):
    """Lift curve visualization: how many times better than random targeting.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, or from
    the output of :func:`~churnlib.evaluation.lift_curve`. All parameters are
    stored as attributes.

    Parameters
    ----------
    fractions : ndarray
        Fraction of customers targeted, from :func:`lift_curve`.
    lift : ndarray
        Lift at each fraction.
    name : str, default=None
        Name of the model, for the legend.
    pos_label : int, bool or str, default=None
        The churn class the lift refers to.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The lift curve.
    chance_level_ : matplotlib Line2D or None
        The random-targeting baseline at lift 1.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    lift_curve : Compute the curve.
    CumulativeGainDisplay : Share of churners captured.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from churnlib.evaluation import LiftCurveDisplay
    >>> display = LiftCurveDisplay.from_predictions(
    ...     [1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]
    ... )
    >>> display.line_.get_ydata()
    array([3. , 1.5, 2. , 1.5, 1.2, 1. ])
    """

    def __init__(
        self,
        *,
        fractions: np.ndarray,
        lift: np.ndarray,
        name: str | None = None,
        pos_label: Any = None,
    ) -> None:
        self.fractions = fractions
        self.lift = lift
        self.name = name
        self.pos_label = pos_label

    def plot(
        self,
        *,
        ax: Axes | None = None,
        name: str | None = None,
        plot_chance_level: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the lift curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        name : str, default=None
            Legend label; defaults to the ``name`` given at construction.
        plot_chance_level : bool, default=True
            Draw the random-targeting baseline (lift 1).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        LiftCurveDisplay
            This object, with the artists stored.
        """
        ax, name = self._plot_curve(self.lift, ax=ax, name=name, kwargs=kwargs)
        self.chance_level_ = None
        if plot_chance_level:
            self.chance_level_ = ax.axhline(
                1.0, color="k", linestyle="--", linewidth=1, label="Random (lift 1)"
            )
        self._finish_plot(
            ax,
            ylabel="Lift",
            ylim=(0, None),
            legend=name is not None or plot_chance_level,
            loc="upper right",
        )
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_score: Any,
        *,
        sample_weight: Any = None,
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        plot_chance_level: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the lift curve from true labels and scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True binary labels.
        y_score : array-like of shape (n_samples,)
            Churn scores (probabilities or decision values).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        pos_label : int, bool or str, default=None
            The churn class; ``None`` means ``1``/``True``.
        name : str, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_chance_level : bool, default=True
            Draw the random baseline.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        LiftCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        fractions, lift, _ = lift_curve(
            y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
        )
        display = cls(fractions=fractions, lift=lift, name=name, pos_label=pos_label)
        return display.plot(ax=ax, plot_chance_level=plot_chance_level, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        response_method: str = "auto",
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        plot_chance_level: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the lift curve of a fitted classifier on ``X, y``.

        Parameters
        ----------
        estimator : fitted classifier
            Binary classifier with ``predict_proba`` or ``decision_function``.
        X : array-like or DataFrame of shape (n_samples, n_features)
            Input values.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        response_method : {"auto", "predict_proba", "decision_function"}, \
                default="auto"
            Which scores to use; ``"auto"`` tries ``predict_proba`` first.
        pos_label : int, bool or str, default=None
            The churn class; ``None`` means the estimator's second class.
        name : str, default=None
            Legend label; defaults to the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_chance_level : bool, default=True
            Draw the random baseline.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        LiftCurveDisplay
        """
        return cls._from_estimator(
            estimator,
            X,
            y,
            response_method=response_method,
            sample_weight=sample_weight,
            pos_label=pos_label,
            name=name,
            ax=ax,
            plot_chance_level=plot_chance_level,
            **kwargs,
        )


class CumulativeGainDisplay(_ChurnCurveDisplayMixin):
    """Cumulative gain visualization: share of churners reached by targeting.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, or from
    the output of :func:`~churnlib.evaluation.cumulative_gain`.

    Parameters
    ----------
    fractions : ndarray
        Fraction of customers targeted, starting at 0.
    gains : ndarray
        Fraction of all churners among those targeted.
    name : str, default=None
        Name of the model, for the legend.
    pos_label : int, bool or str, default=None
        The churn class.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The gain curve.
    chance_level_ : matplotlib Line2D or None
        The diagonal of random targeting.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    cumulative_gain : Compute the curve.
    LiftCurveDisplay : Gain divided by the fraction targeted.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from churnlib.evaluation import CumulativeGainDisplay
    >>> display = CumulativeGainDisplay.from_predictions(
    ...     [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]
    ... )
    >>> display.line_.get_ydata()
    array([0. , 0.5, 0.5, 1. , 1. ])
    """

    def __init__(
        self,
        *,
        fractions: np.ndarray,
        gains: np.ndarray,
        name: str | None = None,
        pos_label: Any = None,
    ) -> None:
        self.fractions = fractions
        self.gains = gains
        self.name = name
        self.pos_label = pos_label

    def plot(
        self,
        *,
        ax: Axes | None = None,
        name: str | None = None,
        plot_chance_level: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the cumulative gain curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        name : str, default=None
            Legend label; defaults to the ``name`` given at construction.
        plot_chance_level : bool, default=True
            Draw the diagonal of random targeting.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        CumulativeGainDisplay
            This object, with the artists stored.
        """
        ax, name = self._plot_curve(self.gains, ax=ax, name=name, kwargs=kwargs)
        self.chance_level_ = None
        if plot_chance_level:
            (self.chance_level_,) = ax.plot(
                [0, 1], [0, 1], color="k", linestyle="--", linewidth=1, label="Random"
            )
        self._percent_axis(ax.yaxis)
        self._finish_plot(
            ax,
            ylabel="Share of churners reached",
            ylim=(0, 1.01),
            legend=name is not None or plot_chance_level,
            loc="lower right",
        )
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_score: Any,
        *,
        sample_weight: Any = None,
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        plot_chance_level: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the cumulative gain curve from true labels and scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True binary labels.
        y_score : array-like of shape (n_samples,)
            Churn scores.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        pos_label : int, bool or str, default=None
            The churn class; ``None`` means ``1``/``True``.
        name : str, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_chance_level : bool, default=True
            Draw the random diagonal.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        CumulativeGainDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        fractions, gains, _ = cumulative_gain(
            y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
        )
        display = cls(fractions=fractions, gains=gains, name=name, pos_label=pos_label)
        return display.plot(ax=ax, plot_chance_level=plot_chance_level, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        response_method: str = "auto",
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        plot_chance_level: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the cumulative gain curve of a fitted classifier on ``X, y``.

        Parameters
        ----------
        estimator : fitted classifier
            Binary classifier with ``predict_proba`` or ``decision_function``.
        X : array-like or DataFrame of shape (n_samples, n_features)
            Input values.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        response_method : {"auto", "predict_proba", "decision_function"}, \
                default="auto"
            Which scores to use.
        pos_label : int, bool or str, default=None
            The churn class; ``None`` means the estimator's second class.
        name : str, default=None
            Legend label; defaults to the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        plot_chance_level : bool, default=True
            Draw the random diagonal.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        CumulativeGainDisplay
        """
        return cls._from_estimator(
            estimator,
            X,
            y,
            response_method=response_method,
            sample_weight=sample_weight,
            pos_label=pos_label,
            name=name,
            ax=ax,
            plot_chance_level=plot_chance_level,
            **kwargs,
        )


class ProfitCurveDisplay(_ChurnCurveDisplayMixin):
    """Expected campaign profit by fraction of customers targeted.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, or from
    a :class:`~churnlib.evaluation.CampaignProfit`.

    Parameters
    ----------
    fractions : ndarray
        Fraction of customers contacted, starting at 0.
    profits : ndarray
        Expected profit at each fraction.
    best_fraction : float, default=None
        Fraction of the most profitable campaign, marked on the plot.
    best_profit : float, default=None
        Its profit.
    name : str, default=None
        Name of the model, for the legend.
    pos_label : int, bool or str, default=None
        The churn class.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The profit curve.
    best_marker_ : matplotlib Line2D or None
        Marker at the most profitable campaign.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    expected_campaign_profit : Compute the curve and the best campaign.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from churnlib.evaluation import ProfitCurveDisplay
    >>> display = ProfitCurveDisplay.from_predictions(
    ...     [1, 0, 1, 0],
    ...     [0.9, 0.8, 0.7, 0.1],
    ...     customer_value=200,
    ...     incentive_cost=10,
    ...     contact_cost=1,
    ...     acceptance_rate=0.3,
    ... )
    >>> display.line_.get_ydata()
    array([  0.,  56.,  45., 101.,  90.])
    >>> display.best_fraction, display.best_profit
    (0.75, 101.0)
    """

    def __init__(
        self,
        *,
        fractions: np.ndarray,
        profits: np.ndarray,
        best_fraction: float | None = None,
        best_profit: float | None = None,
        name: str | None = None,
        pos_label: Any = None,
    ) -> None:
        self.fractions = fractions
        self.profits = profits
        self.best_fraction = best_fraction
        self.best_profit = best_profit
        self.name = name
        self.pos_label = pos_label

    def plot(
        self,
        *,
        ax: Axes | None = None,
        name: str | None = None,
        mark_best: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the profit curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        name : str, default=None
            Legend label; defaults to the ``name`` given at construction.
        mark_best : bool, default=True
            Mark the most profitable campaign (when ``best_fraction`` is set).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        ProfitCurveDisplay
            This object, with the artists stored.
        """
        ax, name = self._plot_curve(self.profits, ax=ax, name=name, kwargs=kwargs)
        ax.axhline(0.0, color="k", linewidth=0.8)
        self.best_marker_ = None
        if (
            mark_best
            and self.best_fraction is not None
            and self.best_profit is not None
        ):
            (self.best_marker_,) = ax.plot(
                [self.best_fraction],
                [self.best_profit],
                "o",
                color=self.line_.get_color(),
                label=(
                    f"Best: contact {self.best_fraction:.1%}, "
                    f"profit {self.best_profit:,.0f}"
                ),
            )
        self._finish_plot(
            ax,
            ylabel="Expected campaign profit",
            legend=name is not None or self.best_marker_ is not None,
            loc="best",
        )
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_score: Any,
        *,
        customer_value: float,
        incentive_cost: float,
        contact_cost: float,
        acceptance_rate: float,
        sample_weight: Any = None,
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        mark_best: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the profit curve from true labels and scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True binary labels.
        y_score : array-like of shape (n_samples,)
            Churn scores.
        customer_value, incentive_cost, contact_cost, acceptance_rate : float
            Campaign economics, see :func:`expected_campaign_profit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        pos_label : int, bool or str, default=None
            The churn class; ``None`` means ``1``/``True``.
        name : str, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        mark_best : bool, default=True
            Mark the most profitable campaign.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        ProfitCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        result = expected_campaign_profit(
            y_true,
            y_score,
            customer_value=customer_value,
            incentive_cost=incentive_cost,
            contact_cost=contact_cost,
            acceptance_rate=acceptance_rate,
            pos_label=pos_label,
            sample_weight=sample_weight,
        )
        display = cls(
            fractions=result.fractions,
            profits=result.profits,
            best_fraction=result.fraction,
            best_profit=result.profit,
            name=name,
            pos_label=pos_label,
        )
        return display.plot(ax=ax, mark_best=mark_best, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        customer_value: float,
        incentive_cost: float,
        contact_cost: float,
        acceptance_rate: float,
        sample_weight: Any = None,
        response_method: str = "auto",
        pos_label: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        mark_best: bool = True,
        **kwargs: Any,
    ) -> Self:
        """Plot the profit curve of a fitted classifier on ``X, y``.

        Parameters
        ----------
        estimator : fitted classifier
            Binary classifier with ``predict_proba`` or ``decision_function``.
        X : array-like or DataFrame of shape (n_samples, n_features)
            Input values.
        y : array-like of shape (n_samples,)
            True labels.
        customer_value, incentive_cost, contact_cost, acceptance_rate : float
            Campaign economics, see :func:`expected_campaign_profit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        response_method : {"auto", "predict_proba", "decision_function"}, \
                default="auto"
            Which scores to use.
        pos_label : int, bool or str, default=None
            The churn class; ``None`` means the estimator's second class.
        name : str, default=None
            Legend label; defaults to the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        mark_best : bool, default=True
            Mark the most profitable campaign.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        ProfitCurveDisplay
        """
        return cls._from_estimator(
            estimator,
            X,
            y,
            response_method=response_method,
            customer_value=customer_value,
            incentive_cost=incentive_cost,
            contact_cost=contact_cost,
            acceptance_rate=acceptance_rate,
            sample_weight=sample_weight,
            pos_label=pos_label,
            name=name,
            ax=ax,
            mark_best=mark_best,
            **kwargs,
        )
