"""A customer base re-scored over months, with known churn dates."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from churnlib._validation import Interval, validate_params
from churnlib.data._generator import generate_customers
from churnlib.exceptions import InvalidParameterError

__all__ = ["CustomerBase", "Scoring", "simulate_customer_base"]

_DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Scoring:
    """One scoring run over the customers still active at ``scored_at``.

    Attributes
    ----------
    index : int
        Scoring number, from 0.
    scored_at : pandas.Timestamp
        When the base was scored (naive UTC).
    X : pandas.DataFrame
        Features of the active customers at ``scored_at``, with
        ``customer_id``; tenure and total charges have grown since the start.
    truth : pandas.Series of float
        The Bayes-optimal probability that each customer churns within the
        horizon after ``scored_at``.
    """

    index: int
    scored_at: pd.Timestamp
    X: pd.DataFrame
    truth: pd.Series

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        return (
            f"Scoring(index={self.index}, n={len(self.X)}, "
            f"scored_at={self.scored_at!s})"
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class CustomerBase:
    """What :func:`simulate_customer_base` returns.

    Attributes
    ----------
    scorings : tuple of Scoring
        The scoring runs, in time order.
    events : pandas.DataFrame
        ``customer_id`` and ``churned_at``: one row per customer who churned
        before ``observed_until`` (sorted by date).
    churn_dates : pandas.Series of datetime64
        Every customer's true churn date (indexed by ``customer_id``; may lie
        after ``observed_until``).
    horizon : pandas.Timedelta
        The churn horizon the truth refers to.
    observed_until : pandas.Timestamp
        Events are complete up to this time: the last scoring plus the horizon.
    """

    scorings: tuple[Scoring, ...]
    events: pd.DataFrame
    churn_dates: pd.Series
    horizon: pd.Timedelta
    observed_until: pd.Timestamp

    def __repr__(self) -> str:
        return (
            f"CustomerBase(customers={len(self.churn_dates)}, "
            f"scorings={len(self.scorings)}, events={len(self.events)}, "
            f"horizon={self.horizon!s})"
        )

    def labels(self, index: int) -> pd.Series:
        """Whether each customer of scoring ``index`` churned within the horizon.

        Parameters
        ----------
        index : int
            The scoring.

        Returns
        -------
        pandas.Series of bool
            Aligned with ``scorings[index].X``.
        """
        s = self.scorings[index]
        dates = self.churn_dates.reindex(s.X["customer_id"]).to_numpy()
        within = (dates >= s.scored_at.to_datetime64()) & (
            dates < (s.scored_at + self.horizon).to_datetime64()
        )
        return pd.Series(within, index=s.X.index, name="churned")


def simulate_customer_base(
    n_customers: int = 5000,
    n_scorings: int = 6,
    *,
    freq: str | timedelta | pd.Timedelta = "30D",
    horizon: str | timedelta | pd.Timedelta = "90D",
    start: str | pd.Timestamp = "2026-01-01",
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
) -> CustomerBase:
    """Follow one customer base over months: re-scored, churning on known dates.

    The base is drawn once with :func:`generate_customers`. Each customer has
    a constant churn hazard chosen so that the probability of churning within
    ``horizon`` is the generator's Bayes-optimal ``churn_probability``; the
    churn date is an exponential draw from ``start``. The base is scored every
    ``freq``: each scoring holds the customers who have not churned yet, with
    tenure and total charges grown by the elapsed months. Because the hazard
    is constant, ``truth`` (the probability of churning within the horizon
    after a scoring) is the same at every scoring.

    Parameters
    ----------
    n_customers : int, default=5000
        Size of the base (``>= 1``).
    n_scorings : int, default=6
        Scoring runs (``>= 1``), at ``start + i * freq``.
    freq : str or timedelta, default="30D"
        Time between scorings.
    horizon : str or timedelta, default="90D"
        Churn horizon of the truth (what "churns" means for a prediction).
    start : str or pandas.Timestamp, default="2026-01-01"
        First scoring time.
    random_state : int, numpy Generator, RandomState or None, default=None
        Seed; the same seed gives the same base, scorings and dates.

    Returns
    -------
    CustomerBase

    Examples
    --------
    >>> from churnlib.data import simulate_customer_base
    >>> base = simulate_customer_base(1000, 3, random_state=0)
    >>> [len(s) for s in base.scorings][0]
    1000
    >>> len(base.scorings[2]) < 1000
    True
    >>> base.events.columns.tolist()
    ['customer_id', 'churned_at']
    >>> bool(abs(base.labels(0).mean() - base.scorings[0].truth.mean()) < 0.05)
    True
    """
    validate_params(
        {
            "n_customers": [Interval(numbers.Integral, 1, None, closed="left")],
            "n_scorings": [Interval(numbers.Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
        },
        {
            "n_customers": n_customers,
            "n_scorings": n_scorings,
            "random_state": random_state,
        },
        "simulate_customer_base",
    )
    step = _duration(freq, "freq")
    span = _duration(horizon, "horizon")
    try:
        t0 = pd.Timestamp(start)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            "The 'start' parameter of simulate_customer_base must be a timestamp "
            f"such as '2026-01-01'. Got {start!r} instead."
        ) from err
    if t0.tzinfo is not None:
        t0 = t0.tz_convert("UTC").tz_localize(None)
    rng = np.random.default_rng(
        random_state
        if not isinstance(random_state, np.random.RandomState)
        else random_state.randint(0, 2**32 - 1)
    )
    base = generate_customers(
        int(n_customers), random_state=rng, return_truth=True
    ).drop(columns="churned")
    p = base.pop("churn_probability").to_numpy()
    # constant hazard with P(T < horizon) = p
    rate = -np.log1p(-np.clip(p, 1e-9, 1 - 1e-9)) / span.value
    waits = rng.exponential(1.0 / rate)
    churn_at = t0 + pd.to_timedelta(np.minimum(waits, 1e18).astype(np.int64), unit="ns")
    churn_dates = pd.Series(
        churn_at.floor("s").to_numpy(),
        index=pd.Index(base["customer_id"].to_numpy(), name="customer_id"),
        name="churned_at",
    )
    scorings = []
    for i in range(int(n_scorings)):
        at = t0 + i * step
        active = churn_dates.to_numpy() >= at.to_datetime64()
        months = round((at - t0) / pd.Timedelta(days=_DAYS_PER_MONTH))
        X = base.loc[active].copy()
        X["tenure_months"] = X["tenure_months"] + months
        X["total_charges"] = X["total_charges"] + months * X["monthly_charges"]
        X = X.reset_index(drop=True)
        truth = pd.Series(p[active], index=X.index, name="churn_probability")
        scorings.append(Scoring(index=i, scored_at=at, X=X, truth=truth))
    until = t0 + (int(n_scorings) - 1) * step + span
    seen = churn_dates[churn_dates < until].sort_values(kind="stable")
    events = pd.DataFrame(
        {"customer_id": seen.index.to_numpy(), "churned_at": seen.to_numpy()}
    )
    return CustomerBase(
        scorings=tuple(scorings),
        events=events,
        churn_dates=churn_dates,
        horizon=span,
        observed_until=until,
    )


def _duration(value: object, name: str) -> pd.Timedelta:
    try:
        td = pd.Timedelta(value)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            f"The {name!r} parameter of simulate_customer_base must be a duration "
            f"like '30D'. Got {value!r} instead."
        ) from err
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise InvalidParameterError(
            f"The {name!r} parameter of simulate_customer_base must be a positive "
            f"duration. Got {value!r} instead."
        )
    return td
