"""Interop with MLflow, version ids, references and the ModelVersion record."""

from __future__ import annotations

import dataclasses
import string
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from churnlib.deployment import ModelStore, ModelVersion, parse_reference
from churnlib.deployment._version import (
    is_version_id,
    new_version_id,
    validate_alias,
    version_time,
)
from churnlib.exceptions import InvalidParameterError


@pytest.mark.parametrize(
    "backend",
    ["file", pytest.param("s3", marks=pytest.mark.cloud)],
)
def test_mlflow_pyfunc_loads_a_downloaded_version(
    backend, request, tmp_path, model, churn_xy
):
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")
    X, _ = churn_xy
    if backend == "s3":
        from tests.fixtures.cloud import fresh_bucket_name

        url = f"s3://{fresh_bucket_name()}/models"
        options = request.getfixturevalue("s3_storage_options")
    else:
        url, options = (tmp_path / "store").as_uri(), {}
    store = ModelStore(url, storage_options=options)
    v = store.publish(model, alias="production")

    got = store.download("production", tmp_path / "copy")
    assert got.version == v.version
    assert (tmp_path / "copy" / "manifest.json").exists()
    pyfunc = mlflow_pyfunc.load_model(str(tmp_path / "copy" / "model"))
    got = np.asarray(pyfunc.predict(X.head(50)))
    # P(churn) as one float column, not the boolean decisions
    assert got.shape == (50,)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, model.predict_proba(X.head(50))[:, 1])
    assert (tmp_path / "copy" / "model" / "requirements.txt").read_text().count("==")


def test_download_verifies_before_writing(storage_url, model, tmp_path):
    from churnlib.exceptions import IntegrityError

    store = ModelStore(storage_url)
    v = store.publish(model)
    path = f"{store._root}/versions/{v.version}/model/conda.yaml"
    store.fs.pipe_file(path, b"tampered: true\n")
    with pytest.raises(IntegrityError, match=r"conda\.yaml"):
        store.download(v.version, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_model_version_is_frozen_and_readable():
    v = ModelVersion(
        version="20260102T030405.000006Z-0123abcd",
        url="s3://bucket/models/versions/20260102T030405.000006Z-0123abcd",
        created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        sha256="0" * 64,
        metrics={"roc_auc": 0.87123},
        aliases=["production"],
        run_id="abc",
    )
    assert repr(v) == (
        "ModelVersion('20260102T030405.000006Z-0123abcd', aliases=('production',), "
        "created_at='2026-01-02 03:04:05Z', metrics={'roc_auc': 0.8712}, "
        "run_id='abc')"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.version = "x"
    with pytest.raises(TypeError):
        v.metrics["roc_auc"] = 1.0
    assert v.aliases == ("production",)
    assert v == dataclasses.replace(v)
    assert len({v, dataclasses.replace(v)}) == 1


def test_version_ids_sort_by_time_and_do_not_collide():
    early = new_version_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = new_version_id(datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
    assert early < late
    assert is_version_id(early)
    assert version_time(late) == datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    same = {new_version_id(datetime(2026, 1, 1, tzinfo=UTC)) for _ in range(1000)}
    assert len(same) == 1000


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            "s3://bucket/models/churn@production",
            ("s3://bucket/models/churn", "production"),
        ),
        ("s3://bucket/models/churn", ("s3://bucket/models/churn", "latest")),
        ("s3://bucket/models/churn@", ("s3://bucket/models/churn", "latest")),
        ("/data/models@staging", ("/data/models", "staging")),
        ("models@v", ("models", "v")),
        ("s3://bucket@production", ("s3://bucket", "production")),
        (
            "abfs://c@acct.dfs.core.windows.net/m@prod",
            ("abfs://c@acct.dfs.core.windows.net/m", "prod"),
        ),
        (
            "gs://b/m@20260102T030405.000006Z-0123abcd",
            ("gs://b/m", "20260102T030405.000006Z-0123abcd"),
        ),
    ],
)
def test_parse_reference(reference, expected):
    assert parse_reference(reference) == expected


_segment = st.text(string.ascii_lowercase + string.digits + "-_.", min_size=1)
_alias = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_.-]{0,20}\Z")


@given(
    scheme=st.sampled_from(["s3", "gs", "az", "memory", "file"]),
    parts=st.lists(_segment, min_size=1, max_size=4),
    alias=_alias,
)
def test_parse_reference_round_trips(scheme, parts, alias):
    if scheme == "az":  # az://container@x may be container@account: needs a path
        parts = ["container", *parts]
    url = f"{scheme}://" + "/".join(parts)
    assert parse_reference(f"{url}@{alias}") == (url, alias)
    assert parse_reference(url) == (url, "latest")


@given(alias=_alias)
def test_valid_aliases(alias):
    if alias != "latest":
        assert validate_alias(alias) == alias


@pytest.mark.parametrize("bad", ["", "1abc", "a b", "a/b", "latest", None, 3, "x" * 65])
def test_invalid_aliases(bad):
    with pytest.raises(InvalidParameterError, match="'alias' parameter"):
        validate_alias(bad)


@pytest.mark.slow
def test_mlflow_models_serve_scores_a_downloaded_version(tmp_path, model, churn_xy):
    """``mlflow models serve`` on a downloaded version answers like the model."""
    import json
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    from tests.fixtures.cloud import _free_port

    pytest.importorskip("mlflow")
    bindir = str(Path(sys.executable).parent)
    mlflow_cli = shutil.which("mlflow", path=bindir)
    if mlflow_cli is None or shutil.which("uvicorn", path=bindir) is None:
        pytest.skip("the mlflow CLI and uvicorn are needed next to the interpreter")
    X, _ = churn_xy
    store = ModelStore(tmp_path / "store")
    store.publish(model, alias="production")
    store.download("production", tmp_path / "copy")
    port = _free_port()
    env = dict(
        os.environ,
        PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    proc = subprocess.Popen(
        [
            mlflow_cli,
            "models",
            "serve",
            "-m",
            str(tmp_path / "copy" / "model"),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                assert proc.poll() is None, "mlflow models serve exited early"
                assert time.monotonic() < deadline, "server not ready in 90 s"
                time.sleep(0.3)
        rows = X.head(20)
        body = json.dumps(
            {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=30).read())
        # the served model answers P(churn), one float a row
        np.testing.assert_allclose(
            answer["predictions"], model.predict_proba(rows)[:, 1], rtol=1e-12
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
