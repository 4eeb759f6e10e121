"""Datasets shipped inside churnlib."""

from __future__ import annotations

import hashlib
from importlib.resources import as_file, files
from typing import Literal, overload

import pandas as pd

from churnlib.data._reader import read_churn_table
from churnlib.data._schema import ChurnSchema
from churnlib.exceptions import DataValidationError, InvalidParameterError

__all__ = ["TELCO_SHA256", "load_telco"]

#: sha256 of the shipped ``telco_customer_churn.csv`` (checked on load).
TELCO_SHA256 = "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91"
_TELCO = "telco_customer_churn.csv"


@overload
def load_telco(
    *, as_frame: Literal[False] = ...
) -> tuple[pd.DataFrame, pd.Series, ChurnSchema]: ...
@overload
def load_telco(*, as_frame: Literal[True]) -> pd.DataFrame: ...


def load_telco(
    *, as_frame: bool = False
) -> tuple[pd.DataFrame, pd.Series, ChurnSchema] | pd.DataFrame:
    """Load the IBM Telco Customer Churn table shipped with churnlib.

    7043 customers of a fictional telecom company, 19 features and the label
    ``Churn`` (26.5 % "Yes"). Source: the public repository
    ``IBM/telco-customer-churn-on-icp4d`` (Apache License 2.0; the licence and
    attribution ship next to the file). The file is checked against
    ``TELCO_SHA256`` before it is parsed.

    Parameters
    ----------
    as_frame : bool, default=False
        Return the raw table (21 columns, exactly as in the file, read with
        :func:`pandas.read_csv`) instead of ``(X, y, schema)``.

    Returns
    -------
    X : pandas.DataFrame
        Cleaned features indexed by ``customerID`` (see
        :func:`read_churn_table`): ``TotalCharges`` is float with 11 NaN,
        ``SeniorCitizen`` and the Yes/No columns are bool, the other text
        columns are categorical.
    y : pandas.Series of bool
        ``Churn == "Yes"``.
    schema : ChurnSchema
        The inferred roles (``positive="Yes"``).
    frame : pandas.DataFrame
        Only with ``as_frame=True``: the raw table instead of the above.

    Raises
    ------
    DataValidationError
        If the shipped file was altered (checksum mismatch).

    Examples
    --------
    >>> from churnlib.data import load_telco
    >>> X, y, schema = load_telco()
    >>> X.shape, round(float(y.mean()), 3), schema.positive
    ((7043, 19), 0.265, 'Yes')
    >>> int(X["TotalCharges"].isna().sum())
    11
    >>> load_telco(as_frame=True).shape
    (7043, 21)
    """
    if not isinstance(as_frame, bool):
        raise InvalidParameterError(
            "The 'as_frame' parameter of load_telco must be an instance of 'bool'. "
            f"Got {as_frame!r} instead."
        )
    resource = files("churnlib.data").joinpath("_datasets", _TELCO)
    data = resource.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != TELCO_SHA256:
        raise DataValidationError(
            f"The shipped dataset {_TELCO} has sha256 {digest}, expected "
            f"{TELCO_SHA256}: the installation is corrupted; reinstall churnlib."
        )
    with as_file(resource) as path:
        if as_frame:
            return pd.read_csv(path)
        return read_churn_table(path, target="Churn", positive="Yes")
