import gzip
import warnings

import fsspec
import numpy as np
import pandas as pd
import pytest

from churnlib import read_table, write_table
from churnlib._core.tables import table_format
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
    TableNotFoundError,
)

FRAME = pd.DataFrame(
    {"id": [1, 2, 3], "plan": ["a", "b", "c"], "churn": ["Yes", "No", "No"]}
)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, sep):
    path = tmp_path / "t.csv"
    path.write_text(FRAME.to_csv(index=False, sep=sep))
    pd.testing.assert_frame_equal(read_table(path), FRAME)


def test_delimiter_inside_quotes_does_not_fool_the_sniffer(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('name;city\n"Hill, A";"Paris, FR"\n"Kay, B";Rome\n')
    assert read_table(path).columns.tolist() == ["name", "city"]


def test_non_utf8_bytes_are_read_as_cp1252_with_a_warning(tmp_path):
    path = tmp_path / "t.csv"
    text = "name,city,contract\nRen\xe9,Z\xfcrich,Month\u2013to\u2013month \u20ac\n"
    path.write_bytes(text.encode("cp1252"))
    with pytest.warns(DataQualityWarning, match=r"not valid UTF-8.*Windows-1252"):
        frame = read_table(path)
    assert frame.iloc[0].tolist() == [
        "René",
        "Zürich",
        "Month\u2013to\u2013month \u20ac",
    ]
    assert read_table(path, encoding="latin-1")["city"].tolist() == ["Zürich"]


def test_duplicated_header_warns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("age,age,churn\n1,2,yes\n")
    with pytest.warns(
        DataQualityWarning, match=r"repeats the column name\(s\) \['age'\]"
    ):
        frame = read_table(path)
    assert frame.columns.tolist() == ["age", "age.1", "churn"]


def test_parquet_gzip_and_excel(tmp_path):
    FRAME.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), FRAME)
    (tmp_path / "data").write_bytes((tmp_path / "t.parquet").read_bytes())
    pd.testing.assert_frame_equal(read_table(tmp_path / "data"), FRAME)  # magic bytes
    with gzip.open(tmp_path / "t.csv.gz", "wt") as fh:
        fh.write(FRAME.to_csv(index=False))
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv.gz"), FRAME)


def test_excel_takes_the_sheet_holding_the_table(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "t.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["exported 2026"]}).to_excel(
            writer, sheet_name="About", index=False
        )
        FRAME.to_excel(writer, sheet_name="Customers", index=False)
    pd.testing.assert_frame_equal(read_table(path), FRAME)
    assert read_table(path, sheet="About").columns.tolist() == ["note"]
    with pytest.raises(
        DataValidationError, match=r"no sheet 'Nope'.*'About', 'Customers'"
    ):
        read_table(path, sheet="Nope")


def test_missing_file_and_bad_format(tmp_path):
    with pytest.raises(TableNotFoundError, match="No table at") as e:
        read_table(tmp_path / "nope.csv")
    assert isinstance(e.value, FileNotFoundError)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataValidationError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(DataValidationError, match="Could not read"):
        read_table(tmp_path / "bad.parquet")
    with pytest.raises(InvalidParameterError, match="format"):
        read_table(tmp_path / "t.csv", format="json")


def test_secrets_never_in_messages_or_causes():
    url = "memory://KEY:SECRET@bucket/none.csv?sig=TOKEN"
    with pytest.raises(TableNotFoundError) as e:
        read_table(url)
    text = repr(e.value) + str(e.value.__cause__) + str(e.value.__context__ or "")
    assert "SECRET" not in text
    assert "TOKEN" not in text


def test_write_table_round_trip_and_atomicity(tmp_path):
    write_table(FRAME, tmp_path / "out" / "t.parquet")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out" / "t.parquet"), FRAME
    )
    write_table(FRAME, tmp_path / "out" / "t.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "t.csv"), FRAME)
    with pytest.raises(InvalidParameterError, match=r"\.csv or \.parquet"):
        write_table(FRAME, tmp_path / "out" / "t.bin")
    bad = pd.DataFrame({"x": [object()]})
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error
        write_table(bad, tmp_path / "out" / "bad.parquet")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "t.csv",
        "t.parquet",
    ]


def test_write_table_on_memory_fs():
    write_table(FRAME, "memory://tables-test/x.csv")
    with fsspec.open("memory://tables-test/x.csv", "rt") as fh:
        assert fh.read().startswith("id,plan,churn")


def test_table_format():
    assert table_format("a/b.PARQUET") == "parquet"
    assert table_format("a.tsv") == "csv"
    assert table_format("s3://b/a.xlsx?sig=1") == "excel"
    assert table_format("noext") is None
    assert table_format("noext", b"PK\x03\x04") == "excel"


def test_na_values_apply_to_every_format(tmp_path):
    FRAME.to_parquet(tmp_path / "t.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_table(tmp_path / "t.parquet", na_values=["b"])
    assert frame["plan"].isna().tolist() == [False, True, False]
    assert np.isnan(frame["plan"].iloc[1])


def test_write_failure_is_a_storage_error_and_leaves_nothing(tmp_path):
    from churnlib.exceptions import StorageError

    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageError, match="Cannot write") as e:
        write_table(FRAME, f"{(tmp_path / 'f').as_uri()}/t.csv")
    assert isinstance(e.value, OSError)
    assert e.value.__context__ is None
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
