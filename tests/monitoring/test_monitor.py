import concurrent.futures
import multiprocessing
import threading

import numpy as np
import pandas as pd
import pytest

from churnlib.exceptions import DataValidationError, InvalidParameterError
from churnlib.monitoring import SCORE_FEATURE, ChurnMonitor, MonitorReport
from tests.fixtures.cloud import backend_params
from tests.monitoring.conftest import log_all, make_monitor


def test_report_frames(reference_table, batches):
    monitor = make_monitor(reference_table)
    log_all(monitor, batches)
    report = monitor.report(chunk_size=1000)
    assert isinstance(report, MonitorReport)
    assert report.chunks["chunk"].tolist() == [0, 1, 2]
    assert report.chunks["n"].tolist() == [1000, 1000, 1000]
    assert report.chunks["n_labeled"].tolist() == [1000, 1000, 1000]
    drift = report.drift
    assert list(drift.columns) == [
        "chunk",
        "feature",
        "method",
        "statistic",
        "threshold",
        "drifted",
    ]
    assert SCORE_FEATURE in set(drift["feature"])
    assert "customer_id" not in set(drift["feature"])
    assert "churned" not in set(drift["feature"])
    assert set(drift["feature"]) == {*monitor.features_, SCORE_FEATURE}
    assert not drift["drifted"].any()
    perf = report.performance
    assert set(perf["kind"]) == {"realized", "estimated", "observed"}
    auc = perf[(perf.metric == "roc_auc") & (perf.kind == "realized")]
    assert auc["value"].between(0.75, 0.9).all()
    assert not auc["outside_band"].any()
    assert (auc["lower"] < auc["reference"]).all()
    assert (auc["reference"] < auc["upper"]).all()
    dq = report.data_quality
    assert (dq["missing_rate"] == 0).all()
    assert report.unmatched_outcomes == 0
    assert "chunks=3" in repr(report)


def test_default_chunking_and_freq(reference_table, batches):
    monitor = make_monitor(reference_table)
    log_all(monitor, batches)
    assert len(monitor.report().chunks) == 10
    daily = monitor.report(freq="1D")
    assert len(daily.chunks) == 6
    assert daily.chunks["chunk"].iloc[0] == pd.Timestamp("2026-01-01", tz="UTC")
    assert (daily.chunks["n"] == 500).all()
    weekly = monitor.report(freq="W")
    assert weekly.chunks["n"].sum() == 3000
    assert (weekly.chunks["chunk"].dt.day_of_week == 0).all()
    hours = monitor.report(freq="12h")
    assert len(hours.chunks) == 12
    assert (hours.chunks["chunk"].dt.hour % 12 == 0).all()
    with pytest.raises(InvalidParameterError, match="not both"):
        monitor.report(freq="1D", chunk_size=10)
    with pytest.raises(InvalidParameterError, match="freq"):
        monitor.report(freq="fortnightly")
    with pytest.raises(InvalidParameterError, match="'M'"):
        monitor.report(freq="MS")
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        monitor.report(chunk_size=0)


def test_labels_missing_gives_estimates_only(reference_table, batches):
    monitor = make_monitor(reference_table)
    log_all(monitor, batches[:2], outcomes=False)
    perf = monitor.report(chunk_size=500).performance
    assert set(perf["kind"]) == {"estimated", "observed"}
    est = perf[(perf.metric == "roc_auc") & (perf.kind == "estimated")]
    assert est["value"].between(0.75, 0.9).all()


def test_outcomes_late_out_of_order_and_unknown(reference_table, batches):
    monitor = make_monitor(reference_table)
    ids = [
        monitor.log_predictions(b.X, b.truth, timestamp=b.timestamp)
        for b in batches[:2]
    ]
    # outcomes of the second batch first, shuffled, plus unknown ids
    b1 = batches[1]
    order = np.random.default_rng(0).permutation(len(b1.y))
    monitor.log_outcomes(ids[1][order], b1.y.to_numpy()[order], timestamp="2026-03-01")
    monitor.log_outcomes(["nope-1", "nope-2"], [True, False], timestamp="2026-03-01")
    report = monitor.report(chunk_size=500)
    assert report.chunks["n_labeled"].tolist() == [0, 500]
    assert report.unmatched_outcomes == 2
    # the first batch's outcomes arrive later; a wrong label is corrected later
    monitor.log_outcomes(ids[0], ~batches[0].y, timestamp="2026-03-02")
    monitor.log_outcomes(ids[0], batches[0].y, timestamp="2026-03-03")
    report = monitor.report(chunk_size=500)
    assert report.chunks["n_labeled"].tolist() == [500, 500]
    perf = report.performance.query("metric == 'churn_rate' and kind == 'realized'")
    assert perf["value"].iloc[0] == pytest.approx(batches[0].y.mean())


