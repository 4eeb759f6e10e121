"""One rule for every location churnlib writes to: no secret in the URL.

A credential before ``@`` or a query token (``?sig=...``) in a store or
output URL would become part of every object key written there; the model
store, the monitor store and scoring output refuse it alike, naming the URL
redacted and the fix.
"""

from __future__ import annotations

import pytest

from churnlib import generate_customers
from churnlib._urls import check_storage_url
from churnlib.exceptions import InvalidParameterError

SECRET = "s3cr3tSIGvalue"
BAD = [
    f"s3://AKIAKEY:{SECRET}@bucket/where",
    f"az://container/where?sv=2024&sig={SECRET}",
    f"gs://bucket/where?token={SECRET}",
    "s3://bucket/where?",
]


@pytest.mark.parametrize("url", BAD)
def test_check_refuses_credentials_and_query_tokens(url):
    with pytest.raises(InvalidParameterError, match="storage_options") as info:
        check_storage_url(url, "The monitor store URL")
    assert SECRET not in str(info.value)
    assert str(info.value).startswith("The monitor store URL")


@pytest.mark.parametrize(
    ("url", "protocol"),
    [
        ("s3://bucket/models", "s3"),
        ("abfs://container@account.dfs.core.windows.net/models", "abfs"),
        ("gs://bucket/a/b", "gs"),
        ("/tmp/what?ever", "file"),  # a '?' in a local file name is not a query
        ("memory://x", "memory"),
    ],
)
def test_check_passes_clean_urls(url, protocol):
    assert check_storage_url(url, "The model store URL") == protocol


@pytest.mark.parametrize("url", BAD)
def test_monitor_store_refuses_secret_urls(url):
    from churnlib.monitoring import ChurnMonitor

    X = generate_customers(200, random_state=0).drop(columns="churned")
    with pytest.raises(InvalidParameterError, match="monitor store URL") as info:
        ChurnMonitor(X, store=url)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.__cause__)


@pytest.mark.parametrize("url", BAD)
def test_score_table_refuses_secret_output_urls(url, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from churnlib.features import ChurnPreprocessor
    from churnlib.scoring import score_table

    X = generate_customers(300, random_state=0)
    y = X.pop("churned")
    model = make_pipeline(ChurnPreprocessor(), LogisticRegression(max_iter=500))
    model.fit(X, y)
    source = tmp_path / "in.parquet"
    X.to_parquet(source)
    with pytest.raises(InvalidParameterError, match="scoring output URL") as info:
        score_table(model, source, url)
    assert SECRET not in str(info.value)
    assert not any(tmp_path.glob("**/*sig*"))


def test_model_store_keeps_its_wording():
    from churnlib.deployment import ModelStore

    with pytest.raises(InvalidParameterError, match="The model store URL"):
        ModelStore(BAD[1])
