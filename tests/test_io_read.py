"""Reading spreadsheets as offices make them: title rows, delimiters, encodings."""

from __future__ import annotations

import openpyxl
import pandas as pd

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
