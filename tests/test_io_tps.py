"""Polling stations: formats, the dirty file, indicators, village cross-check."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from riskmap import pipeline
from riskmap._errors import RiskmapInputError
from riskmap.io import read_tps
from riskmap.testing import assert_accounted, reasons_by_row, village_center


def _load(villages_path, tps_path):
    layers = pipeline.load(villages_path, tps_path)
    return layers.tps, layers.report["tps"]


def test_clean_csv(villages_path, tps_path):
    tps, report = _load(villages_path, tps_path)
    assert len(tps) == 9 and report.rejected == [] and report.warnings == []
    assert tps["tps_id"].iloc[0] == "5371011001001"
    assert (tps["village_code"] == tps["named_village_code"]).all()
    assert tps["voters"].sum() == 3600


def test_xlsx_and_geojson_give_the_same_points(tmp_path, villages_path, tps_frame):
    xlsx = tmp_path / "tps.xlsx"
    frame = tps_frame.copy()
    frame["lat"] = frame["lat"].astype(float)  # Excel holds real numbers
    frame["lon"] = frame["lon"].astype(float)
    frame.to_excel(xlsx, index=False)
    gj = tmp_path / "tps.geojson"
    gpd.GeoDataFrame(
        tps_frame.drop(columns=["lat", "lon"]), geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326
    ).to_file(gj)
    a, ra = _load(villages_path, xlsx)
    b, rb = _load(villages_path, gj)
    assert ra.schema == rb.schema == "TPS"
    assert list(a["tps_id"]) == list(b["tps_id"])
    assert (abs(a.geometry.x - b.geometry.x) < 1e-9).all() and (abs(a.geometry.y - b.geometry.y) < 1e-9).all()
    assert list(a["village_code"]) == list(b["village_code"])


def test_dirty_file_every_row_accounted(tmp_path, villages, villages_path, tps_frame):
    """Text coordinates, decimal commas, swapped pairs, lost decimal points, far points, duplicates."""
    rows = tps_frame.to_dict("records")
    lat1, lon1 = village_center(villages, 1)
    lat2, lon2 = village_center(villages, 2)
    bad = [
        {
            **rows[1],
            "kode_tps": "5371011002002",
            "lat": f"{lat1:.6f}".replace(".", ","),
            "lon": f"{lon1:.6f}".replace(".", ","),
        },  # row 11 decimal commas: ok
        {**rows[0], "kode_tps": "5371011001003", "lat": f"{lon1:.6f}", "lon": f"{lat1:.6f}"},  # 12 swapped
        {**rows[0], "kode_tps": "5371011001004", "lat": f"{lat1:.6f}", "lon": f"{lon1 / 100:.8f}"},  # 13 lost decimal
        {**rows[0], "kode_tps": "5371011001005", "lat": "-6.2088", "lon": "106.8456"},  # 14 Jakarta
        {**rows[0], "kode_tps": "5371011001006", "lat": "", "lon": ""},  # 15 missing
        {**rows[0], "kode_tps": "5371011001007", "lat": "sepuluh", "lon": "123"},  # 16 unreadable
        {**rows[3]},  # 17 duplicate of row 5
        {
            **rows[0],
            "kode_tps": "5371011001008",
            "lat": f"{lat2:.6f}",
            "lon": f"{lon2:.6f}",
        },  # 18 named 1001, lies in 1003
        {
            **rows[0],
            "kode_tps": "5371011001009",
            "lat": f"{lat1 - 0.03:.6f}",
            "lon": f"{lon1:.6f}",
        },  # 19 gap: no village
    ]
    frame = pd.DataFrame([*rows, *bad])
    path = tmp_path / "tps_kotor.csv"
    frame.to_csv(path, index=False, sep=";")
    tps, report = _load(villages_path, path)
    assert_accounted(report)
    assert report.read == 18
    assert reasons_by_row(report) == {
        12: "swapped_coordinates",
        13: "lost_decimal_point",
        14: "outside_study_area",
        15: "missing_coordinates",
        16: "unparseable_coordinates",
        17: "duplicate_id",
        19: "no_village",
    }
    assert report.used == 11
    notes = {n.row: n for n in report.rejected}
    assert notes[12].params["suggestion"] == f"{lat1:.7g}, {lon1:.7g}"
    assert notes[13].params["suggestion"].startswith(f"{lat1:.7g}, ")
    assert notes[17].params["first_row"] == 5
    mismatch = [w for w in report.warnings if w.reason == "village_mismatch"]
    assert [w.row for w in mismatch] == [18]
    assert tps.loc[tps["tps_id"] == "5371011001008", "village_code"].item() == villages["kode"].iloc[2]
    comma = tps.loc[tps["tps_id"] == "5371011002002"]
    assert comma.geometry.y.item() == pytest.approx(lat1, abs=1e-6)
    # the report's words name the row's problem and the fix
    assert "Swap" in notes[12].message("en") and "tertukar" in notes[12].message("id")


def test_indicator_columns_are_flags(tmp_path, villages_path, tps_frame):
    frame = tps_frame.copy()
    frame["Riwayat Kekerasan"] = ["ya", "tidak", "Ya", "", "1", "0", "YES", "no", "mungkin"]
    frame["politik_uang"] = "tidak"
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert list(tps["ind_riwayat_kekerasan"]) == [True, False, True, False, True, False, True, False, False]
    assert not tps["ind_politik_uang"].any()
    unreadable = [w for w in report.warnings if w.reason == "unparseable_flag"]
    assert [(w.row, w.params["value"]) for w in unreadable] == [(10, "mungkin")]
    assert "2 indikator" in report.schema


def test_voter_problems_are_warnings(tmp_path, villages_path, tps_frame):
    frame = tps_frame.copy()
    frame.loc[0, "dpt"] = "banyak"
    frame.loc[1, "dpt"] = "750"
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert len(tps) == 9
    reasons = {(w.row, w.reason) for w in report.warnings}
    assert (2, "unparseable_voters") in reasons and (3, "voters_over_limit") in reasons
    assert pd.isna(tps["voters"].iloc[0]) and tps["voters"].iloc[1] == 750


def test_ids_built_when_no_code(tmp_path, villages_path, tps_frame):
    frame = tps_frame.drop(columns=["kode_tps"])
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    tps, _report = _load(villages_path, path)
    assert len(tps) == 9
    assert tps["tps_id"].iloc[0] == "Kecamatan 1/Desa 0-TPS001"


def test_single_coordinate_column(tmp_path, villages_path, tps_frame):
    frame = tps_frame.copy()
    frame["koordinat"] = frame["lat"] + ", " + frame["lon"]
    path = tmp_path / "tps.csv"
    frame.drop(columns=["lat", "lon"]).to_csv(path, index=False)
    tps, _ = _load(villages_path, path)
    assert len(tps) == 9


def test_map_links_pasted_by_field_officers(tmp_path, villages_path, tps_frame):
    """Google Maps and OpenStreetMap links give their pin; a short link is unreadable, quoted back."""
    frame = tps_frame.copy()
    lat, lon = frame["lat"], frame["lon"]
    styles = [
        "https://www.google.com/maps/place/TPS/@{a},{o},17z/data=!3m1!4b1!4m6!3m5!8m2!3d{a}!4d{o}!16s",
        "https://maps.google.com/?q={a},{o}",
        "https://www.google.com/maps/search/?api=1&query={a}%2C{o}",
        "https://www.openstreetmap.org/?mlat={a}&mlon={o}#map=18/{a}/{o}",
        "https://www.openstreetmap.org/#map=19/{a}/{o}",
        "geo:{a},{o}",
        "https://www.google.com/maps/@{a},{o},15z",
        "{a}, {o}",
        "https://maps.app.goo.gl/x1Y2z3",
    ]
    frame["link_maps"] = [style.format(a=a, o=o) for style, a, o in zip(styles, lat, lon, strict=True)]
    path = tmp_path / "tps_links.csv"
    frame.drop(columns=["lat", "lon"]).to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert len(tps) == 8 and reasons_by_row(report) == {10: "unparseable_coordinates"}
    assert "maps.app.goo.gl/x1Y2z3" in report.rejected[0].message("en")
    expected = frame.iloc[:8]
    assert list(tps["tps_id"]) == list(expected["kode_tps"])
    assert (abs(tps["lat"] - expected["lat"].astype(float)) < 1e-9).all()
    assert (abs(tps["lon"] - expected["lon"].astype(float)) < 1e-9).all()


def test_no_coordinates_is_a_clear_error(tmp_path, tps_frame):
    path = tmp_path / "tps.csv"
    tps_frame.drop(columns=["lat", "lon"]).to_csv(path, index=False)
    with pytest.raises(RiskmapInputError) as err:
        read_tps(path)
    msg = err.value.message("en")
    assert "tps.csv" in msg and "kode_tps" in msg and "lat" in msg


def test_mapping_names_coordinate_columns(tmp_path, villages_path, tps_frame):
    frame = tps_frame.rename(columns={"lat": "Titik U-S", "lon": "Titik B-T"})
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    layers = pipeline.load(villages_path, path, columns="tps.lat=Titik U-S,tps.lon=Titik B-T")
    assert layers.report["tps"].used == 9


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path, villages_path, tps_frame):
    path = tmp_path / "tps.csv"
    text = tps_frame.to_csv(index=False).splitlines()
    text.insert(3, "")  # a blank line as row 4
    text[6] = text[6].replace(text[6].split(",")[5], "abc")  # spreadsheet row 7
    path.write_text("\n".join(text) + "\n")
    _, report = _load(villages_path, path)
    assert reasons_by_row(report) == {7: "unparseable_coordinates"}
    assert report.read == 9


@pytest.mark.parametrize("suffix", [".xls", ".ods"])
def test_excel_97_and_libreoffice_workbooks(tmp_path, villages_path, tps_frame, suffix):
    """Offices still save Excel 97-2003 (.xls) and LibreOffice (.ods) files: same TPS as from the CSV."""
    frame = tps_frame.copy()
    frame["lat"] = frame["lat"].astype(float)
    frame["lon"] = frame["lon"].astype(float)
    frame.loc[3, "lat"] = None
    path = tmp_path / f"tps{suffix}"
    if suffix == ".xls":
        import xlwt

        book = xlwt.Workbook()
        sheet = book.add_sheet("TPS")
        sheet.write(0, 0, "DAFTAR TPS")  # a title row above the header
        for j, name in enumerate(frame.columns):
            sheet.write(2, j, name)
        for i, row in enumerate(frame.itertuples(index=False), start=3):
            for j, value in enumerate(row):
                if not pd.isna(value):
                    sheet.write(i, j, value)
        book.save(str(path))
        first_data_row = 4
    else:
        frame.to_excel(path, index=False, engine="odf")
        first_data_row = 2
    tps, report = _load(villages_path, path)
    assert report.read == 9 and len(tps) == 8
    assert reasons_by_row(report) == {first_data_row + 3: "missing_coordinates"}
    assert list(tps["tps_id"]) == list(frame["kode_tps"].drop(3))
    assert (abs(tps["lat"].to_numpy() - frame["lat"].drop(3).to_numpy()) < 1e-12).all()
    assert tps["voters"].sum() == 8 * 400


def test_excel_unicode_text_export(tmp_path, villages_path, tps_frame):
    """Excel's "Unicode Text" (.txt) is UTF-16 with a byte-order mark, tab-separated."""
    frame = tps_frame.copy()
    frame.loc[0, "alamat"] = "Jl. Timor Raya, depan Gereja Sétia"
    path = tmp_path / "tps_unicode.txt"
    path.write_bytes(frame.to_csv(sep="\t", index=False).encode("utf-16"))
    tps, report = _load(villages_path, path)
    assert len(tps) == 9 and report.rejected == []
    assert tps["address"].iloc[0] == "Jl. Timor Raya, depan Gereja Sétia"


