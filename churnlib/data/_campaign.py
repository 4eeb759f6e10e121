"""Synthetic retention campaigns whose offer effect is known for every customer.

:func:`generate_campaign` draws the same customers as
:func:`~churnlib.data.generate_customers` (same seed, same features), assigns a
retention offer (at random or by a targeting policy) and lets the offer change
each customer's churn probability by a documented, heterogeneous amount
(``EFFECT_COEFFICIENTS``). Both potential outcomes are drawn from ONE uniform
number per customer, so every customer falls in exactly one of the four
classical uplift segments: persuadable, sure thing, lost cause, sleeping dog.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from churnlib._validation import Interval, validate_params
from churnlib.data._generator import (
    TRUTH_COEFFICIENTS,
    _as_generator,
    _customer_ids,
    _draw_features,
    _Population,
    _slope,
    _solve_intercept,
    _to_frame,
)
from churnlib.exceptions import DataValidationError

__all__ = ["EFFECT_COEFFICIENTS", "SEGMENTS", "generate_campaign"]

#: The offer's effect on the log-odds of churn (negative keeps customers).
#:
#: - ``sleeping dog``: added for the ``sleeping_dog_share`` of customers with
#:   the highest *contact aversion* ``(monthly_charges - 70) / 15 + 1.0 *
#:   fiber optic + 0.4 * paperless_billing - 0.6 * tech_support + (age - 48) /
#:   40`` (ties broken by the table order): expensive fibre customers who, once
#:   reminded of their contract, shop around.
#: - everyone else: ``-(base + month-to-month + one year)`` scaled by
#:   ``max(0, 1 - support_calls / 3)``: month-to-month customers respond most,
#:   two-year customers least, and a customer with 3 or more support calls has
#:   already decided (a lost cause whatever the offer).
EFFECT_COEFFICIENTS: Mapping[str, float] = MappingProxyType(
    {
        "sleeping dog": 1.4,
        "base": -0.3,
        "contract[month-to-month]": -1.6,
        "contract[one year]": -0.7,
        "support_calls saturation": 3.0,
    }
)

#: The four uplift segments, from the two potential outcomes of a customer.
SEGMENTS: tuple[str, ...] = ("persuadable", "sure thing", "lost cause", "sleeping dog")


def _contact_aversion(f: Mapping[str, np.ndarray]) -> np.ndarray:
    """Documented score whose top ``sleeping_dog_share`` are sleeping dogs."""
    score: np.ndarray = (
        (f["monthly_charges"] - 70.0) / 15.0
        + 1.0 * (f["internet_service"] == 1)
        + 0.4 * f["paperless_billing"]
        - 0.6 * f["tech_support"]
        + (f["age"] - 48.0) / 40.0
    )
    return score


def _effect_logit(
    f: Mapping[str, np.ndarray], sleeping_dog_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds shift of the offer for each customer, and the sleeping-dog mask."""
    n = f["contract"].shape[0]
    c = EFFECT_COEFFICIENTS
    helpful = (
        c["base"]
        + c["contract[month-to-month]"] * (f["contract"] == 0)
        + c["contract[one year]"] * (f["contract"] == 1)
    ) * np.maximum(0.0, 1.0 - f["support_calls"] / c["support_calls saturation"])
    n_dogs = round(sleeping_dog_share * n)
    dogs = np.zeros(n, dtype=bool)
    if n_dogs:
        # Stable sort: ties broken by table order, so the share is exact.
        order = np.argsort(-_contact_aversion(f), kind="stable")
        dogs[order[:n_dogs]] = True
    return np.where(dogs, c["sleeping dog"], helpful), dogs


Policy = Callable[[pd.DataFrame], Any]


