"""In-process pieces of the service: the key set and the request parsers."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from churnlib.exceptions import InvalidParameterError
from churnlib.serve._auth import (
    TokenSet,
    generate_token,
    read_token_file,
    tokens_from_env,
)
from churnlib.serve._parse import (
    RequestError,
    parse_events,
    parse_outcomes,
    parse_table,
)


def test_token_set_keeps_only_digests(tmp_path):
    key = generate_token()
    keys = TokenSet([key])
    assert keys.accepts(key)
    assert not keys.accepts(key[:-1])
    assert not keys.accepts("")
    held = repr(vars(keys))
    assert key not in held
    assert hashlib.sha256(key.encode()).hexdigest() not in repr(keys)
    assert repr(keys) == "TokenSet(n_tokens=1)"


def test_token_file_is_reread_when_it_changes(tmp_path):
    path = tmp_path / "keys"
    a, b = generate_token(), generate_token()
    path.write_text(f"# comment\n{a}  # trailing comment\n{b}\n")
    assert read_token_file(path) == [a, b]
    keys = TokenSet(token_file=path)
    assert keys.accepts(a)
    assert keys.accepts(b)
    assert not keys.refresh()  # unchanged
    path.write_text(f"{a}\n")
    assert keys.refresh()
    assert keys.accepts(a)
    assert not keys.accepts(b)


def test_short_or_unreadable_keys_are_refused_without_echo(tmp_path):
    with pytest.raises(InvalidParameterError, match="shorter than 16") as info:
        TokenSet(["tiny-secret"])
    assert "tiny-secret" not in str(info.value)
    with pytest.raises(InvalidParameterError, match="Cannot read the token file"):
        TokenSet(token_file=tmp_path / "missing")
    assert tokens_from_env({"CHURNLIB_SERVE_TOKENS": "a1, b2 c3"}) == ["a1", "b2", "c3"]
    assert tokens_from_env({}) == []


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b'[{"a": 1}', "application/json", 400, "not valid JSON"),
        (b'[{"a": Infinity}]', "application/json", 400, "Infinity is not a JSON value"),
        (b"\xff\xfe", "application/json", 400, "not UTF-8"),
        (b'{"a": 1}', "application/json", 422, "Send a JSON list of records"),
        (b"[1, 2]", "application/json", 422, "Send a JSON list of records"),
        (b'{"columns": ["a"], "data": [[1, 2]]}', "application/json", 422, "1 values"),
        (b"a,b\n1,2\n", "application/xml", 415, "Unsupported Content-Type"),
        (b"", "text/csv", 422, "CSV body is empty"),
        (b"[" + b'{"a": 1},' * 10 + b'{"a": 1}]', "application/json", 413, "at most 5"),
    ],
)
def test_parse_table_refusals(body, content_type, status, message):
    with pytest.raises(RequestError, match=message) as info:
        parse_table(body, content_type, max_rows=5)
    assert info.value.status == status


def test_parse_table_shapes():
    records = [{"a": 1, "b": "x"}, {"a": 2.5, "b": None}]
    frame = parse_table(json.dumps(records).encode(), "application/json", max_rows=5)
    assert frame["a"].tolist() == [1.0, 2.5]
    assert frame["b"].iloc[0] == "x"
    assert frame["b"].isna().iloc[1]
    split = {
        "dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2.5, None]]}
    }
    same = parse_table(json.dumps(split).encode(), "application/json", max_rows=5)
    assert same["a"].tolist() == [1.0, 2.5]
    assert same["b"].isna().tolist() == [False, True]
    csv = parse_table(b"a,b\n1,x\n2.5,\n", "text/csv; charset=utf-8", max_rows=5)
    assert csv["a"].tolist() == [1.0, 2.5]


def test_parse_outcomes_and_events():
    ids, y, observed, scored = parse_outcomes(
        b'[{"id": "C1", "churned": true}, {"id": 7, "churned": 0}]', max_rows=5
    )
    assert ids.tolist() == ["C1", "7"]
    assert y.tolist() == [True, False]
    assert observed.dtype == np.int64
    assert scored is None
    ids, y, observed, scored = parse_outcomes(
        b'{"ids": ["a", "b"], "churned": [1, 1], "scored_at": '
        b'["2026-01-01T00:00:00Z", "2026-01-02"], "observed_at": "2026-02-01"}',
        max_rows=5,
    )
    assert scored.tolist() == [1767225600000000, 1767312000000000]
    assert observed.tolist() == [1769904000000000] * 2
    with pytest.raises(RequestError, match="one label per id"):
        parse_outcomes(b'{"ids": ["a"], "churned": [1, 0]}', max_rows=5)
    with pytest.raises(RequestError, match="true/false or 0/1"):
        parse_outcomes(b'[{"id": "a", "churned": 2}]', max_rows=5)
    with pytest.raises(RequestError, match="needs an id"):
        parse_outcomes(b'[{"id": null, "churned": 1}]', max_rows=5)
    with pytest.raises(RequestError, match="ISO 8601"):
        parse_outcomes(b'[{"id": "a", "churned": 1, "scored_at": "soon"}]', max_rows=5)
    ids, when = parse_events(b'[{"id": "C1", "churned_at": "2026-01-15"}]', max_rows=5)
    assert ids.tolist() == ["C1"]
    assert when.tolist() == [1768435200000000]
    with pytest.raises(RequestError, match="need the fields"):
        parse_events(b'[{"id": "C1"}]', max_rows=5)


def test_importing_the_package_and_its_cli_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, churnlib.serve, churnlib.serve._cli\n"
        "heavy = [m for m in ('starlette', 'uvicorn', 'prometheus_client', "
        "'pandas', 'sklearn', 'fastapi') if m in sys.modules]\n"
        "print(heavy)\n"
        "assert callable(churnlib.serve.create_app)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_error_texts_are_scrubbed_of_urls_credentials_and_storage_secrets():
    from sklearn.dummy import DummyClassifier

    from churnlib.deployment import ModelStore
    from churnlib.serve import create_app

    model = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    ModelStore("memory://serve-units/scrub").publish(model, alias="production")
    app = create_app(
        "memory://serve-units/scrub@production",
        storage_options={"secret": "sup3r-secret-value-xyz"},
        tokens=["k" * 20],
    )
    text = (
        "OSError: cannot reach https://user:pa55word@host/bucket "
        "(signature for sup3r-secret-value-xyz)"
    )
    for scrub in (app.state.writer.redact, app.state.follower.redact):
        clean = scrub(text)
        assert "pa55word" not in clean
        assert "sup3r-secret-value-xyz" not in clean
        assert "host/bucket" in clean


def test_answer_rows_are_exact_json():
    """The hand-built answer rows parse back to the very values (floats exact)."""
    from churnlib.serve._batch import answer_rows, json_strings

    ids = np.array(
        ["C1", None, 'a"b', "x\\y", "ü", "tab\t", "", "\u2028", "\ud800x", "é\x00"],
        dtype=object,
    )
    assert [json.loads(text) for text in json_strings(ids)] == list(ids)
    assert json_strings(np.array([], dtype=object)).shape == (0,)

    rng = np.random.default_rng(0)
    proba = np.concatenate([rng.random(len(ids) - 3), [0.0, 1.0, 1e-300]])
    rows = answer_rows(
        np.array([f"p-{i}" for i in range(len(ids))], dtype=object),
        "customer_id",
        ids,
        proba,
        proba >= 0.5,
        np.arange(len(ids), dtype=np.int64) + 1_767_225_600_000_000,
        'v"1',
    )
    parsed = [json.loads(text) for text in rows]
    assert [list(p) for p in parsed] == [
        [
            "prediction_id",
            "customer_id",
            "churn_probability",
            "churn",
            "scored_at",
            "model_version",
        ]
    ] * len(ids)
    assert [p["customer_id"] for p in parsed] == list(ids)
    got = np.array([p["churn_probability"] for p in parsed])
    assert np.array_equal(got, proba)  # bit for bit, not to 15 digits
    assert [p["churn"] for p in parsed] == list(proba >= 0.5)
    assert parsed[0]["scored_at"] == "2026-01-01T00:00:00.000000Z"
    assert parsed[1]["scored_at"] == "2026-01-01T00:00:00.000001Z"
    assert {p["model_version"] for p in parsed} == {'v"1'}
    no_id = answer_rows(
        np.array(["p"], dtype=object),
        None,
        None,
        np.array([0.25]),
        [False],
        np.array([0]),
        "v",
    )
    assert json.loads(no_id[0]) == {
        "prediction_id": "p",
        "churn_probability": 0.25,
        "churn": False,
        "scored_at": "1970-01-01T00:00:00.000000Z",
        "model_version": "v",
    }


def test_log_frames_are_stacked_column_by_column_like_concat():
    from churnlib._core.contract import infer_contract
    from churnlib.data import generate_customers
    from churnlib.serve._writer import concat_frames

    df = generate_customers(300, random_state=0)
    y = df.pop("churned")
    contract = infer_contract(
        df.drop(columns="customer_id"), y, id_columns=["customer_id"]
    )
    raw = generate_customers(40, random_state=4)
    frames = [contract.prepare(raw.iloc[i : i + 1 + i % 3]) for i in range(0, 30, 3)]
    stacked = concat_frames(frames)
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(stacked, expected)
    assert stacked.index.equals(pd.RangeIndex(len(expected)))
    # other dtypes in one frame (a float where the others hold ints, levels in
    # another order): pandas decides, as before
    odd = frames[1].astype({"tenure_months": "float64"})
    odd["contract"] = odd["contract"].cat.reorder_categories(
        odd["contract"].cat.categories[::-1]
    )
    mixed = [frames[0], odd, frames[2]]
    pd.testing.assert_frame_equal(
        concat_frames(mixed), pd.concat(mixed, ignore_index=True)
    )
    one = concat_frames(frames[3:4])
    pd.testing.assert_frame_equal(one, frames[3].reset_index(drop=True))


def test_nested_cells_are_refused_naming_every_such_column():
    body = json.dumps(
        [
            {"a": [1, 2], "b": 1, "c": "x", "d": {"k": 1}},
            {"a": None, "b": 2, "c": "y", "d": None},
        ]
    ).encode()
    with pytest.raises(RequestError) as info:
        parse_table(body, "application/json", max_rows=10)
    assert info.value.status == 422
    assert info.value.columns == ("a", "d")
    # plain values of every kind pass, and keep their types
    ok = parse_table(
        json.dumps([{"a": 1, "b": "x", "c": None, "d": True}]).encode(),
        "application/json",
        max_rows=10,
    )
    assert ok.to_dict("records") == [{"a": 1, "b": "x", "c": None, "d": True}]


HUGE_INT = b"9" * 5000
DEEP = b"[" * 50_000 + b"]" * 50_000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"id": "a", "age": ' + HUGE_INT + b"}]", "more than 4300 digits"),
        (b'[{"id": "a", "age": -' + HUGE_INT + b"}]", "more than 4300 digits"),
        (DEEP, "nested deeper than this service reads"),
        (b'[{"id": "a", "age": ' + b"[" * 5000 + b"]" * 5000 + b"}]", "nested deeper"),
    ],
)
def test_json_beyond_the_decoders_limits_is_a_clear_400(body, message):
    """Python's own limits (digits of an int, recursion) are refusals, not 500s."""
    for parse in (
        lambda b: parse_table(b, "application/json", max_rows=5),
        lambda b: parse_outcomes(b, max_rows=5),
        lambda b: parse_events(b, max_rows=5),
    ):
        with pytest.raises(RequestError, match=message) as info:
            parse(body)
        assert info.value.status == 400
    # a float that long is a number: inf, refused later as not finite
    frame = parse_table(b'[{"a": ' + HUGE_INT + b".5}]", "application/json", max_rows=5)
    assert frame["a"].tolist() == [float("inf")]


