"""read_table on real exports: number formats, encodings, ids, layouts, zips."""

from __future__ import annotations

import codecs
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnlib import read_table
from churnlib._core.tables import layout_hint
from churnlib.exceptions import (
    DataQualityWarning,
    DataValidationError,
    InvalidParameterError,
)


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


# -- decimal commas and thousands separators (D1) --------------------------------


def test_semicolon_file_with_decimal_commas_reads_numbers(tmp_path):
    path = _write(
        tmp_path,
        "eu.csv",
        "id;charges;total;plan\n1;29,85;1.234,50;a\n2;56,95; ;b\n3;-0,5;Unknown;c\n",
    )
    frame = read_table(path)
    assert frame["charges"].tolist() == [29.85, 56.95, -0.5]
    assert frame["total"].iloc[0] == 1234.5
    assert frame["total"].iloc[1:].isna().all()  # blank and placeholder
    assert frame["plan"].tolist() == ["a", "b", "c"]


def test_quoted_thousands_commas_in_a_comma_file(tmp_path):
    path = _write(
        tmp_path,
        "us.csv",
        'id,total,count,version\n1,"1,234.50","1,000",1.2\n'
        '2,"12.00","2,500","1,2"\n3,"999",7,"2,0"\n',
    )
    frame = read_table(path)
    assert frame["total"].tolist() == [1234.5, 12.0, 999.0]
    assert frame["count"].tolist() == [1000, 2500, 7]
    assert frame["count"].dtype == np.int64
    # "1,2" in a comma file is text (a version), never the number 1.2
    assert frame["version"].tolist() == ["1.2", "1,2", "2,0"]


def test_ambiguous_commas_stay_text_with_a_warning(tmp_path):
    path = _write(tmp_path, "t.tsv", "id\tamount\n1\t1,234\n2\t5\n")
    with pytest.warns(DataQualityWarning, match=r"'amount'.*1234 or 1\.234"):
        frame = read_table(path)
    assert frame["amount"].tolist() == ["1,234", "5"]
    assert read_table(path, thousands=",")["amount"].tolist() == [1234, 5]
    assert read_table(path, decimal=",")["amount"].tolist() == [1.234, 5.0]


def test_semicolon_file_reads_ambiguous_commas_as_decimals(tmp_path):
    path = _write(tmp_path, "t.csv", "id;rate\n1;1,234\n2;5\n")
    assert read_table(path)["rate"].tolist() == [1.234, 5.0]


def test_explicit_separators(tmp_path):
    path = _write(tmp_path, "t.csv", "id;balance\n1;1.500\n2;20\n")
    # pandas alone reads 1.500 as 1.5 (with a warning); thousands='.' says 1500
    with pytest.warns(DataQualityWarning, match="thousands dot"):
        assert read_table(path)["balance"].tolist() == [1.5, 20.0]
    assert read_table(path, thousands=".")["balance"].tolist() == [1500, 20]
    # decimal='.' turns the detection off
    path = _write(tmp_path, "u.csv", "id;x\n1;2,5\n2;3\n")
    assert read_table(path, decimal=".")["x"].tolist() == ["2,5", "3"]
    with pytest.raises(InvalidParameterError, match="must differ"):
        read_table(path, decimal=",", thousands=",")
    with pytest.raises(InvalidParameterError, match=r"'decimal'.*one character"):
        read_table(path, decimal=",,")


def test_text_that_only_looks_like_numbers_in_part_stays_text(tmp_path):
    path = _write(tmp_path, "t.csv", "id;code\n1;12,5\n2;AB-3\n3;1,2,3\n")
    assert read_table(path)["code"].tolist() == ["12,5", "AB-3", "1,2,3"]


