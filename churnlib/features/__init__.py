"""Features: scikit-learn transformers for churn tables, and the split.

- :class:`SchemaValidator` checks later tables against the training table;
- :class:`ChurnPreprocessor` validates, imputes, scales and one-hot encodes;
- :class:`TenureBucketer`, :class:`ChargeRatios` and :class:`ServiceCount`
  add domain features and compose in a :class:`~sklearn.pipeline.Pipeline`;
- :func:`train_test_split_churn` makes stratified or out-of-time splits.
"""

from churnlib.features._domain import ChargeRatios, ServiceCount, TenureBucketer
from churnlib.features._preprocessor import ChurnPreprocessor
from churnlib.features._split import train_test_split_churn
from churnlib.features._validator import (
    ColumnReport,
    SchemaValidator,
    ValidationReport,
)

__all__ = [
    "ChargeRatios",
    "ChurnPreprocessor",
    "ColumnReport",
    "SchemaValidator",
    "ServiceCount",
    "TenureBucketer",
    "ValidationReport",
    "train_test_split_churn",
]