def test_schema_mismatch_writes_nothing(reference_table, batches):
    monitor = make_monitor(reference_table)
    X = batches[0].X
    with pytest.raises(DataValidationError, match=r"missing columns \['age'\]") as err:
        monitor.log_predictions(X.drop(columns="age"), batches[0].truth)
    assert err.value.columns == ("age",)
    with pytest.raises(DataValidationError, match=r"unknown columns \['extra'\]"):
        monitor.log_predictions(X.assign(extra=1), batches[0].truth)
    with pytest.raises(DataValidationError, match="'monthly_charges'"):
        monitor.log_predictions(X.assign(monthly_charges="lots"), batches[0].truth)
    with pytest.raises(DataValidationError, match=r"\[0, 1\]"):
        monitor.log_predictions(X, batches[0].truth * 3)
    with pytest.raises(DataValidationError, match="one probability per row"):
        monitor.log_predictions(X, batches[0].truth[:10])
    with pytest.raises(DataValidationError, match="timestamp"):
        monitor.log_predictions(X, batches[0].truth, timestamp="not a date")
    with pytest.raises(DataValidationError, match="DataFrame"):
        monitor.log_predictions(X.to_numpy(), batches[0].truth)
    with pytest.raises(DataValidationError, match="no model"):
        monitor.log_predictions(X)
    with pytest.raises(DataValidationError, match="0/1"):
        monitor.log_outcomes(["a"], [3])
    with pytest.raises(DataValidationError, match="y_true"):
        monitor.log_outcomes(["a", "b"], [1])
    assert monitor._log.parts("predictions") == []
    assert monitor._log.parts("outcomes") == []


def test_bad_construction(reference_table):
    ref = reference_table.drop(columns="churn_probability")
    with pytest.raises(DataValidationError, match="'nope'"):
        ChurnMonitor(ref, target="nope")
    with pytest.raises(InvalidParameterError, match="threshold"):
        ChurnMonitor(ref, threshold=2.0)
    with pytest.raises(InvalidParameterError, match="predict_proba"):
        ChurnMonitor(ref, model=object())
    with pytest.raises(InvalidParameterError, match="AlertRule"):
        ChurnMonitor(ref, rules=["psi > 1"])
    with pytest.raises(InvalidParameterError, match="callable"):
        ChurnMonitor(ref, sinks=["log"])
    with pytest.raises(DataValidationError, match="probabilities"):
        ChurnMonitor(ref, reference_scores=np.full(len(ref), 2.0))
    monitor = ChurnMonitor(ref, target="churned")  # no scores: features only
    with pytest.raises(DataValidationError, match="reference_scores or model"):
        monitor.log_predictions(ref.drop(columns="churned").iloc[:5], np.zeros(5))


def test_model_scores_reference_and_batches(reference_table, batches):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from churnlib.features import ChurnPreprocessor

    ref = reference_table.drop(columns="churn_probability")
    model = make_pipeline(ChurnPreprocessor(), LogisticRegression(max_iter=500))
    model.fit(ref.drop(columns="churned"), ref["churned"])
    monitor = ChurnMonitor(ref, model=model, target="churned", rules=(), sinks=[])
    assert monitor.reference_metrics_["roc_auc"] > 0.75
    assert monitor.calibrator_ is not None
    ids = monitor.log_predictions(batches[0].X)  # scored by the model
    monitor.log_outcomes(ids, batches[0].y)
    report = monitor.report(chunk_size=500)
    assert report.chunks["n_labeled"].tolist() == [500]


