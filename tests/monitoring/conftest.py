import pytest

from churnlib.data import generate_customers, simulate_production


@pytest.fixture(scope="session")
def reference_table():
    """3,000 generated customers with the Bayes-optimal score as model score."""
    return generate_customers(3000, random_state=0, return_truth=True)


@pytest.fixture(scope="session")
def batches():
    """Six batches of 500 rows, no drift."""
    return list(simulate_production(6, 500, random_state=1))


def make_monitor(reference_table, **kwargs):
    from churnlib.monitoring import ChurnMonitor

    kwargs.setdefault("rules", ())
    kwargs.setdefault("sinks", [])
    return ChurnMonitor(
        reference_table.drop(columns="churn_probability"),
        reference_scores=reference_table["churn_probability"],
        target="churned",
        **kwargs,
    )


def log_all(monitor, batches, *, outcomes=True):
    for b in batches:
        ids = monitor.log_predictions(b.X, b.truth, timestamp=b.timestamp)
        if outcomes:
            monitor.log_outcomes(ids, b.y, timestamp=b.labels_at)