_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
_words = st.text(alphabet="abcdefgh ", min_size=1, max_size=6).filter(
    lambda s: s.strip() == s and s.strip()
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
    n=st.integers(1, 12),
    sep=st.sampled_from([";", "\t", "|"]),
)
def test_decimal_comma_round_trip(tmp_path, data, n, sep):
    frame = pd.DataFrame(
        {
            "amount": data.draw(st.lists(_finite, min_size=n, max_size=n)),
            "maybe": data.draw(
                st.lists(st.one_of(_finite, st.just(np.nan)), min_size=n, max_size=n)
            ),
            "count": data.draw(
                st.lists(st.integers(-(10**9), 10**9), min_size=n, max_size=n)
            ),
            "word": data.draw(st.lists(_words, min_size=n, max_size=n)),
        }
    )
    frame["amount"] = frame["amount"].astype(float) + 0.5  # never all whole
    path = tmp_path / "round.csv"
    frame.to_csv(path, sep=sep, decimal=",", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # a lone "1,234"
        back = read_table(path, decimal=",") if sep != ";" else read_table(path)
    for column in ("amount", "maybe", "count"):
        np.testing.assert_array_equal(
            back[column].to_numpy(dtype=float), frame[column].to_numpy(dtype=float)
        )
    assert back["word"].tolist() == frame["word"].tolist()


# -- encodings (D4, D13) -----------------------------------------------------------


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"]
)
def test_unicode_exports_are_decoded(tmp_path, encoding):
    frame = pd.DataFrame({"customerID": ["a1", "b2"], "city": ["Zürich", "Kraków"]})
    path = tmp_path / "u.txt"
    path.write_bytes(frame.to_csv(sep="\t", index=False).encode(encoding))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = read_table(path)
    assert back.columns.tolist() == ["customerID", "city"]
    assert back["city"].tolist() == ["Zürich", "Kraków"]


def test_nul_bytes_outside_utf16_are_refused_naming_the_file(tmp_path):
    path = _write(tmp_path, "odd.csv", b"a,b\n1,\x00\x00\x002\n")
    with pytest.raises(DataValidationError, match=r"'.*odd\.csv'.*are NUL.*encoding="):
        read_table(path)
    with pytest.raises(DataValidationError, match="no text encoding Python knows"):
        read_table(path, encoding="klingon")


def test_wrong_explicit_encoding_names_the_file_and_fix(tmp_path):
    path = _write(tmp_path, "t.csv", "a,b\nRené,1\n".encode("cp1252"))
    with pytest.raises(DataValidationError, match=r"t\.csv' as utf-8.*encoding="):
        read_table(path, encoding="utf-8")


def test_cp1252_fallback_is_per_byte_and_keeps_utf8(tmp_path):
    # a UTF-8 export with a few cp1252 bytes pasted in, and the five bytes
    # cp1252 leaves undefined (read as latin-1)
    raw = "a,b\nZürich,1\n".encode() + "Chèque,2\n".encode("cp1252") + b"x\x81\x9d,3\n"
    path = _write(tmp_path, "mixed.csv", raw)
    with pytest.warns(DataQualityWarning, match="Windows-1252"):
        frame = read_table(path)
    assert frame["a"].tolist() == ["Zürich", "Chèque", "x\x81\x9d"]


