"""Village boundaries: formats, schemas, CRS handling and every rejection reason."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from riskmap._errors import RiskmapInputError
from riskmap.io import read_villages
from riskmap.testing import assert_accounted, reasons_by_row, to_big, to_codab, to_gadm


def _zip_shapefile(frame: gpd.GeoDataFrame, tmp_path, name: str = "desa") -> str:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / f"{name}.shp")
    path = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    return str(path)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".fgb", ".shp", ".parquet", ".zip"])
def test_every_vector_format_loads(tmp_path, villages, suffix):
    path = tmp_path / f"desa{suffix}"
    if suffix == ".zip":
        path = _zip_shapefile(villages, tmp_path)
    elif suffix == ".parquet":
        villages.to_parquet(path)
    else:
        villages.to_file(path)
    out, report = read_villages(path)
    assert len(out) == 9
    assert out.crs.to_epsg() == 4326
    assert list(out["village_code"])[:2] == ["53.71.01.1001", "53.71.01.1002"]
    assert set(out["district"]) == {"Kecamatan 1", "Kecamatan 2", "Kecamatan 3"}
    assert (out["regency"] == "Kota Uji").all()
    assert report.read == report.used == 9
    assert_accounted(report)


def test_schemas_recognised_without_mapping(tmp_path, villages):
    big = tmp_path / "big.gpkg"
    to_big(villages).to_file(big)
    gadm = tmp_path / "gadm.gpkg"
    to_gadm(villages).to_file(gadm)
    bps = villages.rename(
        columns={"kode": "IDDESA", "nama": "NMDESA", "kecamatan": "NMKEC", "kab_kota": "NMKAB", "provinsi": "NMPROV"}
    )
    bps["IDDESA"] = bps["IDDESA"].str.replace(".", "", regex=False)
    bps_path = tmp_path / "bps.geojson"
    bps.to_file(bps_path)
    codab = tmp_path / "codab.shp"
    to_codab(villages).to_file(codab)
    schemas = {}
    for path in (big, gadm, bps_path, codab):
        out, report = read_villages(path)
        schemas[path.stem] = report.schema
        assert sorted(out["village_name"]) == sorted(villages["nama"])
        assert set(out["district"]) == set(villages["kecamatan"])
    assert schemas == {"big": "BIG", "gadm": "GADM", "bps": "BPS", "codab": "COD-AB"}


def test_kemendagri_codes_detected_by_value_and_normalised(tmp_path, villages):
    frame = villages.rename(columns={"kode": "KD_WIL_X", "nama": "NAMA_DESA"})
    frame["KD_WIL_X"] = frame["KD_WIL_X"].str.replace(".", "", regex=False)  # 10 digits, no dots
    path = tmp_path / "odd.geojson"
    frame.to_file(path)
    out, report = read_villages(path)
    assert report.schema == "Kemendagri"
    assert out["village_code"].iloc[0] == "53.71.01.1001"
    assert out["district_code"].iloc[0] == "53.71.01"


def test_unrecognised_columns_need_a_mapping(tmp_path, villages):
    frame = villages.rename(columns={"kode": "foo", "nama": "bar"})
    frame["foo"] = np.arange(len(frame)).astype(str)
    path = tmp_path / "odd.geojson"
    frame.drop(columns=["kecamatan"]).to_file(path)
    with pytest.raises(RiskmapInputError) as err:
        read_villages(path)
    msg = err.value.message("en")
    assert "odd.geojson" in msg and "foo" in msg and "--columns" in msg
    out, _ = read_villages(path, columns="villages.village_code=foo,villages.village_name=bar")
    assert len(out) == 9
    assert out["village_code"].iloc[0] == "0" and out["village_name"].iloc[0] == "Desa 0"


def test_mapping_file_with_missing_column_is_a_clear_error(tmp_path, villages_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[villages]\nvillage_code = "KODE_TIDAK_ADA"\nvillage_name = "nama"\n')
    with pytest.raises(RiskmapInputError) as err:
        read_villages(villages_path, columns=mapping)
    assert "KODE_TIDAK_ADA" in err.value.message("en")


def test_projected_file_is_reprojected(tmp_path, villages):
    path = tmp_path / "utm.gpkg"
    villages.to_crs(32751).to_file(path)
    out, report = read_villages(path)
    assert out.crs.to_epsg() == 4326
    np.testing.assert_allclose(out.total_bounds, villages.total_bounds, atol=1e-7)
    assert any(w.reason == "crs_reprojected" for w in report.warnings)


def test_missing_crs_assumed_when_plausible_refused_otherwise(tmp_path, villages):
    plain = villages.set_crs(None, allow_override=True)
    path = tmp_path / "nocrs.shp"
    plain.to_file(path)
    out, report = read_villages(path)
    assert len(out) == 9
    assert any(w.reason == "crs_assumed" for w in report.warnings)

    metric = villages.to_crs(32751).set_crs(None, allow_override=True)
    bad = tmp_path / "metric_nocrs.shp"
    metric.to_file(bad)
    with pytest.raises(RiskmapInputError) as err:
        read_villages(bad)
    assert err.value.code == "no_crs"
    assert ".prj" in err.value.message("en")
    out, _ = read_villages(bad, columns={"villages": {"crs": "EPSG:32751"}})
    np.testing.assert_allclose(out.total_bounds, villages.total_bounds, atol=1e-6)


def test_every_rejection_reason_and_repair(tmp_path, villages):
    frame = villages.copy()
    extra = [
        # row 10: no geometry
        {"kode": "53.71.09.2001", "nama": "Tanpa Poligon", "geometry": None},
        # row 11: a point, not a polygon
        {"kode": "53.71.09.2002", "nama": "Titik", "geometry": Point(123.6, -10.19)},
        # row 12: empty code
        {"kode": "", "nama": "Tanpa Kode", "geometry": box(123.7, -10.2, 123.71, -10.19)},
        # row 13: self-intersecting bow-tie: repaired, used
        {
            "kode": "53.71.09.2003",
            "nama": "Dasi",
            "geometry": Polygon([(123.8, -10.2), (123.81, -10.19), (123.81, -10.2), (123.8, -10.19)]),
        },
        # row 14: collapsed polygon (all points on a line): cannot be repaired
        {
            "kode": "53.71.09.2004",
            "nama": "Garis",
            "geometry": Polygon([(123.9, -10.2), (123.91, -10.2), (123.92, -10.2)]),
        },
        # row 15: same code and same polygon as row 2: duplicate
        {"kode": villages["kode"].iloc[0], "nama": villages["nama"].iloc[0], "geometry": villages.geometry.iloc[0]},
        # row 16: same code as row 3, another part (an island): merged
        {
            "kode": villages["kode"].iloc[1],
            "nama": villages["nama"].iloc[1],
            "geometry": box(123.95, -10.3, 123.96, -10.29),
        },
    ]
    frame = gpd.GeoDataFrame([*frame.to_dict("records"), *extra], geometry="geometry", crs=4326)
    path = tmp_path / "kotor.gpkg"
    frame.to_file(path)
    out, report = read_villages(path)
    assert_accounted(report)
    assert report.read == 16
    assert reasons_by_row(report) == {
        10: "missing_geometry",
        11: "not_polygon",
        12: "missing_id",
        14: "invalid_geometry",
        15: "duplicate_id",
    }
    warnings = {(w.row, w.reason) for w in report.warnings}
    assert (13, "repaired_geometry") in warnings
    assert (16, "merged_parts") in warnings
    assert report.used == 11
    assert len(out) == 10  # 9 + the repaired bow-tie; the island merged into village 2
    assert out.geometry.is_valid.all()
    merged = out.loc[out["village_code"] == villages["kode"].iloc[1]].geometry.iloc[0]
    assert merged.geom_type == "MultiPolygon"


def test_not_a_polygon_file_is_refused(tmp_path, tps_path):
    with pytest.raises(RiskmapInputError) as err:
        read_villages(tps_path)
    assert err.value.code == "villages_need_polygons"


def test_unknown_format_and_missing_file(tmp_path):
    odd = tmp_path / "desa.kml2"
    odd.write_text("x")
    with pytest.raises(RiskmapInputError) as err:
        read_villages(odd)
    assert err.value.code == "unknown_format"
    with pytest.raises(RiskmapInputError) as err:
        read_villages(tmp_path / "tidak_ada.geojson")
    assert err.value.code == "file_not_found"
    assert "tidak_ada.geojson" in err.value.message("id")


def test_line_geometry_file_rejects_rows(tmp_path):
    frame = gpd.GeoDataFrame(
        {"kode": ["53.71.01.1001"], "nama": ["X"]}, geometry=[LineString([(123.5, -10.1), (123.6, -10.2)])], crs=4326
    )
    path = tmp_path / "lines.geojson"
    frame.to_file(path)
    out, report = read_villages(path)
    assert len(out) == 0 and reasons_by_row(report) == {1: "not_polygon"}


def test_multi_layer_gadm_geopackage_picks_the_village_layer(tmp_path, villages):
    path = tmp_path / "gadm41_IDN.gpkg"
    gadm = to_gadm(villages)
    gadm.dissolve("NAME_1").reset_index()[["NAME_1", "geometry"]].to_file(path, layer="ADM_ADM_1")
    gadm.to_file(path, layer="ADM_ADM_4")
    out, report = read_villages(path)
    assert len(out) == 9 and report.schema == "GADM"
    assert any(w.reason == "layer_chosen" and w.params["layer"] == "ADM_ADM_4" for w in report.warnings)
    two = tmp_path / "two.gpkg"
    gadm.to_file(two, layer="satu")
    gadm.to_file(two, layer="dua")
    with pytest.raises(RiskmapInputError) as err:
        read_villages(two)
    assert err.value.code == "gpkg_many_layers" and "satu" in err.value.message("en")


@pytest.mark.parametrize("style", ["gadm", "hdx"])
def test_zip_with_every_admin_level_picks_the_village_level(tmp_path, villages, style):
    """GADM's gadm41_IDN_shp.zip and HDX's idn_adm_bps_*_shp.zip hold levels 0-4 side by side."""
    import zipfile

    level4 = to_gadm(villages) if style == "gadm" else to_codab(villages)
    name = {"gadm": "gadm41_IDN_{k}", "hdx": "idn_admbnda_adm{k}_bps_20200401"}[style]
    path = tmp_path / f"{style}_shp.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for k in range(5):
            level = level4 if k == 4 else level4.dissolve(level4.columns[2 if k else 0]).reset_index()
            level.to_file(tmp_path / f"{name.format(k=k)}.shp")
            for part in tmp_path.glob(f"{name.format(k=k)}.*"):
                zf.write(part, f"{style}/{part.name}")
    out, report = read_villages(path)
    assert len(out) == 9 and report.schema == ("GADM" if style == "gadm" else "COD-AB")
    chosen = [w for w in report.warnings if w.reason == "layer_chosen"]
    assert [w.params["layer"] for w in chosen] == [name.format(k=4)]
    assert name.format(k=0) in chosen[0].message("en")


def test_file_geodatabase_folder_and_zip(tmp_path, villages):
    """A BIG-style File Geodatabase: the village polygons beside line and point layers, as a folder or zipped."""
    import shutil

    from shapely.geometry import LineString, Point

    big = to_big(villages).astype({"OBJECTID": "int32", "TIPADM": "int32"})  # Integer64 would be Float64 in a .gdb
    gdb = tmp_path / "RBI_ADMINISTRASI.gdb"
    big.to_file(gdb, layer="ADMINISTRASI_AR", driver="OpenFileGDB")
    lines = gpd.GeoDataFrame({"NAMOBJ": ["batas"]}, geometry=[LineString([(123.5, -10.2), (123.6, -10.1)])], crs=4326)
    lines.to_file(gdb, layer="ADMINISTRASI_LN", driver="OpenFileGDB")
    points = gpd.GeoDataFrame({"NAMOBJ": ["kantor"]}, geometry=[Point(123.55, -10.15)], crs=4326)
    points.to_file(gdb, layer="TOPONIMI_PT", driver="OpenFileGDB")
    zipped = shutil.make_archive(str(tmp_path / "rbi"), "zip", tmp_path, gdb.name)
    for path in (gdb, zipped):
        out, report = read_villages(path)
        assert len(out) == 9 and report.schema == "BIG"
        assert sorted(out["village_code"]) == sorted(villages["kode"])
        assert [w.params["layer"] for w in report.warnings if w.reason == "layer_chosen"] == ["ADMINISTRASI_AR"]


def test_no_kecamatan_and_no_official_code_is_said(tmp_path, villages):
    frame = villages[["nama", "geometry"]].assign(id_lokal=[f"V{k}" for k in range(len(villages))])
    path = tmp_path / "desa_tanpa_kecamatan.geojson"
    frame.to_file(path)
    out, report = read_villages(path, columns="villages.village_code=id_lokal,villages.village_name=nama")
    assert len(out) == 9 and out["district_code"].nunique() == 1
    assert [w.reason for w in report.warnings if w.row is None] == ["no_district_column"]
    coded = tmp_path / "desa_berkode.geojson"  # Kemendagri codes carry their kecamatan: nothing to say
    villages[["kode", "nama", "geometry"]].to_file(coded)
    out, report = read_villages(coded)
    assert out["district_code"].nunique() == 3 and not [w for w in report.warnings if w.row is None]


def test_3d_polygons_load_as_2d(tmp_path, villages):
    import shapely

    z = villages.copy()
    z["geometry"] = shapely.force_3d(z.geometry.to_numpy(), 12.0)
    path = tmp_path / "z.shp"
    z.to_file(path)
    out, report = read_villages(path)
    assert not out.geometry.has_z.any() and report.rejected == []


def test_polygons_off_the_earth_outside_indonesia_or_too_large_are_rejected(tmp_path, villages):
    # issue 9: latitude > 90, 1e308 coordinates and a world-sized polygon were accepted (exit 0)
    bad = villages.copy()
    bad.loc[0, "geometry"] = box(123.55, 91, 123.56, 92)  # latitude beyond the pole
    bad.loc[1, "geometry"] = box(1e307, 1e307, 1e308, 1e308)
    bad.loc[2, "geometry"] = box(-180, -90, 180, 90)  # the whole world
    bad.loc[3, "geometry"] = box(100.0, -5.0, 110.0, 5.0)  # inside Indonesia's box, 1.2 million km²
    bad.loc[4, "geometry"] = box(10.0, 45.0, 10.01, 45.01)  # a village-sized polygon in Italy
    path = tmp_path / "desa.gpkg"  # GeoJSON cannot carry 1e308 and beyond through every writer; a GeoPackage can
    bad.to_file(path)
    out, report = read_villages(path)
    assert_accounted(report)
    assert len(out) == 4
    assert reasons_by_row(report) == {
        1: "village_off_earth",
        2: "village_off_earth",
        3: "village_outside_indonesia",
        4: "village_too_large",
        5: "village_outside_indonesia",
    }
    for note in report.rejected:
        for lang in ("id", "en"):
            assert "{" not in note.message(lang)
    too_large = next(n for n in report.rejected if n.row == 4)
    assert "50,000" in too_large.message("en") and "km²" in too_large.message("id")


def test_world_polygon_alone_is_a_clear_error(tmp_path, villages):
    from riskmap import pipeline

    world = villages.iloc[:1].copy()
    world.loc[world.index[0], "geometry"] = box(-180, -90, 180, 90)
    path = tmp_path / "dunia.geojson"
    world.to_file(path)
    with pytest.raises(RiskmapInputError) as err:
        pipeline.run(path)
    assert err.value.code == "no_villages_left"
    assert "dunia.geojson" in err.value.message("id") and "Poligon di luar Indonesia (1)" in err.value.message("id")
    assert "Polygon outside Indonesia (1)" in err.value.message("en")


def test_max_area_comes_from_the_configuration(tmp_path, villages):
    from riskmap.config import load_config

    path = tmp_path / "desa.geojson"
    villages.to_file(path)  # ~1.2 km² each
    out, report = read_villages(path, config=load_config(overrides={"villages": {"max_area_km2": 1.0}}))
    assert len(out) == 0 and set(reasons_by_row(report).values()) == {"village_too_large"}
    assert_accounted(report)


def test_every_geometry_empty_is_a_clear_error(tmp_path, villages):
    from riskmap import pipeline

    empty = villages.copy()
    empty["geometry"] = Polygon()
    path = tmp_path / "kosong.gpkg"
    empty.to_file(path)
    with pytest.raises(RiskmapInputError) as err:
        pipeline.run(path)
    assert err.value.code == "no_villages_left" and "Tanpa poligon (9)" in err.value.message("id")


def test_collapsed_parts_are_dropped_and_counted_not_fatal(tmp_path, villages):
    # issue 10: the national village file stopped with "Overlay input is mixed-dimension" in make_valid,
    # caused by MultiPolygons with a part collapsed to a point
    from shapely import wkt

    x, y = 123.80, -10.20
    square = f"(({x} {y}, {x + 0.01} {y}, {x + 0.01} {y + 0.01}, {x} {y + 0.01}, {x} {y}))"
    point_part = f"(({x + 0.05} {y}, {x + 0.05} {y}, {x + 0.05} {y}, {x + 0.05} {y}))"  # zero area, one point
    line_part = f"(({x + 0.07} {y}, {x + 0.08} {y}, {x + 0.07} {y}, {x + 0.07} {y}))"  # zero area, a line
    overlapping = f"(({x + 0.005} {y}, {x + 0.02} {y}, {x + 0.02} {y + 0.01}, {x + 0.005} {y + 0.01}, {x + 0.005} {y}))"
    extra = [
        # row 10: a square and a part collapsed to a point
        {"kode": "53.71.09.3001", "nama": "Titik Sisa", "geometry": wkt.loads(f"MULTIPOLYGON({square}, {point_part})")},
        # row 11: overlapping parts, a point part and a line part
        {
            "kode": "53.71.09.3002",
            "nama": "Tumpang",
            "geometry": wkt.loads(f"MULTIPOLYGON({square}, {overlapping}, {point_part}, {line_part})"),
        },
        # row 12: a GeometryCollection of a polygon, a point and a line
        {
            "kode": "53.71.09.3003",
            "nama": "Koleksi",
            "geometry": wkt.loads(
                f"GEOMETRYCOLLECTION(POLYGON{square}, POINT({x} {y}), LINESTRING({x} {y}, {x + 0.1} {y + 0.1}))"
            ),
        },
        # row 13: nothing but collapsed parts: rejected, not a crash
        {"kode": "53.71.09.3004", "nama": "Hampa", "geometry": wkt.loads(f"MULTIPOLYGON({point_part}, {line_part})")},
    ]
    frame = gpd.GeoDataFrame([*villages.to_dict("records"), *extra], geometry="geometry", crs=4326)
    path = tmp_path / "nasional.gpkg"
    frame.to_file(path)
    out, report = read_villages(path)
    assert_accounted(report)
    assert reasons_by_row(report) == {13: "invalid_geometry"}
    dropped = {w.row: w.params["n"] for w in report.warnings if w.reason == "collapsed_parts_dropped"}
    assert dropped == {10: 1, 11: 2, 12: 2}
    summary = next(w for w in report.warnings if w.reason == "collapsed_parts_summary")
    assert summary.row is None and summary.params == {"parts": 5, "polygons": 3}
    assert "5" in report.summary("id") and "5" in report.summary("en")
    assert out.geometry.is_valid.all() and out.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    by_code = out.set_index("village_code").geometry
    assert by_code["53.71.09.3001"].area == pytest.approx(1e-4, rel=1e-6)
    assert by_code["53.71.09.3002"].area == pytest.approx(2e-4, rel=1e-6)  # the overlap counted once


def test_polygons_in_metres_without_a_crs_say_name_the_crs(tmp_path, villages):
    # red-team 15: UTM coordinates in a GeoJSON without a CRS were "coordinates off the Earth"
    utm = villages.copy()
    utm["geometry"] = [box(580000 + 1000 * i, 8870000, 581000 + 1000 * i, 8871000) for i in range(len(utm))]
    utm.loc[8, "geometry"] = box(123.55, 91, 123.56, 92)  # beyond the pole, not metres: still off the Earth
    path = tmp_path / "desa_utm.geojson"
    utm.set_crs(None, allow_override=True).to_file(path)
    from riskmap import pipeline

    with pytest.raises(RiskmapInputError) as info:
        pipeline.load(str(path))
    for lang in ("id", "en"):
        text = info.value.message(lang)
        assert "UTM" in text and "villages.crs=EPSG:" in text, text
    bad = villages.copy()
    bad.loc[0, "geometry"] = box(580000, 8870000, 581000, 8871000)
    bad.loc[1, "geometry"] = box(123.55, 91, 123.56, 92)
    (tmp_path / "desa.geojson").unlink(missing_ok=True)
    bad.to_file(tmp_path / "desa.geojson")
    _, report = read_villages(tmp_path / "desa.geojson")
    assert_accounted(report)
    assert reasons_by_row(report) == {1: "village_looks_projected", 2: "village_off_earth"}
    assert "EPSG:32751" in report.rejected[0].message("en")


def test_kemendagri_file_kabkota_column_gives_the_regency(tmp_path, villages):
    """Issue 12, defect 2: the Kemendagri-style file's ``kabkota`` column was not read, so ``regency`` was empty."""
    frame = villages.rename(columns={"kab_kota": "kabkota"})
    path = tmp_path / "kemendagri.geojson"
    frame.to_file(path)
    out, report = read_villages(path)
    assert report.schema == "Kemendagri"
    assert set(out["regency"]) == {"Kota Uji"}
    assert set(out["province"]) == {"Nusa Tenggara Timur"}
