"""Data: synthetic customers, drift scenarios and readers for real churn tables."""

from churnlib.data._schema import ChurnSchema

__all__ = ["ChurnSchema"]