def _propensity(
    treatment_share: float | Policy, frame: pd.DataFrame, proba: np.ndarray
) -> np.ndarray:
    """Probability of receiving the offer for each customer."""
    n = frame.shape[0]
    if not callable(treatment_share):
        return np.full(n, float(treatment_share))
    view = frame.assign(churn_probability=proba)
    raw = treatment_share(view)
    try:
        p = np.asarray(raw, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise DataValidationError(
            "generate_campaign: the treatment_share policy must return one offer "
            f"probability per customer (numbers in [0, 1]); got {type(raw).__name__}."
        ) from err
    if p.shape[0] != n or not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise DataValidationError(
            "generate_campaign: the treatment_share policy must return "
            f"{n} offer probabilities in [0, 1] (one per customer); got "
            f"{p.shape[0]} value(s) in [{np.nanmin(p) if p.size else 0:.3g}, "
            f"{np.nanmax(p) if p.size else 0:.3g}]. Return e.g. "
            "np.where(df['churn_probability'] > 0.5, 0.9, 0.1)."
        )
    return p


def generate_campaign(
    n_customers: int = 10_000,
    *,
    treatment_share: float | Policy = 0.5,
    sleeping_dog_share: float = 0.1,
    churn_rate: float | None = None,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
    return_truth: bool = False,
) -> pd.DataFrame:
    """Generate a retention campaign with a known effect of the offer on churn.

    The customers are exactly those of :func:`generate_customers` with the same
    ``n_customers``, ``churn_rate`` and ``random_state``; each is then offered a
    retention incentive (column ``offer``) at random or by a targeting policy.
    Without the offer a customer churns with the documented probability of
    :func:`generate_customers` (``p0``); with it, with ``p1 = expit(logit(p0) +
    effect)``, the log-odds shift ``effect`` following
    ``EFFECT_COEFFICIENTS``. ``churned`` is the outcome under the arm the
    customer was in. Customers *not* offered get exactly the label
    :func:`generate_customers` draws for them.

    Parameters
    ----------
    n_customers : int, default=10_000
        Number of customers (``>= 0``).
    treatment_share : float in [0, 1] or callable, default=0.5
        Share of customers offered the incentive, assigned independently at
        random (a randomised campaign). A callable is a *targeting policy*: it
        receives the customer table (features and ``churn_probability``, the
        churn probability without offer) and returns each customer's
        probability of being offered; the truth then includes it as
        ``propensity``.
    sleeping_dog_share : float in [0, 1), default=0.1
        Share of customers whom the offer makes MORE likely to churn (log-odds
        ``+1.4``): those with the highest contact aversion, see
        ``EFFECT_COEFFICIENTS``. Only some of them are sleeping dogs by
        outcome (the others churn or stay either way).
    churn_rate : float in (0, 1), default=None
        Mean churn probability without offer, as in :func:`generate_customers`.
    random_state : int, numpy Generator, RandomState or None, default=None
        Seed. The same integer always gives an identical frame.
    return_truth : bool, default=False
        Add the truth columns ``churn_probability_control`` (``p0``),
        ``churn_probability_treated`` (``p1``), ``true_uplift`` (``p0 - p1``:
        the churn probability the offer removes; negative for customers it
        pushes away), ``segment`` (one of ``SEGMENTS``) and ``propensity``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`generate_customers` with ``offer`` (bool: the
        incentive was offered) just before ``churned``, and the truth columns
        when asked.

    Raises
    ------
    InvalidParameterError
        If a parameter is out of range or of the wrong type.
    DataValidationError
        If a targeting policy returns something other than one probability in
        [0, 1] per customer.

    See Also
    --------
    generate_customers : The same customers without a campaign.
    churnlib.uplift.TwoModelUplift : Learn the offer effect from the campaign.

    Notes
    -----
    The two potential outcomes share one uniform draw ``u``: ``churn without
    offer = u < p0`` and ``churn with offer = u < p1``. Hence the segments:
    *persuadable* (churns only without the offer: ``p1 <= u < p0``), *sleeping
    dog* (churns only with it: ``p0 <= u < p1``), *lost cause* (churns either
    way: ``u < min(p0, p1)``) and *sure thing* (stays either way).
    ``true_uplift`` is the expected effect ``p0 - p1``, the quantity uplift
    models estimate.

    Examples
    --------
    >>> from churnlib.data import generate_campaign, generate_customers
    >>> df = generate_campaign(2_000, random_state=0, return_truth=True)
    >>> round(float(df["offer"].mean()), 2)
    0.49
    >>> control = ~df["offer"]
    >>> plain = generate_customers(2_000, random_state=0)
    >>> bool((df.loc[control, "churned"] == plain.loc[control, "churned"]).all())
    True
    >>> sorted(df["segment"].unique())
    ['lost cause', 'persuadable', 'sleeping dog', 'sure thing']
    """
    validate_params(
        {
            "n_customers": [Interval(numbers.Integral, 0, None, closed="left")],
            "treatment_share": [Interval(numbers.Real, 0, 1, closed="both"), callable],
            "sleeping_dog_share": [Interval(numbers.Real, 0, 1, closed="left")],
            "churn_rate": [Interval(numbers.Real, 0, 1, closed="neither"), None],
            "random_state": ["random_state"],
            "return_truth": ["boolean"],
        },
        {
            "n_customers": n_customers,
            "treatment_share": treatment_share,
            "sleeping_dog_share": sleeping_dog_share,
            "churn_rate": churn_rate,
            "random_state": random_state,
            "return_truth": return_truth,
        },
        "generate_campaign",
    )
    n = int(n_customers)
    rng = _as_generator(random_state)
    # Same draws, in the same order, as generate_customers: features, then u.
    features = _draw_features(rng, n, _Population())
    eta = _slope(features, TRUTH_COEFFICIENTS)
    if churn_rate is None:
        intercept = TRUTH_COEFFICIENTS["intercept"]
    else:
        intercept = _solve_intercept(eta, float(churn_rate))
    p0 = expit(eta + intercept)
    u = rng.random(n)
    effect, _ = _effect_logit(features, float(sleeping_dog_share))
    p1 = expit(eta + intercept + effect)
    df = _to_frame(features, _customer_ids(0, n))
    propensity = _propensity(treatment_share, df, p0)
    offer = rng.random(n) < propensity
    churn0 = u < p0
    churn1 = u < p1
    df["offer"] = offer
    df["churned"] = np.where(offer, churn1, churn0)
    if return_truth:
        df["churn_probability_control"] = p0
        df["churn_probability_treated"] = p1
        df["true_uplift"] = p0 - p1
        codes = np.select(
            [churn0 & ~churn1, ~churn0 & ~churn1, churn0 & churn1],
            [0, 1, 2],
            default=3,
        )
        df["segment"] = pd.Categorical.from_codes(codes, categories=list(SEGMENTS))
        df["propensity"] = propensity
    return df
