"""Logging without reference data: the store reads like a monitored one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnlib.exceptions import DataValidationError
from tests.serve.conftest import Published, read_log

pytest.importorskip("pyarrow")


def _batches(published: Published) -> list[tuple[pd.DataFrame, str]]:
    """Four batches of 50 raw records, each with its scoring time."""
    frame = pd.DataFrame(published.records)
    return [
        (frame.iloc[i * 50 : (i + 1) * 50].reset_index(drop=True), f"2026-0{i + 1}-15")
        for i in range(4)
    ]


def _log_everything(monitor, model, batches) -> None:
    from churnlib._core.contract import get_contract
    from churnlib._core.model_facts import churn_proba

    contract = get_contract(model)
    rng = np.random.default_rng(0)
    for X, ts in batches:
        scores = churn_proba(model, contract.prepare(X))
        monitor.log_predictions(X, scores, timestamp=ts, model_version="v1")
        monitor.log_outcomes(
            X["customer_id"].to_numpy(),
            rng.random(len(X)) < 0.3,
            timestamp="2026-06-01",
            scored_at=ts,
        )
    first = batches[0][0]["customer_id"].to_numpy()[:7]
    monitor.log_churn_events(first, "2026-02-01", timestamp="2026-06-01")


def test_log_only_store_reads_like_one_logged_with_a_reference(published, tmp_path):
    from churnlib._core.contract import get_contract
    from churnlib.deployment import ModelStore
    from churnlib.monitoring import ChurnMonitor
    from churnlib.serve._logonly import LogOnlyMonitor

    model = ModelStore(published.store_url).load(published.v1)
    reference = pd.read_csv(published.reference)
    with_ref = (tmp_path / "with-reference").as_uri()
    log_only = (tmp_path / "log-only").as_uri()
    batches = _batches(published)
    _log_everything(
        ChurnMonitor(reference, model=model, store=with_ref, rules=()),
        model,
        batches,
    )
    only = LogOnlyMonitor(model, store=log_only)
    assert only.features_ == tuple(get_contract(model).feature_names)
    _log_everything(only, model, batches)

    # the same rows, columns and dtypes in every part of the log
    for kind in ("predictions", "outcomes", "events"):
        a, b = read_log(with_ref, kind), read_log(log_only, kind)
        assert len(a) == len(b) > 0
        sort = ["__id__", "__timestamp__"]
        pd.testing.assert_frame_equal(
            a.sort_values(sort).reset_index(drop=True),
            b.sort_values(sort).reset_index(drop=True),
        )
    assert len(read_log(log_only)) == 200
    assert set(read_log(log_only)["__model_version__"]) == {"v1"}

    # a monitor built later with the reference reports on either store alike
    reports = [
        ChurnMonitor(reference, model=model, store=url, rules=()).report(
            chunk_size=50, as_of="2026-06-01"
        )
        for url in (with_ref, log_only)
    ]
    assert len(reports[1].chunks) == 4
    assert len(reports[1].drift) > 0
    assert len(reports[1].performance) > 0
    for name in ("chunks", "drift", "performance", "data_quality"):
        pd.testing.assert_frame_equal(
            getattr(reports[0], name), getattr(reports[1], name)
        )
    realized = reports[1].performance.query("metric == 'roc_auc'")
    assert realized["value"].notna().any()

    # the log-only monitor itself refuses to report, naming the fix
    with pytest.raises(DataValidationError, match="cannot report") as info:
        only.report()
    assert "ChurnMonitor(reference, model=model, store=" in str(info.value)
    with pytest.raises(DataValidationError, match="cannot report"):
        only.notify(reports[1])


def test_log_only_needs_a_model_contract(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from churnlib.serve._logonly import LogOnlyMonitor

    X = pd.DataFrame({"tenure_months": [1.0, 2.0, 30.0, 40.0]})
    model = LogisticRegression().fit(X, [True, True, False, False])
    with pytest.raises(DataValidationError, match="carries a model contract") as info:
        LogOnlyMonitor(model, store=(tmp_path / "m").as_uri())
    assert "--reference" in str(info.value)


@pytest.mark.slow
def test_server_logs_without_a_reference(serve, published, tmp_path):
    """--monitor alone: predictions, outcomes and events reach the store."""
    import time

    from churnlib.deployment import ModelStore
    from churnlib.monitoring import ChurnMonitor
    from tests.serve.test_service import _expected, _wait_rows

    monitor = (tmp_path / "monitor").as_uri()
    server = serve([published.ref, "--monitor", monitor, "--flush-seconds", "0.2"])
    records = published.records[:60]
    with server.client() as c:
        ready = c.get("/readyz").json()
        r = c.post("/v1/predict", json=records)
        assert r.status_code == 200, r.text
        preds = r.json()["predictions"]
        outcomes = [
            {"id": p["customer_id"], "churned": i % 3 == 0, "scored_at": p["scored_at"]}
            for i, p in enumerate(preds)
        ]
        assert c.post("/v1/outcomes", json=outcomes).status_code == 202
        events = [{"id": preds[0]["customer_id"], "churned_at": "2026-01-01"}]
        assert c.post("/v1/churn-events", json=events).status_code == 202
    assert ready["logging"] is True
    assert r.json()["logged"] is True

    ids = {p["customer_id"] for p in preds}
    logged = _wait_rows(monitor, ids)
    assert len(logged) == 60
    scores = logged.set_index("__id__")["__score__"][[p["customer_id"] for p in preds]]
    np.testing.assert_allclose(
        scores.to_numpy(), _expected(published, published.v1, records), rtol=1e-12
    )
    assert set(logged["__model_version__"]) == {published.v1}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        len(read_log(monitor, "outcomes")) < 60 or len(read_log(monitor, "events")) < 1
    ):
        time.sleep(0.1)
    assert len(read_log(monitor, "outcomes")) == 60
    assert list(read_log(monitor, "events")["__id__"]) == [preds[0]["customer_id"]]

    # the report is made afterwards, with the reference, over the same store
    model = ModelStore(published.store_url).load(published.v1)
    reference = pd.read_csv(published.reference)
    report = ChurnMonitor(reference, model=model, store=monitor, rules=()).report(
        chunk_size=60
    )
    assert int(report.chunks["n"].sum()) == 60
    assert int(report.chunks["n_labeled"].sum()) == 60


@pytest.mark.slow
def test_a_model_without_contract_needs_the_reference_to_log(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from churnlib.deployment import ModelStore
    from tests.serve.test_lifecycle import _run_cli

    X = pd.DataFrame({"tenure_months": [1.0, 2.0, 30.0, 40.0]})
    model = LogisticRegression().fit(X, [True, True, False, False])
    store = (tmp_path / "models").as_uri()
    ModelStore(store).publish(model, alias="production")
    monitor = tmp_path / "monitor"
    done = _run_cli(f"{store}@production", "--monitor", monitor.as_uri(), "--port", "0")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("churnlib serve: error: Logging to a monitor store")
    assert "--reference TABLE" in last
    assert "Traceback" not in done.stderr
    assert not (monitor / "predictions").exists()