def test_workbook_with_one_sheet_per_kecamatan(tmp_path, villages_path, tps_frame):
    """Sheets with the same columns are stacked; rows are reported by sheet and row; other sheets are named."""
    frame = tps_frame.copy()
    frame["lat"] = frame["lat"].astype(float)
    frame["lon"] = frame["lon"].astype(float)
    first, second = frame.iloc[:5], frame.iloc[5:].copy()
    second.loc[second.index[1], "lat"] = None  # Excel row 5 of the second sheet (2 blank rows, header, data)
    second.loc[second.index[2], "kode_tps"] = first["kode_tps"].iloc[0]  # row 6 repeats row 2 of "Kec 1"
    second = second[list(reversed(second.columns))].rename(columns=str.upper)  # same columns, other order and case
    path = tmp_path / "tps_per_kecamatan.xlsx"
    cover = pd.DataFrame({"PETUNJUK PENGISIAN": ["Isi satu baris per TPS.", "Koordinat dalam derajat desimal."]})
    with pd.ExcelWriter(path) as xl:
        cover.to_excel(xl, sheet_name="Petunjuk", index=False)
        pd.DataFrame({"kode_tps": []}).to_excel(xl, sheet_name="Kosong", index=False)  # a header, no rows
        first.to_excel(xl, sheet_name="Kec 1", index=False)
        second.to_excel(xl, sheet_name="Kec 2", index=False, startrow=2)
        recap = pd.DataFrame({"kecamatan": ["Kec 1", "Kec 2"], "jumlah_tps": [5, 4]})
        recap.to_excel(xl, sheet_name="Rekap", index=False)
    tps, report = _load(villages_path, path)
    assert report.read == 9 and report.used == 7
    assert_accounted(report)
    rejected = report.to_dict("en")["rejected"]
    assert [(r["sheet"], r["row"], r["reason"]) for r in rejected] == [
        ("Kec 2", 5, "missing_coordinates"),
        ("Kec 2", 6, "duplicate_id"),
    ]
    assert rejected[1]["first_row"] == "2 (Kec 1)" and "2 (Kec 1)" in rejected[1]["message"]
    notes = {w.reason: w for w in report.warnings if w.row is None}
    assert notes["sheets_stacked"].params["n"] == 2
    skipped = {w.params["sheet"]: w for w in report.warnings if w.reason == "sheet_skipped"}
    assert sorted(skipped) == ["Petunjuk", "Rekap"] and "jumlah_tps" in skipped["Rekap"].message("en")
    assert sorted(tps["tps_id"]) == sorted(frame["kode_tps"].drop(frame.index[[6, 7]]))
    table = pipeline.load(villages_path, path).report.rejected_frame("id")
    assert list(table[["sheet", "row"]].itertuples(index=False, name=None)) == [("Kec 2", 5), ("Kec 2", 6)]


