"""Exports for analysts: every format reads back through riskmap's own loader with the same scores."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from riskmap import demo as demo_files
from riskmap import pipeline
from riskmap.export import export_layers, shp_field_names

STAGES = ["campaign", "voting", "counting", "recap"]


@pytest.fixture(scope="module")
def demo():
    return pipeline.run()


def _scores(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    v = pd.DataFrame(result.villages[["village_code", *[f"risk_{s}" for s in STAGES]]]).sort_values("village_code")
    t = pd.DataFrame(result.tps[["tps_id", *[f"risk_{s}" for s in STAGES]]]).sort_values("tps_id")
    return v.reset_index(drop=True), t.reset_index(drop=True)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "shp", "parquet"])
def test_round_trip_gives_the_same_scores(demo, tmp_path, fmt):
    out = tmp_path / ("x.gpkg" if fmt == "gpkg" else "x")
    paths = export_layers(demo, out, fmt=fmt)
    if fmt == "gpkg":
        layers = {name: f"{out}" for name in ("villages", "tps", "incidents")}
        assert set(pyogrio.list_layers(out)[:, 0]) >= {"villages", "tps", "incidents", "riskmap_metadata"}
        # the loader takes one layer per file: split the GeoPackage as a user would in QGIS
        for name in ("villages", "tps", "incidents"):
            gpd.read_file(out, layer=name).to_file(tmp_path / f"{name}.gpkg")
            layers[name] = tmp_path / f"{name}.gpkg"
    else:
        ext = {"geojson": ".geojson", "csv": ".csv", "shp": ".zip", "parquet": ".parquet"}[fmt]
        assert sorted(p.name for p in paths) == sorted(f"{n}{ext}" for n in ("villages", "tps", "incidents"))
        layers = {p.stem: p for p in paths}
    if fmt == "csv":  # CSV has no polygons a loader can read: use the original boundaries
        layers["villages"] = demo_files.VILLAGES
    if fmt == "parquet":  # the run's provenance travels in the file's metadata
        import pyarrow.parquet as pq

        meta = json.loads(pq.read_schema(layers["tps"]).metadata[b"riskmap"])
        assert meta["layer"] == "tps" and meta["method_version"] == "1.0" and "generated_at" in meta
    again = pipeline.run(layers["villages"], layers["tps"], layers["incidents"])
    assert again.report["tps"].rejected == [] and again.report["incidents"].rejected == []
    v0, t0 = _scores(demo)
    v1, t1 = _scores(again)
    pd.testing.assert_frame_equal(v1, v0, check_exact=False, atol=1e-6)
    pd.testing.assert_frame_equal(t1, t0, check_exact=False, atol=1e-6)


def test_geojson_is_rfc7946_with_metadata(demo, tmp_path):
    path = export_layers(demo, tmp_path / "v.geojson", layer="villages", stage="voting")[0]
    data = json.loads(path.read_text())
    assert "crs" not in data
    meta = data["riskmap"]
    assert meta["stage"] == "voting" and meta["method_version"] == "1.0" and len(meta["config_sha256_12"]) == 12
    assert "generated_at" in meta and meta["as_of"] == "2024-12-04"
    props = data["features"][0]["properties"]
    assert "risk_voting" in props and "risk_recap" not in props
    ring = data["features"][0]["geometry"]["coordinates"][0]
    assert all(len(str(c).split(".")[-1]) <= 7 for xy in ring for c in xy)
    assert 120 < ring[0][0] < 125 and -11 < ring[0][1] < -9  # lon, lat


def test_shapefile_names_fit_and_are_documented(demo, tmp_path):
    path = export_layers(demo, tmp_path / "tps.zip", layer="tps", fmt="shp")[0]
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        fields = pd.read_csv(zf.open("FIELDS.csv"))
    assert {"tps.shp", "tps.dbf", "tps.shx", "tps.prj", "FIELDS.csv"} <= set(names)
    assert (fields["field"].str.len() <= 10).all() and fields["field"].is_unique
    assert set(fields["column"]) >= {"tps_id", "risk_voting", "level_voting"}
    frame = gpd.read_file(f"zip://{path}!tps.shp")
    assert set(frame.columns) - {"geometry"} == set(fields["field"])


def test_fitted_columns_have_documented_shapefile_names():
    cols = ["p_incident_voting", "expected_campaign", "contrib_voting_near_repeat", "contrib_recap_background"]
    names = shp_field_names(cols, STAGES)
    assert names == {
        "p_incident_voting": "p_voting",
        "expected_campaign": "ex_campaig",
        "contrib_voting_near_repeat": "cvo_nr",
        "contrib_recap_background": "cre_bg",
    }
    doc = (Path(__file__).resolve().parents[1] / "docs" / "EXPORTS.md").read_text(encoding="utf-8")
    assert "`p_` + stage, `ex_` + stage" in doc and "`nr` near repeat, `bg` background" in doc


def test_field_names_unique_even_when_truncated():
    cols = [
        "contrib_counting_nearby_incidents",
        "contrib_counting_village",
        "risk_counting",
        "level_counting",
        "something_very_long_a",
        "something_very_long_b",
    ]
    names = shp_field_names(cols, STAGES)
    assert len(set(names.values())) == len(cols) and all(len(n) <= 10 for n in names.values())


def test_csv_has_wkt_for_polygons_and_lonlat_for_points(demo, tmp_path):
    paths = export_layers(demo, tmp_path, fmt="csv")
    v = pd.read_csv(tmp_path / "villages.csv", encoding="utf-8-sig")
    t = pd.read_csv(tmp_path / "tps.csv", encoding="utf-8-sig")
    assert v["wkt"].str.startswith(("POLYGON", "MULTIPOLYGON")).all()
    assert {"lon", "lat"} <= set(t.columns)
    assert len(paths) == 3


def test_cli_print_and_export(tmp_path):
    from riskmap.cli import main

    assert main(["print", "--stage", "voting", "--out", str(tmp_path / "m.pdf")]) == 0
    assert (tmp_path / "m.pdf").stat().st_size > 10_000
    assert main(["export", "--format", "gpkg", "--out", str(tmp_path / "all.gpkg")]) == 0
    assert (
        main(
            [
                "export",
                "--format",
                "geojson",
                "--layer",
                "tps",
                "--stage",
                "voting",
                "--out",
                str(tmp_path / "tps.geojson"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "tps.geojson").read_text())["riskmap"]["stage"] == "voting"


def test_geoparquet_matches_geopandas_and_reloads(demo, tmp_path):
    """Our GeoParquet writer gives what geopandas writes, and the files load back as inputs."""
    import numpy as np
    import pyarrow.parquet as pq
    import shapely

    from riskmap.export import public_columns, wkb_array, write_score_outputs

    paths = write_score_outputs(demo, tmp_path, fmt="parquet")
    for name in ("villages", "tps"):
        frame = getattr(demo, name)
        ours = gpd.read_parquet(paths[name])
        reference = frame[public_columns(frame)]
        pd.testing.assert_frame_equal(
            pd.DataFrame(ours.drop(columns="geometry")),
            pd.DataFrame(reference.drop(columns="geometry")).reset_index(drop=True),
        )
        assert ours.geometry.geom_equals_exact(reference.geometry.reset_index(drop=True), 0).all()
        geo = json.loads(pq.read_schema(paths[name]).metadata[b"geo"])
        column = geo["columns"]["geometry"]
        assert geo["primary_column"] == "geometry" and column["encoding"] == "WKB"
        assert column["geometry_types"] == (["Polygon"] if name == "villages" else ["Point"])
        assert column["bbox"] == pytest.approx(list(frame.total_bounds))
        assert gpd.GeoSeries.from_wkt(["POINT (0 0)"], crs=column["crs"]).crs.equals("EPSG:4326")
    again = pipeline.run(paths["villages"], paths["tps"], demo_files.INCIDENTS)
    assert again.report["tps"].rejected == []
    v0, t0 = _scores(demo)
    v1, t1 = _scores(again)
    pd.testing.assert_frame_equal(v1, v0, check_exact=False, atol=1e-6)
    pd.testing.assert_frame_equal(t1, t0, check_exact=False, atol=1e-6)

    mixed = np.array([shapely.Point(1, 2), None, shapely.box(0, 0, 1, 1), shapely.Point(1, 2, 3)], dtype=object)
    for geoms in (mixed, mixed[[0]], mixed[:0]):
        assert wkb_array(geoms).to_pylist() == [None if g is None else shapely.to_wkb(g, flavor="iso") for g in geoms]


@pytest.mark.filterwarnings("ignore:Could not parse column 'mixed'")
def test_geojson_encoder_escapes_and_types(tmp_path):
    """Every property type becomes valid JSON; untrusted text is escaped; rings turn counter-clockwise."""
    import numpy as np
    import shapely

    from riskmap.export import geojson_bytes, write_geojson

    clockwise = shapely.Polygon([(123.5, -10.1), (123.6, -10.1), (123.6, -10.2), (123.5, -10.2)])
    assert not clockwise.exterior.is_ccw
    text = ['a "quoted" \\ back', "baris\nbaru\ttab", "ctl\x01x", "<script>alert(1)</script>", None]
    frame = gpd.GeoDataFrame(
        {
            "text": text,
            "number": [1.0, 2.123456, np.nan, np.inf, -0.00004],
            "count": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "flag": pd.array([True, False, None, True, False], dtype="boolean"),
            "level": pd.Categorical(["rawan", None, "kurang_rawan", "rawan", "sangat_rawan"]),
            "when": pd.to_datetime(
                ["2024-11-27", None, "2024-11-28 13:45", "2017-02-15", "2019-04-17"], format="mixed"
            ),
            "mixed": [1, "dua", float("inf"), None, {"a": 1}],
            "_row": [1, 2, 3, 4, 5],  # internal: dropped
        },
        geometry=[
            clockwise,
            shapely.MultiPolygon([clockwise, shapely.box(124, -10, 124.1, -9.9)]),
            shapely.Point(123.123456789, -10.987654321),
            None,
            shapely.Point(123.5, -10.15),
        ],
        crs=4326,
    ).to_crs(32751)  # reprojected back to EPSG:4326 on the way out
    data = json.loads(geojson_bytes(frame, meta={"layer": "uji"}))
    assert data["riskmap"] == {"layer": "uji"} and "crs" not in data
    props = [f["properties"] for f in data["features"]]
    assert [p["text"] for p in props] == text
    assert [p["number"] for p in props] == [1.0, 2.1235, None, None, -0.0]
    assert isinstance(props[0]["number"], float)
    assert [p["count"] for p in props] == [1, None, 3, 4, 5]
    assert [p["flag"] for p in props] == [True, False, None, True, False]
    assert [p["level"] for p in props] == ["rawan", None, "kurang_rawan", "rawan", "sangat_rawan"]
    assert [p["when"] for p in props] == [
        "2024-11-27T00:00:00",
        None,
        "2024-11-28T13:45:00",
        "2017-02-15T00:00:00",
        "2019-04-17T00:00:00",
    ]
    assert [p["mixed"] for p in props] == [1, "dua", None, None, {"a": 1}]
    assert all("_row" not in p for p in props)
    geoms = [f["geometry"] for f in data["features"]]
    assert geoms[3] is None
    polygon = shapely.geometry.shape(geoms[0])
    assert polygon.exterior.is_ccw and polygon.symmetric_difference(clockwise).area < 1e-12
    assert all(p.exterior.is_ccw for p in shapely.geometry.shape(geoms[1]).geoms)
    assert geoms[2]["coordinates"] == [pytest.approx(123.1234568, abs=1e-9), pytest.approx(-10.9876543, abs=1e-9)]
    path = write_geojson(frame, tmp_path / "uji.geojson")
    again = gpd.read_file(path)
    assert list(again["text"].iloc[:4]) == text[:4] and again["text"].isna().iloc[4] and again.crs.equals("EPSG:4326")
    empty = json.loads(geojson_bytes(frame.iloc[:0]))
    assert empty == {"type": "FeatureCollection", "features": []}


def _coordinate_texts(text: str) -> list[str]:
    """Every number inside the ``coordinates`` members of GeoJSON text, as written."""
    import re

    out: list[str] = []
    for block in re.findall(r'"coordinates":\s*(\[[\[\]\d\s,.eE+-]*\])', text):
        out += re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", block)
    return out


def test_geojson_coordinates_have_at_most_7_decimals(tmp_path):
    """GEOS prints some rounded coordinates with 17 digits (118.43681050000001) or as 1e-07: never written."""
    import numpy as np
    import shapely

    from riskmap.export import geojson_bytes, write_geojson

    rng = np.random.default_rng(7)
    n = 4000
    x, y = rng.uniform(95, 141, n), rng.uniform(-11, 6, n)
    x[:4], y[:4] = [1e-7, -3e-7, 0.0, 123.4599999], [-1e-7, 2.5e-6, -0.0, 0.9999999]  # tiny and all-9 values
    rings = shapely.buffer(shapely.points(x[:300], y[:300]), rng.uniform(0.001, 0.05, 300), quad_segs=8)
    frame = gpd.GeoDataFrame(
        {"k": np.arange(n + 300)},
        geometry=np.concatenate([shapely.points(x, y), rings]),
        crs=4326,
    )
    frame.loc[5, "geometry"] = shapely.MultiPolygon([rings[0], shapely.box(130.12345678, 1.1, 130.2, 1.2)])
    frame.loc[6, "geometry"] = shapely.LineString([(120.123456789, -5.1), (120.2, -5.2)])
    frame.loc[7, "geometry"] = None
    text = geojson_bytes(frame).decode("utf-8")
    numbers = _coordinate_texts(text)
    assert len(numbers) == 2 * int(shapely.get_num_coordinates(frame.geometry.values).sum())
    too_long = [v for v in numbers if "e" in v.lower() or len(v.partition(".")[2]) > 7]
    assert too_long == []
    data = json.loads(text)
    assert data["features"][0]["geometry"]["coordinates"] == [1e-7, -1e-7]
    assert '"coordinates":[0.0000001,-0.0000001]' in text.replace(" ", "")
    again = gpd.read_file(write_geojson(frame, tmp_path / "p.geojson"))
    present = np.arange(len(frame)) != 7
    assert again.geometry.iloc[7] is None
    original = shapely.orient_polygons(frame.geometry.values)  # RFC 7946 ring order, then within 1e-7 degrees
    assert shapely.equals_exact(again.geometry.values, original, 1e-7)[present].all()


# -- spreadsheets: formula injection, XLSX ------------------------------------------------

PAYLOADS = [
    '=HYPERLINK("http://evil","klik")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\uff1d1+1",  # full-width equals sign
    " =1+1",
]
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\u2212")


def _is_plain_number(cell: str) -> bool:
    import re

    return re.fullmatch(r"\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*", cell) is not None


def _csv_cells(data: bytes) -> list[list[str]]:
    """A CSV riskmap wrote, cell by cell as a spreadsheet sees it (header included); checks the BOM."""
    import csv
    import io

    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark missing (Excel shows mojibake)"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _assert_no_formula(data: bytes, *, must_contain: tuple[str, ...] = ()) -> list[list[str]]:
    rows = _csv_cells(data)
    live = [c for row in rows for c in row if c.lstrip()[:1] in _TRIGGERS and not _is_plain_number(c)]
    live += [c for row in rows for c in row if c[:1] in _TRIGGERS and not _is_plain_number(c)]
    assert live == [], f"cells a spreadsheet would run: {live[:5]}"
    text = "\n".join(c for row in rows for c in row)
    for payload in must_contain:  # the text is kept, only made inert
        assert "'" + payload in text
    return rows


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Village, kecamatan, TPS address, incident description/source and a rejected cell all carry payloads."""
    from riskmap.testing import grid_villages, incident_rows, village_center

    tmp = tmp_path_factory.mktemp("hostile")
    v = grid_villages()
    v["nama"] = [PAYLOADS[k % len(PAYLOADS)] + f" {k}" for k in range(len(v))]
    v["kecamatan"] = [PAYLOADS[(k // 3 + 2) % len(PAYLOADS)] for k in range(len(v))]
    v.to_file(tmp / "desa.geojson")
    rows = []
    for k in range(len(v)):
        lat, lon = village_center(v, k)
        code = v["kode"].iloc[k].replace(".", "")
        rows.append(
            {
                "kode_tps": f"{code}001",
                "kecamatan": v["kecamatan"].iloc[k],
                "kelurahan": v["nama"].iloc[k],
                "no_tps": "1",
                "alamat": PAYLOADS[k % len(PAYLOADS)],
                "lat": f"{lat:.6f}",
                "lon": f"{lon:.6f}",
                "dpt": "400",
            }
        )
    rows.append({**rows[0], "kode_tps": "5371011099001", "lat": PAYLOADS[1]})  # rejected: its lat is a payload
    pd.DataFrame(rows).to_csv(tmp / "tps.csv", index=False)
    inc = incident_rows(
        v, [(0, "protest", "2024-11-20"), (4, "supporter_clash", "2024-11-25"), (8, "protest", "2024-11-26")]
    )
    inc["description"] = PAYLOADS[:3]
    inc["source"] = PAYLOADS[3:6]
    inc.to_csv(tmp / "insiden.csv", index=False)
    paths = {"villages": tmp / "desa.geojson", "tps": tmp / "tps.csv", "incidents": tmp / "insiden.csv"}
    result = pipeline.run(paths["villages"], paths["tps"], paths["incidents"])
    assert (
        set(result.villages["village_name"]) == set(v["nama"].str.strip()) and len(result.report["tps"].rejected) == 1
    )
    return result, paths


def test_safe_text_cells_neutralises_only_text():
    """OWASP CSV Injection: text cells (and names) that could start a formula get a quote; numbers stay numbers."""
    import numpy as np

    from riskmap.export import safe_text_cells

    risky = [*PAYLOADS, "\t=1+1", "\r=1+1", "\n=1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\u22121+1", "-", "+62 812"]
    plain = ["Oebobo", "Jl. Sudirman -12", "-10.17", "+62812", "1e5", "", None]
    frame = pd.DataFrame(
        {
            "text": pd.array(risky + plain, dtype="string"),
            "object": risky + plain,
            "category": pd.Categorical(risky + plain),
            "mixed": [-1.5, "=1+1", 3, None, True, *["x"] * (len(risky) + len(plain) - 5)],
            "number": np.linspace(-10.17, 5, len(risky) + len(plain)),
            "=cmd|' /C calc'!A0": 1,
        }
    )
    out = safe_text_cells(frame)
    expected = ["'" + p for p in risky] + plain
    for col in ("text", "object", "category"):
        assert [None if pd.isna(v) else v for v in out.iloc[:, list(frame.columns).index(col)]] == expected
    assert list(out["mixed"][:5]) == [-1.5, "'=1+1", 3, None, True]
    assert out["number"].dtype == np.float64 and (out["number"] == frame["number"]).all()
    assert list(out.columns) == ["text", "object", "category", "mixed", "number", "'=cmd|' /C calc'!A0"]
    assert list(frame["object"][:1]) == [PAYLOADS[0]]  # the input is not changed
    clash = safe_text_cells(pd.DataFrame({"c": pd.Categorical(["=x", "'=x", None])}))["c"]
    assert [None if pd.isna(v) else v for v in clash] == ["'=x", "'=x", None]


def test_every_csv_writer_neutralises_formulas(hostile, tmp_path):
    """Exports, the app's downloads, validate --report and the deployment tables: no live formula, numbers stay."""
    from riskmap.cli import main
    from riskmap.deploy import area_totals, staffing_plan
    from riskmap.view import csv_bytes, make_view

    result, paths = hostile
    files = export_layers(result, tmp_path / "csv", fmt="csv")
    for path in files:
        _assert_no_formula(path.read_bytes())
    _assert_no_formula((tmp_path / "csv" / "villages.csv").read_bytes(), must_contain=(PAYLOADS[0] + " 0",))
    _assert_no_formula((tmp_path / "csv" / "tps.csv").read_bytes(), must_contain=tuple(PAYLOADS[:5]))
    _assert_no_formula((tmp_path / "csv" / "incidents.csv").read_bytes(), must_contain=tuple(PAYLOADS[:5]))
    tps = pd.read_csv(tmp_path / "csv" / "tps.csv", encoding="utf-8-sig")
    assert tps["lat"].dtype == float and (tps["lat"] < 0).all() and tps["risk_voting"].dtype == float
    incidents = pd.read_csv(tmp_path / "csv" / "incidents.csv", encoding="utf-8-sig")
    assert incidents["lat"].dtype == float and incidents["w_voting"].dtype == float

    view = make_view(result, "voting")  # the app's downloads
    for data in (csv_bytes(view.villages), csv_bytes(view.tps), csv_bytes(result.report.rejected_frame("id"))):
        _assert_no_formula(data)
    rejected = _assert_no_formula(csv_bytes(result.report.rejected_frame("en")), must_contain=(PAYLOADS[1],))
    header = rejected[0]
    assert rejected[1][header.index("lat")] == "'" + PAYLOADS[1]
    plan, _ = staffing_plan(result.tps, "voting", result.config)
    _assert_no_formula(csv_bytes(area_totals(plan, "district")), must_contain=(PAYLOADS[2],))

    report = tmp_path / "ditolak.csv"
    args = ["--villages", str(paths["villages"]), "--tps", str(paths["tps"]), "--incidents", str(paths["incidents"])]
    assert main(["validate", *args, "--report", str(report)]) == 0
    _assert_no_formula(report.read_bytes(), must_contain=(PAYLOADS[1],))
    assert main(["deploy", *args, "--stage", "voting", "--out", str(tmp_path / "dep")]) == 0
    for name in ("per_village.csv", "per_kecamatan.csv"):  # with a BOM now, like every other CSV
        _assert_no_formula((tmp_path / "dep" / name).read_bytes(), must_contain=(PAYLOADS[2],))
    per_kec = pd.read_csv(tmp_path / "dep" / "per_kecamatan.csv", encoding="utf-8-sig")
    assert per_kec["police"].dtype.kind in "if" and per_kec["tps"].dtype.kind == "i"

    shp = export_layers(result, tmp_path / "tps.zip", layer="tps", fmt="shp")[0]
    with zipfile.ZipFile(shp) as zf:
        _assert_no_formula(zf.read("FIELDS.csv"))


def _xlsx_cells(path_or_bytes) -> dict[str, list[list]]:
    """Every worksheet cell read back with openpyxl: asserts none is a formula or an error value."""
    import io

    import openpyxl

    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    book = openpyxl.load_workbook(source)  # not read-only: data types and frozen panes are loaded
    out = {}
    for sheet in book.worksheets:
        kinds = {c.data_type for row in sheet.iter_rows() for c in row}
        assert kinds <= {"s", "n", "d", "b"}, f"{sheet.title}: {kinds}"  # never "f" (formula) or "e" (error)
        assert sheet.freeze_panes == "A2"
        out[sheet.title] = [[c.value for c in row] for row in sheet.iter_rows()]
    return out


def test_xlsx_types_text_as_text_and_numbers_as_numbers(tmp_path):
    import datetime as dt

    import numpy as np
    import openpyxl

    from riskmap._errors import RiskmapInputError
    from riskmap.export import XLSX_MAX_CHARS, XLSX_MAX_ROWS, write_xlsx, xlsx_bytes

    text = [*PAYLOADS, "#N/A", "ctl\x01\x1fx", "Oebobo", None]
    n = len(text)
    frame = pd.DataFrame(
        {
            "text": text,
            "number": np.r_[[-10.17, np.nan, np.inf, 1e-7], np.arange(n - 4)],
            "count": pd.array([1, None, *range(n - 2)], dtype="Int64"),
            "flag": [True, False] * (n // 2) + [True] * (n % 2),
            "level": pd.Categorical(["rawan"] * n),
            "when": pd.to_datetime(["2024-11-27 13:45"] * n).tz_localize("Asia/Jakarta"),
            "wkt": ["POLYGON ((" + "123.1234567 -10.1234567, " * 2000 + "))"] + ["POINT (1 2)"] * (n - 1),
        }
    )
    path = tmp_path / "uji.xlsx"
    meta = {"generator": "riskmap x", "as_of": "2024-12-04", "stage": "voting"}
    write_xlsx({"tps": frame, "=cmd|'/C calc'!A0": frame.iloc[:2]}, path, meta=meta, lang="id")
    sheets = _xlsx_cells(path)
    assert list(sheets) == ["tps", "=cmd|'_C calc'!A0", "Keterangan"]
    rows = sheets["tps"]
    assert rows[0] == list(frame.columns)
    body = rows[1:]
    assert [r[0] for r in body] == [*PAYLOADS, "#N/A", "ctl\ufffd\ufffdx", "Oebobo", None]  # verbatim, typed as text
    assert [r[1] for r in body][:4] == [-10.17, None, None, 1e-7]
    assert [r[2] for r in body][:3] == [1, None, 0]
    assert [r[3] for r in body][:2] == [True, False]
    assert body[0][5] == dt.datetime(2024, 11, 27, 13, 45)
    assert len(frame["wkt"][0]) > XLSX_MAX_CHARS and body[0][6] is None and body[1][6] == "POINT (1 2)"
    readme = {r[0]: r[1] for r in sheets["Keterangan"]}
    assert readme["generator"] == "riskmap x" and readme["stage"] == "voting" and readme["baris di lembar tps"] == n
    assert any("wkt" in str(k) and v == 1 for k, v in readme.items())  # the over-long cell is counted
    book = openpyxl.load_workbook(path, read_only=False)
    widths = book["tps"].column_dimensions
    assert widths["A"].width == max(len(t) for t in PAYLOADS) + 2  # sized to the text, over-long cells ignored
    assert widths["G"].width == len("POINT (1 2)") + 2
    again = pd.read_excel(path, sheet_name="tps", engine="calamine")
    assert list(again["text"][: len(PAYLOADS)]) == PAYLOADS and again["number"].dtype == float
    assert again["flag"].dtype == bool and again["count"].iloc[0] == 1

    twice = _xlsx_cells(xlsx_bytes({"d": pd.DataFrame([[1, "=a"]], columns=["a", "a"]), "e": pd.DataFrame()}))
    assert twice["d"] == [["a", "a"], [1, "=a"]] and twice["e"] == []  # duplicate names, an empty table
    stamp = pd.Timestamp("2024-11-27 10:00", tz="Asia/Makassar")  # in a mixed column, with a time zone
    mixed = _xlsx_cells(xlsx_bytes({"m": pd.DataFrame({"m": [stamp, "x"]})}, meta={"as_of": None}))
    assert mixed["m"][1:] == [[dt.datetime(2024, 11, 27, 10, 0)], ["x"]] and ["as_of", None] in mixed["Keterangan"]

    with pytest.raises(RiskmapInputError) as err:
        xlsx_bytes({"tps": pd.DataFrame({"x": np.zeros(XLSX_MAX_ROWS, dtype=np.int8)})})
    assert err.value.code == "xlsx_too_many_rows" and "1.048.575" not in err.value.message("en")
    assert "1,048,575" in err.value.message("en") and "CSV" in err.value.message("id")


def test_xlsx_export_of_every_layer(hostile, demo, tmp_path):
    """riskmap export --format xlsx: a sheet per layer with lon/lat, the run's provenance; scores as numbers."""
    from riskmap.cli import main

    result, _ = hostile
    path = export_layers(result, tmp_path / "x", fmt="xlsx", stage="voting")[0]
    assert path.name == "riskmap.xlsx"
    sheets = _xlsx_cells(path)
    assert list(sheets) == ["villages", "tps", "incidents", "Keterangan"]
    text = {str(v) for rows in sheets.values() for row in rows for v in row}
    assert set(PAYLOADS[:5]) <= text  # kept verbatim, as text cells
    readme = {r[0]: r[1] for r in sheets["Keterangan"]}
    assert readme["stage"] == "voting" and readme["method_version"] == "1.0" and "generated_at" in readme

    out = tmp_path / "demo.xlsx"
    assert main(["export", "--format", "xlsx", "--out", str(out)]) == 0
    frames = pd.read_excel(out, sheet_name=None, engine="calamine", dtype={"tps_id": str, "kpu_code": str})
    v, t = frames["villages"], frames["tps"]
    assert "geometry" not in v and {"lon", "lat"} <= set(v) and {"lon", "lat"} <= set(t)
    assert len(v) == len(demo.villages) and len(t) == len(demo.tps) and len(frames["incidents"]) > 0
    for frame, ref, key in ((v, demo.villages, "village_code"), (t, demo.tps, "tps_id")):
        ours = frame.set_index(key)["risk_voting"]
        assert ours.dtype == float
        pd.testing.assert_series_equal(
            ours.sort_index(), ref.set_index(key)["risk_voting"].sort_index(), check_names=False, check_index_type=False
        )
    assert v["lat"].between(-11, -9).all() and t["lon"].between(123, 124).all()