@pytest.mark.parametrize(
    ("body", "columns"),
    [
        (b'[{"customer_id": "C1", "age": 51, "age": 18}]', ["age"]),
        # ':' inside strings: the slower reading that checks every object
        (b'[{"t": "12:00", "age": 51, "b": 1, "age": 18, "b": 2}]', ["age", "b"]),
        (b'{"records": [{"a": 1}, {"a": 2, "a": 3}]}', ["a"]),
        (b'{"records": [{"a": 1}], "records": [{"a": 2}]}', ["records"]),
        (b'{"dataframe_records": [{"a": 1, "a": 1}]}', ["a"]),
        (b'[{"a": 1, "x": {"k": 1, "k": 2}}]', ["k"]),
    ],
)
def test_repeated_json_keys_are_refused_naming_them(body, columns):
    with pytest.raises(RequestError, match="more than once") as info:
        parse_table(body, "application/json", max_rows=5, lazy=True)
    assert info.value.status == 422
    assert list(info.value.columns) == columns
    for name in columns:
        assert repr(name) in info.value.message


def test_repeated_keys_of_outcomes_and_events_are_refused():
    for parse, body, field in (
        (
            parse_outcomes,
            b'[{"id": "a", "churned": true, "churned": false}]',
            "churned",
        ),
        (parse_outcomes, b'{"ids": ["a"], "ids": ["b"], "churned": [1]}', "ids"),
        (parse_events, b'[{"id": "a", "id": "b", "churned_at": "2026-01-01"}]', "id"),
    ):
        with pytest.raises(RequestError, match=f"names '{field}' more than once") as e:
            parse(body, max_rows=5)
        assert e.value.status == 422
        assert e.value.columns == (field,)