def test_voters_from_kpu_male_and_female_columns(tmp_path, villages_path, tps_frame):
    """KPU lists DPT by sex (DPT L, DPT P): the TPS total is their sum, said in a note."""
    frame = tps_frame.drop(columns=["dpt"])
    frame["DPT L"] = ["190", "200", "210", "x", "150", "160", "170", "180", "100"]
    frame["DPT P"] = [200, 201, 202, 203, 204, 205, 206, 207, 208]
    path = tmp_path / "tps_kpu.csv"
    frame.to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert list(tps["voters"].fillna(-1)) == [390, 401, 412, -1, 354, 365, 376, 387, 308]
    notes = [w for w in report.warnings if w.reason == "voters_from_parts"]
    assert len(notes) == 1 and notes[0].params["columns"] == "DPT L + DPT P"
    assert [(w.row, w.params["value"]) for w in report.warnings if w.reason == "unparseable_voters"] == [(5, "x")]


def test_gps_utm_metres_are_converted_with_a_note(tmp_path, villages_path, tps_frame):
    """A GPS set to UTM writes metres: those rows are converted from the area's UTM zone (51S for Kupang)."""
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32751", always_xy=True)
    lon, lat = tps_frame["lon"].astype(float).to_numpy(), tps_frame["lat"].astype(float).to_numpy()
    east, north = to_utm.transform(lon, lat)
    frame = tps_frame.drop(columns=["lat", "lon"])
    frame["x"] = [f"{e:.2f}" for e in east]
    frame["y"] = [f"{n:.2f}" for n in north]
    frame.loc[0, ["x", "y"]] = [f"{lon[0]:.6f}", f"{lat[0]:.6f}"]  # one officer typed degrees
    frame.loc[1, ["x", "y"]] = [f"{lon[1] * 10_000:.0f}", f"{lat[1]:.6f}"]  # a lost decimal point is not metres
    path = tmp_path / "tps_utm.csv"
    frame.to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert reasons_by_row(report) == {3: "lost_decimal_point"}
    notes = [w for w in report.warnings if w.reason == "coordinates_utm_guessed"]
    assert len(notes) == 1 and notes[0].params == {"crs": "EPSG:32751", "n": 7}
    keep = [k for k in range(9) if k != 1]
    assert (abs(tps["lon"].to_numpy() - lon[keep]) < 1e-6).all()
    assert (abs(tps["lat"].to_numpy() - lat[keep]) < 1e-6).all()
    assert (tps["village_code"] == tps["named_village_code"]).all()


