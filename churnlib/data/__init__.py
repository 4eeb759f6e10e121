"""Data: synthetic customers, drift scenarios and readers for real churn tables."""

from churnlib.data._campaign import EFFECT_COEFFICIENTS, SEGMENTS, generate_campaign
from churnlib.data._customer_base import CustomerBase, Scoring, simulate_customer_base
from churnlib.data._generator import (
    BASE_CHURN_RATE,
    TRUTH_COEFFICIENTS,
    TRUTH_TERMS,
    generate_customers,
)
from churnlib.data._load import TELCO_SHA256, load_telco
from churnlib.data._production import (
    CONCEPT_DRIFT_DELTAS,
    SCENARIOS,
    ProductionBatch,
    simulate_production,
)
from churnlib.data._reader import (
    LEAKAGE_AUC,
    PLACEHOLDERS,
    infer_schema,
    read_churn_table,
)
from churnlib.data._schema import ChurnSchema

# Plain sorted() order, as tests/test_package.py checks (not isort order).
__all__ = [  # noqa: RUF022
    "BASE_CHURN_RATE",
    "CONCEPT_DRIFT_DELTAS",
    "ChurnSchema",
    "CustomerBase",
    "EFFECT_COEFFICIENTS",
    "LEAKAGE_AUC",
    "PLACEHOLDERS",
    "ProductionBatch",
    "SCENARIOS",
    "SEGMENTS",
    "Scoring",
    "TELCO_SHA256",
    "TRUTH_COEFFICIENTS",
    "TRUTH_TERMS",
    "generate_campaign",
    "generate_customers",
    "infer_schema",
    "load_telco",
    "read_churn_table",
    "simulate_customer_base",
    "simulate_production",
]
