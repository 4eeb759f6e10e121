"""Damaged log files and failed writes: named, skipped or raised, never raw."""

import re
import subprocess
import sys
import textwrap

import fsspec
import pytest

from churnlib.exceptions import DataQualityWarning, DataValidationError
from churnlib.monitoring import MonitorStoreError
from tests.fixtures.cloud import backend_params
from tests.monitoring.conftest import log_all, make_monitor


def damage(fs, path, how):
    data = fs.cat_file(path)
    if how == "truncated":
        fs.pipe_file(path, data[: len(data) // 2])
    elif how == "empty":
        fs.pipe_file(path, b"")
    else:
        fs.pipe_file(path, b"this is not parquet, just garbage " * 20)


@pytest.mark.parametrize("how", ["truncated", "empty", "garbage"])
@pytest.mark.parametrize("cloud_store_url", backend_params("file", "s3"), indirect=True)
def test_damaged_prediction_file_is_named_and_skipped(
    reference_table, batches, cloud_store_url, how
):
    url, options = cloud_store_url
    monitor = make_monitor(reference_table, store=url, storage_options=options)
    log_all(monitor, batches[:3])
    fs, root = fsspec.core.url_to_fs(url, **options)
    parts = sorted(fs.ls(f"{root}/predictions", detail=False))
    bad = parts[1]
    name = bad.rsplit("/", 1)[-1]
    damage(fs, bad, how)
    with pytest.warns(DataQualityWarning, match=re.escape(name)) as seen:
        report = monitor.report(chunk_size=500)
    assert "skipped" in str(seen[0].message)
    assert len(report.damaged_files) == 1
    assert report.damaged_files[0].endswith(f"predictions/{name}")
    assert report.chunks["n"].sum() == 1000  # the two good batches
    assert report.chunks["n_labeled"].sum() == 1000
    with pytest.raises(DataValidationError, match=re.escape(name)) as err:
        monitor.report(chunk_size=500, strict=True)
    assert "strict=False" in str(err.value)
    # html shows the damage
    pytest.importorskip("matplotlib")
    assert name in report.to_html()


def test_damaged_outcome_file_is_skipped(reference_table, batches, tmp_path):
    monitor = make_monitor(reference_table, store=tmp_path.as_uri())
    log_all(monitor, batches[:2])
    fs = fsspec.filesystem("file")
    bad = sorted(fs.ls(str(tmp_path / "outcomes"), detail=False))[0]
    damage(fs, bad, "garbage")
    with pytest.warns(DataQualityWarning, match="outcomes/"):
        report = monitor.report(chunk_size=500)
    assert report.chunks["n_labeled"].tolist() == [0, 500]


WRITER = textwrap.dedent(
    """
    import resource, signal, sys
    import numpy as np
    from churnlib.data import generate_customers
    from churnlib.monitoring import ChurnMonitor, MonitorStoreError

    ref = generate_customers(500, random_state=0, return_truth=True)
    monitor = ChurnMonitor(
        ref.drop(columns="churn_probability"),
        reference_scores=ref["churn_probability"], target="churned", sinks=[],
        store=sys.argv[1],
    )
    batch = generate_customers(20000, random_state=1).drop(columns="churned")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        monitor.log_predictions(batch, np.full(len(batch), 0.3))
    except MonitorStoreError as err:
        print("MonitorStoreError:", err)
        sys.exit(3)
    """
)


def test_full_disk_raises_a_churnlib_error_and_leaves_nothing(tmp_path):
    store = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, "-c", WRITER, store.as_uri()],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert "Could not write" in proc.stdout
    assert "Nothing was logged" in proc.stdout
    left = [p.name for p in (store / "predictions").iterdir()]
    assert left == []
    assert issubclass(MonitorStoreError, OSError)