def test_declared_crs_of_coordinate_columns(tmp_path, villages_path, tps_frame):
    from pyproj import Transformer

    to_dgn95 = Transformer.from_crs("EPSG:4326", "EPSG:23891", always_xy=True)  # DGN95 / UTM 51S
    lon, lat = tps_frame["lon"].astype(float).to_numpy(), tps_frame["lat"].astype(float).to_numpy()
    east, north = to_dgn95.transform(lon, lat)
    frame = tps_frame.drop(columns=["lat", "lon"]).assign(timur=east, utara=north)
    path = tmp_path / "tps_dgn95.csv"
    frame.to_csv(path, index=False)
    layers = pipeline.load(villages_path, path, columns="tps.lon=timur,tps.lat=utara,tps.crs=EPSG:23891")
    tps, report = layers.tps, layers.report["tps"]
    assert len(tps) == 9 and report.rejected == []
    assert [w.params for w in report.warnings if w.reason == "coordinates_declared_crs"] == [
        {"crs": "EPSG:23891", "n": 9}
    ]
    assert (abs(tps["lon"].to_numpy() - lon) < 1e-6).all() and (abs(tps["lat"].to_numpy() - lat) < 1e-6).all()
    with pytest.raises(RiskmapInputError) as err:
        pipeline.load(villages_path, path, columns="tps.lon=timur,tps.lat=utara,tps.crs=EPSG:99999")
    assert err.value.code == "unknown_crs" and "EPSG:99999" in err.value.message("en")


