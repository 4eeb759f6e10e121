"""score_table on a real dask.distributed LocalCluster (2 worker processes)."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from churnlib.exceptions import DataValidationError
from churnlib.scoring import read_scores, score_table
from tests.scoring._models import SlowClassifier
from tests.scoring.conftest import assert_nothing_published, scores_only, write_parts

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


def test_dask_and_local_give_identical_output(
    customers_dir, churn_model, dask_client, tmp_path
):
    local = score_table(churn_model, customers_dir, tmp_path / "local", batch_rows=150)
    dask = score_table(
        churn_model,
        customers_dir,
        tmp_path / "dask",
        engine="dask",
        client=dask_client,
        batch_rows=150,
    )
    assert dask.engine == "dask"
    assert (dask.rows, dask.n_partitions) == (local.rows, local.n_partitions)
    assert dask.model_version == local.model_version
    assert [os.path.basename(f) for f in dask.files] == [
        os.path.basename(f) for f in local.files
    ]
    pd.testing.assert_frame_equal(
        scores_only(read_scores(tmp_path / "dask")),
        scores_only(read_scores(tmp_path / "local")),
    )
    workers = set(dask.to_frame()["worker"])
    assert workers <= set(dask_client.scheduler_info()["workers"])


def test_scheduler_address_string_is_accepted(
    customers_dir, churn_model, dask_client, tmp_path
):
    address = dask_client.scheduler.address
    result = score_table(
        churn_model, customers_dir, tmp_path / "o", engine="dask", client=address
    )
    assert result.rows == 600
    assert dask_client.status != "closed"


def test_killed_worker_is_survived_without_duplicates(
    customers, churn_model, dask_client, tmp_path
):
    features = customers.drop(columns="churned")
    src = write_parts(features, tmp_path / "in", n_files=4, row_group_size=25)
    slow = SlowClassifier(churn_model, delay=0.15).fit(
        features.drop(columns="customer_id"), customers["churned"]
    )
    out = tmp_path / "o"
    outcome = {}

    def run():
        try:
            outcome["result"] = score_table(
                slow, src, out, engine="dask", client=dask_client, batch_rows=25
            )
        except BaseException as err:  # surfaced by the assertions below
            outcome["error"] = err

    pids = dask_client.run(os.getpid)
    _, victim_pid = sorted(pids.items())[0]
    thread = threading.Thread(target=run)
    thread.start()
    # wait until tasks have started writing parts, then kill one worker process
    temp = out / "_temporary"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = list(temp.glob("*/part-*")) if temp.exists() else []
        if len(done) >= 3:
            break
        time.sleep(0.02)
    assert 3 <= len(done) < 24, "the kill must land mid-run"
    os.kill(victim_pid, signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]

    assert result.rows == len(customers)
    assert result.n_partitions == 24
    scores = read_scores(out)
    assert scores["customer_id"].tolist() == customers["customer_id"].tolist()
    expected = churn_model.predict_proba(features.drop(columns="customer_id"))[:, 1]
    np.testing.assert_array_equal(scores["churn_probability"], expected)
    # no stray attempt files: only the committed parts and the marker
    assert sorted(os.listdir(out)) == ["_SUCCESS"] + [
        f"part-{i:05d}.parquet" for i in range(24)
    ]
    dask_client.wait_for_workers(2, timeout=60)
    assert victim_pid not in dask_client.run(os.getpid).values()


def test_bad_partition_on_dask_names_file_and_column(
    customers, churn_model, dask_client, tmp_path
):
    frame = customers.drop(columns="churned")
    src = write_parts(frame, tmp_path / "in", n_files=3)
    bad = frame.iloc[400:].astype({"support_calls": "float64"})
    bad.loc[bad.index[150], "support_calls"] = np.inf  # a value the model accepts
    bad = bad.assign(contract=lambda d: d["contract"].cat.codes)  # wrong dtype
    bad.to_parquet(tmp_path / "in" / "part-2.parquet")
    out = tmp_path / "o"
    with pytest.raises(DataValidationError, match=r"partition \d+ \(file .*part-2"):
        score_table(churn_model, src, out, engine="dask", client=dask_client)
    assert_nothing_published(out)


def test_error_inside_a_task_leaves_nothing_published(
    customers, churn_model, dask_client, tmp_path
):
    features = customers.drop(columns="churned")
    src = tmp_path / "in.csv"
    text = features.astype({"age": object})
    text.loc[590, "age"] = "ninety"  # ("unknown" would be read as missing)
    text.to_csv(src, index=False)
    out = tmp_path / "o"
    with pytest.raises(DataValidationError, match="'ninety'") as info:
        score_table(
            churn_model, src, out, engine="dask", client=dask_client, batch_rows=100
        )
    assert "rows 500-599" in str(info.value)
    assert_nothing_published(out)


@pytest.mark.cloud
def test_s3_input_and_output_on_dask(
    customers, churn_model, dask_client, s3_storage_options
):
    import fsspec

    from tests.fixtures.cloud import fresh_bucket_name, make_bucket

    bucket = fresh_bucket_name()
    make_bucket("s3", s3_storage_options, bucket)
    fs = fsspec.filesystem("s3", **s3_storage_options)
    features = customers.drop(columns="churned")
    for i, part in enumerate(np.array_split(np.arange(len(features)), 2)):
        with fs.open(f"{bucket}/in/part-{i}.parquet", "wb") as f:
            features.iloc[part].to_parquet(f)
    for engine in ("local", "dask"):
        result = score_table(
            churn_model,
            f"s3://{bucket}/in",
            f"s3://{bucket}/scores-{engine}",
            engine=engine,
            client=dask_client if engine == "dask" else None,
            storage_options=s3_storage_options,
        )
        assert result.rows == len(features)
        fs.invalidate_cache()
        assert fs.exists(f"{bucket}/scores-{engine}/_SUCCESS")
        assert not fs.exists(f"{bucket}/scores-{engine}/_temporary")
    a = read_scores(f"s3://{bucket}/scores-local", storage_options=s3_storage_options)
    b = read_scores(f"s3://{bucket}/scores-dask", storage_options=s3_storage_options)
    pd.testing.assert_frame_equal(scores_only(a), scores_only(b))


def test_without_client_a_temporary_local_cluster_is_used(
    customers_dir, churn_model, tmp_path
):
    result = score_table(churn_model, customers_dir, tmp_path / "o", engine="dask")
    assert result.rows == 600
    assert result.engine == "dask"
    workers = set(result.to_frame()["worker"])
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers)


def test_parameters_that_do_not_fit_the_engine(
    customers_dir, churn_model, dask_client, memory_fs, tmp_path
):
    from churnlib.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="only used with engine='dask'"):
        score_table(churn_model, customers_dir, tmp_path / "o", client=dask_client)
    with pytest.raises(InvalidParameterError, match="memory://"):
        score_table(
            churn_model,
            customers_dir,
            "memory://scores",
            engine="dask",
            client=dask_client,
        )
