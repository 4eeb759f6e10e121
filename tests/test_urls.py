"""The one URL scrubber used by every message, log, repr and manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnlib._urls import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("s3://AKIAEXAMPLE:s3cr3t@bucket/table.csv", "s3://***@bucket/table.csv"),
        ("s3://k:s@bucket:9000/t.csv", "s3://***@bucket:9000/t.csv"),
        ("http://u:p@h:port/t.csv", "http://***@h:port/t.csv"),  # bad port
        ("https://bob:tok@host:5000/x", "https://***@host:5000/x"),
        ("https://token@host/x", "https://***@host/x"),  # a bare token as user
        ("s3://u:p@bucket/x?sig=abc", "s3://***@bucket/x?***"),
        (
            "https://acct.blob.core.windows.net/c/t.csv?sv=2024&sig=s3cr3t",
            "https://acct.blob.core.windows.net/c/t.csv?***",
        ),
        ("https://host/?token=abc", "https://host/?***"),
        # an address, not a credential
        (
            "abfs://container@acct.dfs.core.windows.net/x",
            "abfs://container@acct.dfs.core.windows.net/x",
        ),
        (
            "abfs://c:key@acct.dfs.core.windows.net/x",
            "abfs://***@acct.dfs.core.windows.net/x",
        ),
        ("memory://x/y.csv", "memory://x/y.csv"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:////tmp/a/mlflow.db", "sqlite:////tmp/a/mlflow.db"),
        ("data/odd?name.csv", "data/odd?name.csv"),  # a local path keeps its '?'
        ("http://[bad/x", "<unparseable URL>"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_paths_are_accepted():
    assert redact_url(Path("a") / "b.csv") == str(Path("a") / "b.csv")