@pytest.mark.parametrize("all_shortened", [True, False])
def test_codes_excel_shortened_to_scientific_notation(tmp_path, villages_path, tps_frame, all_shortened):
    """Excel saves long codes as 5.37101E+12: the digits are gone, so ids are rebuilt, not reported as duplicates."""
    frame = tps_frame.copy()
    codes = frame["kode_tps"].tolist()
    frame["kode_tps"] = [f"{float(c):.5E}" for c in codes]
    if not all_shortened:  # one cell kept as text: the column is read as text, not as numbers
        frame.loc[0, "kode_tps"] = codes[0]
    path = tmp_path / "tps_excel.csv"
    frame.to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert len(tps) == 9 and report.rejected == []
    notes = [w for w in report.warnings if w.reason == "ids_shortened"]
    assert len(notes) == 1 and notes[0].params["n"] == (9 if all_shortened else 8)
    assert notes[0].params["example"] == f"{float(codes[0 if all_shortened else 1]):.5E}"
    # no code left: kecamatan/kelurahan + TPS number, as for a file without codes
    expected = [f"{d}/{v}-TPS001" for d, v in zip(frame["kecamatan"], frame["kelurahan"], strict=True)]
    if not all_shortened:
        expected[0] = codes[0]
    assert list(tps["tps_id"]) == expected
    assert not [w for w in report.warnings if w.reason == "village_mismatch"]


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "-5", "1e20", "9" * 400, "Infinity"])
def test_impossible_voter_counts_are_unknown_with_a_warning(tmp_path, villages_path, tps_frame, value):
    # issue 9: dpt = inf crashed with IntCastingNaNError; 1e20 became a garbage integer in the message
    # ("nan" is an empty cell for the reader: voters unknown, no warning needed)
    frame = tps_frame.copy()
    frame.loc[0, "dpt"] = value
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert_accounted(report)
    assert len(tps) == 9
    first = tps.set_index("tps_id").loc["5371011001001"]
    assert not first["voters_known"] and np.isnan(first["voters"])
    assert np.isfinite(tps["voters"].dropna()).all()
    notes = [w for w in report.warnings if w.row == 2]
    assert [w.reason for w in notes] in (["unparseable_voters"], ["implausible_voters"])
    assert all("{" not in w.message(lang) for w in notes for lang in ("id", "en"))