@pytest.mark.parametrize("how", ["no_ids_column", "explicit_ids"])
def test_ids(reference_table, batches, how):
    monitor = make_monitor(
        reference_table, id_column=None if how == "no_ids_column" else "customer_id"
    )
    X = batches[0].X
    if how == "no_ids_column":
        monitor = make_monitor(
            reference_table.drop(columns="customer_id"), id_column=None
        )
        with pytest.raises(DataValidationError, match="generate_ids=True"):
            monitor.log_predictions(X.drop(columns="customer_id"), batches[0].truth)
        assert monitor._log.parts("predictions") == []
        ids = monitor.log_predictions(
            X.drop(columns="customer_id"), batches[0].truth, generate_ids=True
        )
        assert ids.is_unique
    else:
        ids = monitor.log_predictions(X, batches[0].truth, ids=np.arange(len(X)))
        assert ids.get_level_values(0)[:2].tolist() == ["0", "1"]
        assert ids.names == ["customer_id", "scored_at"]
    monitor.log_outcomes(ids, batches[0].y)
    assert monitor.report(chunk_size=500).chunks["n_labeled"].iloc[0] == 500


def test_store_persists_and_reopens(reference_table, batches, storage_url):
    import fsspec

    monitor = make_monitor(reference_table, store=storage_url)
    log_all(monitor, batches[:3])
    first = monitor.report(chunk_size=500)
    fs, root = fsspec.core.url_to_fs(storage_url)
    preds = fs.ls(f"{root}/predictions", detail=False)
    assert len(preds) == 3
    assert all(p.rsplit("/", 1)[-1].startswith("part-") for p in preds)
    assert len(fs.ls(f"{root}/outcomes", detail=False)) == 3
    reopened = make_monitor(reference_table, store=storage_url)
    second = reopened.report(chunk_size=500)
    pd.testing.assert_frame_equal(first.drift, second.drift)
    pd.testing.assert_frame_equal(first.performance, second.performance)
    pd.testing.assert_frame_equal(first.chunks, second.chunks)


@pytest.mark.cloud
@pytest.mark.parametrize("cloud_store_url", backend_params("s3"), indirect=True)
def test_store_on_s3(reference_table, batches, cloud_store_url):
    url, options = cloud_store_url
    monitor = make_monitor(reference_table, store=url, storage_options=options)
    log_all(monitor, batches[:2])
    reopened = make_monitor(reference_table, store=url, storage_options=options)
    report = reopened.report(chunk_size=500)
    assert report.chunks["n_labeled"].tolist() == [500, 500]


def test_concurrent_threads_lose_nothing(reference_table, batches, tmp_path):
    monitor = make_monitor(reference_table, store=tmp_path.as_uri())
    barrier = threading.Barrier(6)

    def work(b):
        barrier.wait()
        for start in range(0, 500, 100):
            part = b.X.iloc[start : start + 100]
            ids = monitor.log_predictions(part, b.truth.iloc[start : start + 100])
            monitor.log_outcomes(ids, b.y.iloc[start : start + 100])

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(work, batches))
    report = monitor.report(chunk_size=3000)
    assert report.chunks["n"].tolist() == [3000]
    assert report.chunks["n_labeled"].tolist() == [3000]
    assert len(list((tmp_path / "predictions").iterdir())) == 30


def _log_in_process(args):
    url, reference, batch = args
    from tests.monitoring.conftest import make_monitor

    monitor = make_monitor(reference, store=url)
    ids = monitor.log_predictions(batch.X, batch.truth, timestamp=batch.timestamp)
    monitor.log_outcomes(ids, batch.y)
    return len(ids)


@pytest.mark.slow
def test_concurrent_processes_lose_nothing(reference_table, batches, tmp_path):
    url = tmp_path.as_uri()
    reference = reference_table.iloc[:1000]
    ctx = multiprocessing.get_context("spawn")
    # one child process and this one log at the same time
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        child = pool.submit(_log_in_process, (url, reference, batches[0]))
        here = [_log_in_process((url, reference, b)) for b in batches[1:4]]
        assert child.result() == 500
    assert here == [500] * 3
    report = make_monitor(reference, store=url).report(chunk_size=2000)
    assert report.chunks["n"].tolist() == [2000]
    assert report.chunks["n_labeled"].tolist() == [2000]