def test_bodies_without_repeats_read_alike_on_both_paths():
    """The fast check (':' count) and the per-object check agree on good bodies."""
    records = [
        {"customer_id": "C:1", "age": 51, "when": "2026-01-01T10:00:00Z"},
        {"customer_id": "C2", "age": None, "when": "x"},
    ]
    plain = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]  # no ':' in any string
    for rows in (records, plain):
        for body in (rows, {"records": rows}, {"dataframe_records": rows}):
            got = parse_table(
                json.dumps(body).encode(), "application/json", max_rows=5, lazy=True
            )
            assert list(got) == rows
    split = {"dataframe_split": {"columns": ["a", "b"], "data": [[1, "p:q"]]}}
    got = parse_table(json.dumps(split).encode(), "application/json", max_rows=5)
    assert got.to_dict("records") == [{"a": 1, "b": "p:q"}]


@pytest.mark.parametrize(
    ("header", "repeated"),
    [
        ("customer_id,age,tenure_months,age", ["age"]),
        ("a,b,a,a.1", ["a"]),  # pandas names them a, b, a.2, a.1
        ("a,b,a,b", ["a", "b"]),
        ("\ufeffa,b,a", ["a"]),
        ("a,,a,", ["a"]),  # empty names are pandas' "Unnamed: 1", "Unnamed: 3"
        ("NA,x,NA", ["NA"]),
    ],
)
def test_repeated_csv_columns_are_refused_from_the_header_itself(header, repeated):
    n = header.count(",") + 1
    body = (header + "\n" + ",".join(["1"] * n) + "\n").encode()
    with pytest.raises(RequestError, match="CSV header names") as info:
        parse_table(body, "text/csv", max_rows=5)
    assert info.value.status == 422
    assert list(info.value.columns) == repeated
    # a column that merely looks like pandas' renaming is a column of its own
    frame = parse_table(b"a,a.1,b.2\n1,2,3\n", "text/csv", max_rows=5)
    assert frame.columns.tolist() == ["a", "a.1", "b.2"]