def test_numeric_voter_column_with_inf_is_unknown(tmp_path, villages_path, tps_frame):
    frame = tps_frame.copy()
    frame["dpt"] = [float("inf"), -1.0, 1e20] + [400.0] * 6
    path = tmp_path / "tps.xlsx"
    frame.to_excel(path, index=False)
    tps, report = _load(villages_path, path)
    assert_accounted(report)
    assert len(tps) == 9 and tps["voters_known"].sum() == 6
    assert {w.row for w in report.warnings if w.reason in ("unparseable_voters", "implausible_voters")} == {2, 3, 4}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("9" * 400, "unparseable_coordinates"),
        ("1e400", "unparseable_coordinates"),
        ("inf", "unparseable_coordinates"),
        ("1e308", "impossible_coordinates"),
        ("-1e20", "impossible_coordinates"),
    ],
)
def test_huge_coordinates_are_rejected_rows(tmp_path, villages_path, tps_frame, value, reason):
    # issue 9: a 400-digit latitude stopped the run with OverflowError; 1e308 was "outside the study area"
    frame = tps_frame.copy()
    frame.loc[0, "lat"] = value
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    tps, report = _load(villages_path, path)
    assert_accounted(report)
    assert len(tps) == 8 and reasons_by_row(report) == {2: reason}
    assert all(len(n.params["lat"]) <= 40 for n in report.rejected)


def test_point_file_with_coordinates_beyond_the_earth(tmp_path, villages_path, villages):
    from shapely.geometry import Point

    lat, lon = village_center(villages, 0)
    points = gpd.GeoDataFrame(
        {"kode_tps": ["1", "2"], "dpt": [100, 200]}, geometry=[Point(1e308, 1e308), Point(lon, lat)], crs=4326
    )
    path = tmp_path / "tps.gpkg"
    points.to_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow noise on the user's console
        tps, report = _load(villages_path, path)
    assert_accounted(report)
    assert len(tps) == 1 and reasons_by_row(report) == {1: "impossible_coordinates"}


def test_infinite_codes_make_no_numpy_noise(tmp_path, villages_path, tps_frame):
    # a TPS code column of numbers holding inf printed "invalid value encountered in divide" on the console
    frame = tps_frame.copy()
    frame.loc[0, "kode_tps"] = "inf"
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        tps, report = _load(villages_path, path)
    assert_accounted(report)
    assert len(tps) == 9 and tps["tps_id"].is_unique


def test_fractional_voter_count_over_the_limit_is_quoted_as_typed(tmp_path, villages_path, tps_frame):
    # red-team 15: "voter count 600 exceeds the limit of 600" for a cell of 600.5
    frame = tps_frame.copy()
    frame.loc[0, "dpt"] = "600.5"
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    _, report = _load(villages_path, path)
    notes = [w for w in report.warnings if w.row == 2 and w.reason == "voters_over_limit"]
    assert len(notes) == 1
    assert "600.5" in notes[0].message("en") and "600.5" in notes[0].message("id")
