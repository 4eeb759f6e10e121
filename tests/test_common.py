"""scikit-learn's own conformance checks for every churnlib estimator.

``parametrize_with_checks`` runs the API and behaviour checks; scikit-learn's
own ``tests/test_common.py`` runs the pandas, feature-name and ``set_output``
checks separately, and so do the tests below. Estimators that need
constructor arguments for scikit-learn's plain numeric test arrays (column
positions instead of churn column names) are listed with them.

When another layer adds an estimator, append it to ``ESTIMATORS`` (and to
``TRANSFORMERS`` if it transforms).
"""

from __future__ import annotations

import warnings

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from churnlib.features import (
    ChargeRatios,
    ChurnPreprocessor,
    SchemaValidator,
    ServiceCount,
    TenureBucketer,
)
from churnlib.monitoring import DriftDetector

TRANSFORMERS = [
    SchemaValidator(),
    SchemaValidator(extra="raise", unseen="warn"),
    ChurnPreprocessor(),
    ChurnPreprocessor(scaler="robust", add_indicator=True, min_frequency=None),
    TenureBucketer(column=0),
    ChargeRatios(total=0, monthly=1, tenure=0),
    ServiceCount(columns=[0]),
]
# Every churnlib estimator: the transformers plus the monitoring detector.
ESTIMATORS = [
    *TRANSFORMERS,
    DriftDetector(),
    DriftDetector(method=["psi", "ks"]),
]

# Checks that fail on purpose, with the reason (none in parametrize_with_checks).
EXPECTED_FAILED_CHECKS: dict[type, dict[str, str]] = {}

# SchemaValidator and ChurnPreprocessor match DataFrame columns by NAME: a table
# whose columns come in another order is realigned to the fitted order (as
# ColumnTransformer does), instead of being rejected as
# check_dataframe_column_names_consistency expects. That realignment is the
# point of a schema validator for production batches.
REALIGNING = (SchemaValidator, ChurnPreprocessor)


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator), {})


def _id(estimator):
    return repr(estimator).replace(" ", "").replace("\n", "")


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_id)
def test_pandas_column_name_consistency(estimator):
    name = type(estimator).__name__
    if isinstance(estimator, REALIGNING):
        # Realigned by name: the reordered frame is accepted, so the check's
        # "must raise" step fails -- exactly that step and nothing else.
        with pytest.raises(AssertionError, match="transform did not raise"):
            check_dataframe_column_names_consistency(name, estimator)
        return
    with warnings.catch_warnings(record=True) as record:
        check_dataframe_column_names_consistency(name, estimator)
    for warning in record:
        assert "was fitted without feature names" not in str(warning.message)


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_id)
def test_get_feature_names_out(estimator):
    name = type(estimator).__name__
    check_transformer_get_feature_names_out(name, estimator)
    check_transformer_get_feature_names_out_pandas(name, estimator)
    check_get_feature_names_out_error(name, estimator)


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_id)
def test_set_output(estimator):
    name = type(estimator).__name__
    check_set_output_transform(name, estimator)
    check_set_output_transform_pandas(name, estimator)
    check_global_output_transform_pandas(name, estimator)
