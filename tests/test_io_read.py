"""Reading spreadsheets as offices make them: title rows, delimiters, encodings."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from riskmap._errors import RiskmapInputError
from riskmap.io._read import read_layer
from riskmap.io.tps import read_tps
from riskmap.testing import reasons_by_row


def test_excel_with_title_rows_keeps_excel_row_numbers(tmp_path, tps_frame):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "DAFTAR TPS PILKADA 2024 KOTA UJI"  # title, row 1
    ws["A2"] = "Sumber: KPU Kota Uji"  # row 2; row 3 blank
    ws.append([])
    ws.append(list(tps_frame.columns))  # header, row 4
    for rec in tps_frame.itertuples(index=False):
        ws.append(list(rec))  # data rows 5..13
    ws["F7"] = "-10,1x"  # row 7: unreadable latitude
    path = tmp_path / "tps.xlsx"
    wb.save(path)
    raw = read_layer(path)
    assert list(raw.frame.columns[1:4]) == ["kode_tps", "kecamatan", "kelurahan"]
    assert list(raw.frame["_row"])[:3] == [5, 6, 7]
    tps, report = read_tps(path)
    assert reasons_by_row(report) == {7: "unparseable_coordinates"}
    assert report.read == 9 and len(tps) == 8


def test_csv_with_title_line_semicolons_and_decimal_commas(tmp_path, tps_frame):
    frame = tps_frame.copy()
    frame["lat"] = frame["lat"].str.replace(".", ",", regex=False)
    frame["lon"] = frame["lon"].str.replace(".", ",", regex=False)
    body = frame.to_csv(index=False, sep=";")
    path = tmp_path / "tps.csv"
    path.write_text("Rekap TPS Kota Uji\n\n" + body, encoding="cp1252")
    raw = read_layer(path)
    assert "lat" in raw.frame.columns
    assert raw.frame["_row"].iloc[0] == 4  # title, blank, header
    tps, report = read_tps(path)
    assert report.rejected == [] and len(tps) == 9
    assert abs(tps.geometry.y.iloc[0] - float(tps_frame["lat"].iloc[0])) < 1e-9


def test_latin1_names_survive(tmp_path, tps_frame):
    frame = tps_frame.copy()
    frame.loc[0, "alamat"] = "Jl. Sédia Café"
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False, encoding="cp1252")
    tps, _ = read_tps(path)
    assert tps["address"].iloc[0] == "Jl. Sédia Café"


def test_tab_separated(tmp_path, tps_frame):
    path = tmp_path / "tps.txt"
    tps_frame.to_csv(path, index=False, sep="\t")
    tps, report = read_tps(path)
    assert len(tps) == 9 and report.rejected == []


def test_excel_numbers_stay_numbers(tmp_path, tps_frame):
    frame = tps_frame.copy()
    frame["lat"] = frame["lat"].astype(float)
    frame["lon"] = frame["lon"].astype(float)
    frame["kode_tps"] = frame["kode_tps"].astype("int64")  # Excel stores long codes as numbers
    path = tmp_path / "tps.xlsx"
    frame.to_excel(path, index=False)
    tps, report = read_tps(path)
    assert report.rejected == []
    assert tps["tps_id"].iloc[0] == "5371011001001"
    assert tps["named_village_code"].iloc[0] == "53.71.01.1001"
    assert pd.api.types.is_float_dtype(tps["voters"])


# -- hostile and damaged tables (issue 9) ------------------------------------


def test_csv_header_then_random_bytes_is_an_input_error_or_read(tmp_path, tps_frame):
    import random

    rng = random.Random(9)
    header = ",".join(tps_frame.columns) + "\n"
    for seed in range(20):
        rng.seed(seed)
        path = tmp_path / f"tps{seed}.csv"
        path.write_bytes(header.encode() + bytes(rng.randrange(256) for _ in range(3000)))
        try:
            raw = read_layer(path)
        except RiskmapInputError as exc:
            assert exc.code in {"csv_unreadable", "csv_binary"} and exc.message("id")
            continue
        assert raw.frame["_row"].is_monotonic_increasing


def test_one_invalid_byte_keeps_utf8_and_warns_the_row(tmp_path, tps_frame):
    frame = tps_frame.copy()
    frame.loc[0, "alamat"] = "Jl. Kelapa\u00a0Lima"  # a UTF-8 multi-byte character, as Excel writes it
    data = frame.to_csv(index=False).encode("utf-8").replace(b"Jl. Uji 3", b"Jl. Uji \xff3")
    path = tmp_path / "tps.csv"
    path.write_bytes(data)
    tps, report = read_tps(path)
    assert tps["address"].iloc[0] == "Jl. Kelapa\u00a0Lima"  # not 'KelapaÂ\xa0Lima'
    assert "\ufffd" in tps["address"].iloc[3]
    warned = [(w.row, w.reason) for w in report.warnings if w.row is not None]
    assert (5, "bad_character") in warned
    assert "ejaan" in next(w for w in report.warnings if w.reason == "bad_character").message("id")


def test_windows_1252_export_still_read_as_cp1252(tmp_path, tps_frame):
    frame = tps_frame.copy()
    frame.loc[0, "alamat"] = "Jl. Sédia – Café"
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False, encoding="cp1252")
    raw = read_layer(path)
    assert raw.frame["alamat"].iloc[0] == "Jl. Sédia – Café" and raw.row_warnings == []


def test_na_words_are_data_and_numbers_stay_numbers(tmp_path, tps_frame):
    frame = tps_frame.copy()
    words = ["NA", "N/A", "null", "None", "NaN", "nan", "#N/A", "-", "NULL"]
    frame["alamat"] = words
    frame["kelurahan"] = frame["kelurahan"].where(frame.index != 0, "NA")
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    raw = read_layer(path)
    assert list(raw.frame["alamat"]) == words
    assert raw.frame["kelurahan"].iloc[0] == "NA"
    assert pd.api.types.is_float_dtype(raw.frame["lat"]) and pd.api.types.is_integer_dtype(raw.frame["dpt"])
    xlsx = tmp_path / "tps.xlsx"
    frame.to_excel(xlsx, index=False)
    got = list(read_layer(xlsx).frame["alamat"])  # openpyxl writes "#N/A" as an Excel error cell: empty
    assert got[:6] == words[:6] and got[7:] == words[7:]


def test_truncated_last_row_is_rejected_not_moved(tmp_path, tps_frame):
    path = tmp_path / "tps.csv"
    text = tps_frame.to_csv(index=False)
    cut = text.rstrip("\n")
    cut = cut[: cut.rindex(",") - 3]  # the last line stops inside its longitude
    path.write_text(cut + "\n")
    tps, report = read_tps(path)
    assert reasons_by_row(report) == {10: "truncated_row"}
    assert "7 dari 8" in report.rejected[0].message("id")
    assert report.read == 9 and len(tps) == 8
    report.check()


def test_row_with_more_fields_is_rejected_and_numbers_kept(tmp_path, tps_frame):
    lines = tps_frame.to_csv(index=False).splitlines()
    lines[3] = lines[3] + ",extra"  # row 4: shifted columns
    lines[5] = lines[5] + ",,"  # row 6: trailing delimiters only: used
    path = tmp_path / "tps.csv"
    path.write_text("\n".join(lines) + "\n")
    raw = read_layer(path)
    assert raw.rejected == [(4, "misaligned_row", {"n": 9, "m": 8})]
    assert list(raw.frame["_row"]) == [2, 3, 5, 6, 7, 8, 9, 10]
    assert pd.api.types.is_float_dtype(raw.frame["lat"])
    tps, report = read_tps(path)
    assert reasons_by_row(report) == {4: "misaligned_row"} and report.read == 9 and len(tps) == 8
    report.check()


@pytest.mark.parametrize(
    "body",
    [
        "a,b,c\n1,2,3\n\n4,5\n6,7,8,9\n\n",
        "a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n",
        'a,b,c\n1,"two\nlines",3\n4,5\n',
        "a;b;c\r\n1;2;3\r\n4;5\r\n",
        "a,b,c,\n1,2,3\n4,5,6,7\n",
        "a,b,c\nNA,N/A,-\n,,\n x , y ,z\n",
    ],
)
def test_data_rows_in_the_file_equal_rows_read(tmp_path, body):
    path = tmp_path / "t.csv"
    path.write_text(body)
    raw = read_layer(path)
    records = [r for r in csv.reader(io.StringIO(body.replace("\r\n", "\n"))) if any(c.strip() for c in r)]
    assert len(raw.frame) + len(raw.rejected) == len(records) - 1  # the header is not a row


# -- red team: text files that are not text (finding 15) ------------------------


def test_utf16_without_bom_is_named_as_such(tmp_path):
    path = tmp_path / "tps.csv"
    path.write_bytes("kode_tps,lat,lon\nTPS 1,-10.2,123.55\n".encode("utf-16-le"))
    with pytest.raises(RiskmapInputError) as info:
        read_layer(path)
    assert info.value.code == "csv_utf16_no_bom"
    assert "UTF-16" in info.value.message("id") and "UTF-8" in info.value.message("en")
    bom = tmp_path / "bom.csv"
    bom.write_bytes("kode_tps,lat,lon\nTPS 1,-10.2,123.55\n".encode("utf-16"))
    assert list(read_layer(bom).frame.columns) == ["_row", "kode_tps", "lat", "lon"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"PK\x03\x04" + bytes(range(256)) * 4, "csv_binary_kind"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "csv_binary_kind"),
        (b"kode_tps,lat,lon\n" + bytes((i * 37 + 11) % 256 for i in range(4000)), "csv_binary"),
    ],
)
def test_binary_content_under_a_text_name_is_not_read_as_columns(tmp_path, content, code):
    path = tmp_path / "tps.txt"
    path.write_bytes(content)
    with pytest.raises(RiskmapInputError) as info:
        read_layer(path)
    assert info.value.code == code
    assert "CSV" in info.value.message("id") and ".txt" in info.value.message("en")


def test_whitespace_only_line_is_a_blank_line_not_a_truncated_row(tmp_path):
    """A line holding only spaces and a tab is blank to the user (the fuzz suite counted it as a row)."""
    path = tmp_path / "insiden.csv"
    path.write_bytes(b"tanggal,jenis,lat,lon\n \t\r\n2024-01-01,protest,-10.2,123.6\n")
    raw = read_layer(path)
    assert len(raw.frame) == 1 and raw.rejected == []