def test_data_quality_missing_unseen_out_of_range(reference_table, batches):
    monitor = make_monitor(reference_table)
    X = batches[0].X.copy()
    X["age"] = X["age"].astype(float)
    X.loc[X.index[:100], "age"] = np.nan
    X["monthly_charges"] = X["monthly_charges"] + 1000
    X["contract"] = X["contract"].astype(str)
    X.loc[X.index[:50], "contract"] = "lifetime"
    monitor.log_predictions(X, batches[0].truth)
    dq = monitor.report(chunk_size=500).data_quality.set_index("feature")
    assert dq.loc["age", "missing_rate"] == pytest.approx(0.2)
    assert dq.loc["monthly_charges", "out_of_range_rate"] == pytest.approx(1.0)
    assert dq.loc["contract", "unseen_rate"] == pytest.approx(0.1)


def test_plots_and_html(reference_table, batches, pyplot, memory_fs, tmp_path):
    monitor = make_monitor(reference_table)
    log_all(monitor, batches)
    report = monitor.report(chunk_size=1000)
    ax = report.plot_performance("roc_auc")
    assert ax.get_ylabel() == "roc_auc"
    assert len(ax.lines) >= 2
    ax = report.plot_score_distribution()
    assert ax.get_title() == "Score distribution over time"
    ax = report.plot_drift()
    assert len(ax.get_yticklabels()) == len(monitor.features_) + 1
    with pytest.raises(ValueError, match="nope"):
        report.plot_performance("nope")
    report.save_html("memory://reports/r.html")
    page = memory_fs.cat_file("/reports/r.html").decode()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/png;base64,") == 4
    report.save_html(tmp_path / "sub" / "r.html")
    assert (tmp_path / "sub" / "r.html").read_text().startswith("<!DOCTYPE html>")
    q = report.score_quantiles()
    assert (q[0.05] <= q[0.5]).all()
    assert (q[0.5] <= q[0.95]).all()


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, churnlib.monitoring; "
        "bad = [m for m in ('matplotlib', 'mlflow', 's3fs') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_empty_log_reports_nothing(reference_table, pyplot):
    report = make_monitor(reference_table).report()
    assert len(report.chunks) == 0
    assert report.drift.empty
    assert report.performance.empty
    assert report.alerts == ()
    assert report.to_html().startswith("<!DOCTYPE html>")


def test_report_streams_in_row_batches(reference_table, batches, tmp_path, monkeypatch):
    import churnlib.monitoring._chunks as chunks_module

    monitor = make_monitor(reference_table, store=tmp_path.as_uri())
    log_all(monitor, batches[:3])
    whole = monitor.report(chunk_size=700)
    monkeypatch.setattr(chunks_module, "READ_ROWS", 64)
    streamed = monitor.report(chunk_size=700)
    pd.testing.assert_frame_equal(whole.drift, streamed.drift)
    pd.testing.assert_frame_equal(whole.performance, streamed.performance)
    pd.testing.assert_frame_equal(whole.chunks, streamed.chunks)


def test_model_version_is_kept_with_every_logged_row(
    reference_table, batches, tmp_path
):
    import pyarrow.parquet as pq

    from churnlib.monitoring._monitor import MODEL_VERSION

    monitor = make_monitor(reference_table, store=tmp_path.as_uri())
    first, second = batches[:2]
    monitor.log_predictions(
        first.X, first.truth, timestamp=first.timestamp, model_version="v-1"
    )
    monitor.log_predictions(second.X, second.truth, timestamp=second.timestamp)
    parts = sorted((tmp_path / "predictions").glob("part-*.parquet"))
    assert len(parts) == 2
    versions = [pq.read_table(p).to_pandas().get(MODEL_VERSION) for p in parts]
    tagged = [v for v in versions if v is not None]
    assert len(tagged) == 1
    assert (tagged[0] == "v-1").all()
    assert len(tagged[0]) == len(first.X)
    report = monitor.report(chunk_size=500)  # the extra column is not a feature
    assert MODEL_VERSION not in set(report.drift["feature"])
    assert report.chunks["n"].sum() == len(first.X) + len(second.X)