def test_utf8_split_across_pandas_buffers_is_never_a_fallback(tmp_path):
    rows = "".join(f"{i},{'é' * (i % 7)}€\n" for i in range(40_000))
    path = _write(tmp_path, "big.csv", "a,b\n" + rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_table(path)
    assert frame["b"].iloc[39_999] == "é" * (39_999 % 7) + "€"
    assert codecs.lookup("utf-8")  # the fallback handler left UTF-8 as it is


# -- leading zeros (D9) ---------------------------------------------------------------


def test_zero_padded_digits_stay_text(tmp_path):
    path = _write(
        tmp_path,
        "ids.csv",
        'CustomerId,zip,phone,tenure,rate\n00000042,"01234",0612345678,0,0.5\n'
        "00000043,12345,0712345678,12,10.25\n",
    )
    frame = read_table(path)
    assert frame["CustomerId"].tolist() == ["00000042", "00000043"]
    assert frame["zip"].tolist() == ["01234", "12345"]
    assert frame["phone"].tolist() == ["0612345678", "0712345678"]
    assert frame["tenure"].tolist() == [0, 12]  # a lone 0 is a number
    assert frame["rate"].tolist() == [0.5, 10.25]


def test_ids_without_leading_zeros_stay_numbers(tmp_path):
    path = _write(
        tmp_path, "ids.csv", "CustomerId,when\n15634602,2020-01-05 08:30\n7,x\n"
    )
    frame = read_table(path)
    assert frame["CustomerId"].tolist() == [15634602, 7]


# -- layout: delimiters, header lines, ragged rows (D7) --------------------------------


def test_one_ragged_line_does_not_hide_the_delimiter(tmp_path):
    rows = [f"{i};{i % 50};" + ("Yes" if i % 4 == 0 else "No") for i in range(200)]
    rows[3] += ";"
    path = _write(tmp_path, "semi.csv", "id;tenure;Churn\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        DataValidationError,
        match=r"delimited by ';': line 5 has 4 fields where the header has 3",
    ):
        read_table(path)
    rows[3] = rows[3][:-1]
    path.write_text("id;tenure;Churn\n" + "\n".join(rows) + "\n")
    assert read_table(path).columns.tolist() == ["id", "tenure", "Churn"]


def test_title_above_the_header(tmp_path):
    body = "id\ttenure\tChurn\n1\t2\tYes\n2\t3\tNo\n3\t4\tNo\n4\t5\tNo\n"
    path = _write(tmp_path, "crm.txt", "Export from CRM\n\n" + body)
    with pytest.raises(
        DataValidationError,
        match=r"start on line 3\. Pass header_row=2 \(--header-row 2\)",
    ):
        read_table(path)
    frame = read_table(path, header_row=2)
    assert frame.columns.tolist() == ["id", "tenure", "Churn"]
    assert frame["tenure"].tolist() == [2, 3, 4, 5]


def test_rows_longer_than_the_header(tmp_path):
    path = _write(tmp_path, "t.csv", "a,b\n1,2,\n3,4,\n")
    assert read_table(path).to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    path = _write(tmp_path, "u.csv", "a,b\n1,2,5\n3,4,\n")
    with pytest.raises(DataValidationError, match="more values than its header"):
        read_table(path)


def test_excel_header_row(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "t.xlsx"
    frame = pd.DataFrame({"id": [1, 2], "Churn": ["Yes", "No"]})
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"Report": ["from CRM"]}).to_excel(writer, index=False)
        frame.to_excel(writer, index=False, startrow=3)
    raw = read_table(path)
    assert "pass header_row=3 (--header-row 3)" in layout_hint(raw)
    pd.testing.assert_frame_equal(read_table(path, header_row=3), frame)


def test_layout_hints():
    one = pd.DataFrame({"id;tenure;Churn": ["1;2;Yes"]})
    assert "delimited by ';'; pass sep=';' (--sep ';')" in layout_hint(one)
    tab = pd.DataFrame({"id\ttenure": ["1\t2"]})
    assert "pass sep='\\t' (--sep '\\t')" in layout_hint(tab)
    unnamed = pd.DataFrame({"Unnamed: 0": [1], "Unnamed: 1": [2]})
    assert "header does not seem to be on the first line" in layout_hint(unnamed)
    assert layout_hint(pd.DataFrame({"a": [1], "b": [2]})) == ""


# -- zip archives (D12) ---------------------------------------------------------------


def test_zip_with_several_files_is_refused(tmp_path):
    path = tmp_path / "months.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("jan.csv", "a,b\n1,2\n")
        archive.writestr("feb.csv", "a,b\n3,4\n")
    with pytest.raises(
        DataValidationError,
        match=r"months\.zip' holds 2 files \(jan\.csv, feb\.csv\).*Unzip",
    ):
        read_table(path)


def test_zip_with_one_file_and_mac_metadata_is_read(tmp_path):
    path = tmp_path / "one.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/jan.csv", "a,b\n1,2\n")
        archive.writestr("__MACOSX/data/._jan.csv", "junk")
    assert read_table(path).to_dict("list") == {"a": [1], "b": [2]}


# -- odd files (D19, D20, D21) ----------------------------------------------------


def test_classic_mac_line_endings(tmp_path):
    frame = pd.DataFrame({"a": range(5), "b": list("xyzuv")})
    path = _write(tmp_path, "cr.csv", frame.to_csv(index=False).replace("\n", "\r"))
    pd.testing.assert_frame_equal(read_table(path), frame)


