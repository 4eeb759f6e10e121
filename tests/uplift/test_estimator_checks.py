"""scikit-learn's conformance checks for the uplift models.

The checks call ``fit(X, y)``; the uplift models need the offer too, so the
checks run on the test-only adapters of ``tests/uplift/_adapters.py`` (a
treatment derived from each row's content, churn labels from the checks'
targets). Calling ``fit`` without ``treatment`` on the real classes is a clear
error, tested in ``test_models.py``.
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.uplift._adapters import (
    CheckedClassTransformationUplift,
    CheckedTwoModelUplift,
    CheckedXLearnerUplift,
)

_TINY_ARM = (
    "the check's tiny data set (12-20 rows) leaves one arm with a single churn "
    "outcome; an uplift model cannot estimate churn in that arm and refuses "
    "with DataValidationError instead of fitting"
)
EXPECTED_FAILED_CHECKS = {
    "check_sample_weights_shape": _TINY_ARM,
    "check_sample_weights_not_overwritten": _TINY_ARM,
    "check_sample_weight_equivalence_on_dense_data": _TINY_ARM,
    "check_sample_weight_equivalence_on_sparse_data": _TINY_ARM,
    "check_fit2d_1feature": _TINY_ARM,
}

ESTIMATORS = [
    CheckedTwoModelUplift(),
    CheckedXLearnerUplift(),
    CheckedClassTransformationUplift(),
]


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible_uplift_model(estimator, check):
    check(estimator)