def test_csv_in_other_separators_carries_a_hint():
    from churnlib.serve._parse import CSV_HINT

    for sep, label in ((";", "';'"), ("\t", "tabs")):
        body = sep.join(["customer_id", "age", "tenure_months"]) + "\nC1" + sep + "5\n"
        frame = parse_table(body.encode(), "text/csv", max_rows=5)
        assert frame.shape[1] == 1
        assert f"looks separated by {label}" in frame.attrs[CSV_HINT]
    assert CSV_HINT not in parse_table(b"a,b\n1,2\n", "text/csv", max_rows=5).attrs
    # rows with more fields than the one-column header: unreadable, and why
    for body in (b"a;b\n1,5;2\n1,5;3,5\n", b"a;b\n1,5;2\n"):  # decimal commas
        with pytest.raises(RequestError, match="header looks separated by ';'") as e:
            parse_table(body, "text/csv", max_rows=5)
        assert e.value.status == 400


def test_future_observation_times_are_refused_like_future_churn_events():
    for parse, body, field in (
        (
            parse_outcomes,
            b'[{"id": "a", "churned": 1, "observed_at": "9999-12-31"}]',
            "observed_at",
        ),
        (
            parse_outcomes,
            b'{"ids": ["a"], "churned": [1], "observed_at": "2999-01-01"}',
            "observed_at",
        ),
        (parse_events, b'[{"id": "a", "churned_at": "9999-12-31"}]', "churned_at"),
    ):
        with pytest.raises(
            RequestError, match=f"Some {field} times lie in the future"
        ) as info:
            parse(body, max_rows=5)
        assert (info.value.status, info.value.columns) == (422, (field,))
    # now and the past are fine; no time at all means now
    _, _, observed, _ = parse_outcomes(
        b'[{"id": "a", "churned": 1, "observed_at": "2026-01-01"}]', max_rows=5
    )
    assert observed.tolist() == [1767225600000000]
    parse_outcomes(b'[{"id": "a", "churned": 1}]', max_rows=5)


def test_access_log_records_lose_their_query_strings():
    import logging

    from churnlib.serve._logs import ACCESS_LOGGER, redact_access_log

    redact_access_log()
    redact_access_log()  # once only
    logger = logging.getLogger(ACCESS_LOGGER)
    assert len(logger.filters) == 1
    record = logger.makeRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "POST", "/v1/predict?api_key=s3cret&x=1", "1.1", 401),
        None,
    )
    assert logger.filters[0].filter(record)
    assert record.getMessage() == (
        '127.0.0.1:1 - "POST /v1/predict?[query redacted] HTTP/1.1" 401'
    )


@pytest.mark.parametrize(
    "body", [b"a,b\n1,2,3\n", b"a,b\n1,2,\n", b"a,b\n1,2,3,4\n5,6,7,8\n"]
)
def test_csv_rows_wider_than_the_header_are_refused_not_shifted(body):
    """pandas would take the extra values as the index: a=2, b=3 for "1,2,3"."""
    with pytest.raises(RequestError, match="more values than the header's 2") as e:
        parse_table(body, "text/csv", max_rows=5)
    assert e.value.status == 400
    # narrower rows are missing values at the end, as in any CSV reader
    frame = parse_table(b"a,b\n1\n", "text/csv", max_rows=5)
    assert frame["a"].tolist() == [1]
    assert frame["b"].isna().all()