def test_legacy_xls_names_the_fix(tmp_path):
    import importlib.util

    if importlib.util.find_spec("python_calamine") or importlib.util.find_spec("xlrd"):
        pytest.skip("a reader of .xls is installed")
    path = _write(
        tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000)
    )
    with pytest.raises(
        DataValidationError, match=r"old\.xls' is a legacy Excel.*xlsx or CSV"
    ):
        read_table(path)


def test_a_folder_is_not_a_table(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(DataValidationError, match="is a folder, not a table"):
        read_table(tmp_path / "adir")


def test_empty_header_cells_are_not_reported_as_repeats(tmp_path):
    path = _write(tmp_path, "dup.csv", "id,tenure,tenure,,Churn,,\n1,2,3,4,5,6,7\n")
    with pytest.warns(DataQualityWarning, match=r"\['tenure'\];") as record:
        frame = read_table(path)
    assert len(record) == 1
    assert frame.columns.tolist()[3] == "Unnamed: 3"


def test_a_stray_nul_byte_in_utf8_text_is_kept_with_a_warning(tmp_path):
    rows = "".join(
        f"{i},{'Fem' + chr(0) + 'ale' if i == 7 else 'Male'}\n" for i in range(300)
    )
    path = _write(tmp_path, "nul.csv", "id,gender\n" + rows)
    with pytest.warns(DataQualityWarning, match=r"NUL bytes \(the first on line 9\)"):
        frame = read_table(path)
    assert frame["gender"].iloc[7] == "Fem\x00ale"
    assert len(frame) == 300


def test_none_is_a_category_in_every_format(tmp_path):
    frame = pd.DataFrame({"internet": ["None", "DSL", "NA", ""], "n": [1, 2, 3, 4]})
    path = _write(tmp_path, "t.csv", frame.to_csv(index=False))
    back = read_table(path)
    assert back["internet"].tolist()[:2] == ["None", "DSL"]
    assert back["internet"].iloc[2:].isna().all()  # pandas' other NA texts stay NA
    missing = read_table(path, na_values=["None"])["internet"].isna().tolist()
    assert missing == [True, False, True, True]
    pytest.importorskip("openpyxl")
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    assert read_table(tmp_path / "t.xlsx")["internet"].tolist()[:2] == ["None", "DSL"]


def test_thousands_dots_in_a_semicolon_file_are_warned_about(tmp_path):
    path = _write(
        tmp_path, "t.csv", "id;balance;rate\n1;1.500;0.125\n2;20;1.5\n3;12.000;2\n"
    )
    with pytest.warns(
        DataQualityWarning, match=r"'balance'.*'1\.500'.*thousands='\.'"
    ) as rec:
        frame = read_table(path)
    assert len(rec) == 1  # 'rate' has 1.5: decimals, not thousands
    assert frame["balance"].tolist() == [1.5, 20.0, 12.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_table(path, thousands=".")["balance"].tolist() == [1500, 20, 12000]


def test_currency_and_percent_text_are_numbers(tmp_path):
    path = _write(
        tmp_path,
        "money.csv",
        'id,charges,util,total,eu,label\n1,$29.85,41.7%,"$1,234.50",Yes,$x\n'
        "2,$56.95,3%, ,No,$y\n3,-$5.00,100%,$12,No,$z\n",
    )
    frame = read_table(path)
    assert frame["charges"].tolist() == [29.85, 56.95, -5.0]
    np.testing.assert_allclose(frame["util"], [0.417, 0.03, 1.0])
    assert frame["total"].iloc[[0, 2]].tolist() == [1234.5, 12.0]
    assert np.isnan(frame["total"].iloc[1])
    assert frame["label"].tolist() == ["$x", "$y", "$z"]  # text with a symbol
    eu = _write(tmp_path, "eu.csv", "id;price\n1;29,85 \u20ac\n2;1.234,50 \u20ac\n")
    assert read_table(eu)["price"].tolist() == [29.85, 1234.5]
