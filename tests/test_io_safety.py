"""Hostile files: GDAL opens only the format the extension names, nothing reads other files, limits hold."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import zipfile

import pyogrio
import pytest

from riskmap._errors import RiskmapInputError
from riskmap.config import load_config
from riskmap.io import _safety
from riskmap.io._read import read_layer
from riskmap.io._safety import Limits, check_driver
from riskmap.io.villages import read_villages
from riskmap.testing import RequestRecorder

SECRET = "riskmap-secret-name"

VRT = """<OGRVRTDataSource>
  <OGRVRTLayer name="secret">
    <SrcDataSource>CSV:{target}</SrcDataSource>
    <GeometryType>wkbNone</GeometryType>
  </OGRVRTLayer>
</OGRVRTDataSource>
"""

GDALG = '{{"type": "gdal_streamed_alg", "command_line": "gdal vector pipeline ! read {target} ! select --fields nama"}}'


@pytest.fixture
def secret_file(tmp_path, villages):
    """A local file an attacker would like to read: a GeoJSON whose village names are a secret."""
    frame = villages.copy()
    frame["nama"] = SECRET
    target = tmp_path / "private" / "secret.geojson"
    target.parent.mkdir()
    frame.to_file(target)
    csv = tmp_path / "private" / "secret.csv"
    csv.write_text(f"nama,kode\n{SECRET},1\n")
    return target, csv


def _refused(path, **kwargs) -> RiskmapInputError:
    with pytest.raises(RiskmapInputError) as info:
        read_layer(path, **kwargs)
    assert SECRET not in info.value.message("id")
    return info.value


@pytest.mark.parametrize("suffix", [".geojson", ".json", ".gpkg", ".fgb", ".shp"])
def test_vrt_document_under_a_map_extension_is_refused(tmp_path, secret_file, suffix):
    path = tmp_path / f"desa{suffix}"
    path.write_text(VRT.format(target=secret_file[1]))
    err = _refused(path)
    assert err.code in {"content_redirect", "content_not_format"}
    if suffix in {".geojson", ".json"}:
        assert err.code == "content_redirect" and "VRT" in err.message("id")
        assert "bukan GeoJSON" in err.message("id") and "Export" in err.message("en")


@pytest.mark.parametrize("suffix", [".geojson", ".json"])
def test_gdalg_document_is_refused(tmp_path, secret_file, suffix):
    path = tmp_path / f"desa{suffix}"
    path.write_text(GDALG.format(target=secret_file[0]))
    assert _refused(path).code == "content_redirect"


@pytest.mark.parametrize("doc", [VRT, GDALG])
def test_redirecting_document_inside_a_zip_is_refused(tmp_path, secret_file, doc):
    path = tmp_path / "desa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("batas/desa.geojson", doc.format(target=secret_file[0]))
    assert _refused(path).code == "content_redirect"


def test_vrt_hidden_after_whitespace_in_a_shapefile_zip_is_refused(tmp_path, secret_file):
    path = tmp_path / "desa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("desa.shp", "\n" * 10 + VRT.format(target=secret_file[1]))
    assert _refused(path).code == "content_redirect"


def test_redirecting_drivers_are_gone_from_gdal(tmp_path, secret_file):
    """Layer (c): even opened by pyogrio directly, a VRT or GDALG document is not read."""
    assert _safety.disable_redirecting_drivers() == []
    assert "OGR_VRT" not in pyogrio.list_drivers() and "GDALG" not in pyogrio.list_drivers()
    vrt = tmp_path / "x.vrt"
    vrt.write_text(VRT.format(target=secret_file[1]))
    gdalg = tmp_path / "x.gdalg.json"
    gdalg.write_text(GDALG.format(target=secret_file[0]))
    for path in (vrt, gdalg):
        with pytest.raises(pyogrio.errors.DataSourceError):
            pyogrio.read_dataframe(path)


def test_geojson_opened_only_by_the_geojson_driver(tmp_path):
    """An Esri JSON document starts with '{' too: the GeoJSON: prefix keeps the EsriJSON driver out."""
    path = tmp_path / "desa.json"
    path.write_text(
        '{"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326}, "fields": [{"name": "nama",'
        ' "type": "esriFieldTypeString"}], "features": [{"attributes": {"nama": "x"}, "geometry": {"x": 123.6,'
        ' "y": -10.2}}]}'
    )
    assert pyogrio.read_info(path)["driver"] == "ESRIJSON"  # what GDAL would do by itself
    assert _refused(path).code == "vector_unreadable"


def test_driver_check_refuses_another_driver(tmp_path):
    with pytest.raises(RiskmapInputError) as info:
        check_driver("OGR_VRT", "GPKG", tmp_path / "a.gpkg")
    assert info.value.code == "content_driver" and "GeoPackage" in info.value.message("en")
    check_driver("GPKG", "GPKG", tmp_path / "a.gpkg")


@pytest.mark.parametrize(
    "name",
    ["/vsicurl/http://127.0.0.1:9/desa.geojson", "/vsizip//tmp/x.zip/desa.shp", "http://example.org/desa.geojson"],
)
def test_vsi_and_url_paths_are_refused(name):
    assert _refused(name).code == "name_forbidden"


def test_vsi_layer_name_is_refused(villages_path):
    assert _refused(villages_path, layer="/vsicurl/http://127.0.0.1:9/x").code == "name_forbidden"


@pytest.mark.parametrize("member", ["../desa.geojson", "/tmp/desa.geojson", "a\\desa.geojson", "https:x.geojson"])
def test_unsafe_zip_member_names_are_refused(tmp_path, villages, member):
    path = tmp_path / "desa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, villages.to_json())
    assert _refused(path).code in {"zip_member_unsafe", "name_forbidden"}


def test_zip_member_with_nul_is_refused(tmp_path, villages):
    path = tmp_path / "desa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("desa.geojson", villages.to_json())
    data = path.read_bytes().replace(b"desa.geojson", b"de\x00a.geojson")
    path.write_bytes(data)
    assert _refused(path).code in {"zip_member_unsafe", "zip_unreadable", "zip_no_layer"}


def _gpkg_with_view(path, villages) -> None:
    villages.to_file(path, layer="desa", driver="GPKG")
    con = sqlite3.connect(path)
    con.execute("CREATE VIEW desa_view AS SELECT * FROM desa")
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('desa_view', 'features',"
        " 'desa_view', 4326)"
    )
    con.execute("INSERT INTO gpkg_geometry_columns VALUES ('desa_view', 'geom', 'POLYGON', 4326, 0, 0)")
    con.commit()
    con.close()


def test_gpkg_layer_that_is_an_sql_view_is_refused(tmp_path, villages):
    path = tmp_path / "desa.gpkg"
    _gpkg_with_view(path, villages)
    assert _refused(path, layer="desa_view").code == "gpkg_view"
    assert _refused(path).code == "gpkg_view"


def test_gpkg_view_inside_a_zip_is_refused(tmp_path, villages):
    gpkg = tmp_path / "desa.gpkg"
    _gpkg_with_view(gpkg, villages)
    path = tmp_path / "desa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(gpkg, "desa.gpkg")
    assert _refused(path).code == "gpkg_view"


def test_gpkg_inside_a_zip_is_read(tmp_path, villages):
    gpkg = tmp_path / "desa.gpkg"
    villages.to_file(gpkg, layer="desa", driver="GPKG")
    path = tmp_path / "desa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(gpkg, "desa.gpkg")
    assert len(read_layer(path).frame) == 9


def test_no_sidecar_files_appear_next_to_inputs(tmp_path, villages):
    folder = tmp_path / "in"
    folder.mkdir()
    villages.to_file(folder / "a.geojson")
    villages.to_file(folder / "b.shp")
    villages.to_file(folder / "c.fgb")
    villages.to_file(folder / "d.gpkg", layer="desa", driver="GPKG")
    con = sqlite3.connect(folder / "d.gpkg")
    assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    con.close()
    before = sorted(p.name for p in folder.iterdir())
    for name in ("a.geojson", "b.shp", "c.fgb", "d.gpkg"):
        read_layer(folder / name)
        assert sorted(p.name for p in folder.iterdir()) == before, name


# -- limits ---------------------------------------------------------------


def _bomb(path, mb: int = 8) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("desa.geojson", '{"type": "FeatureCollection", "features": []' + " " * (mb << 20) + "}")


def test_zip_bomb_refused_by_compression_ratio_without_inflating(tmp_path):
    path = tmp_path / "desa.zip"
    _bomb(path)
    assert path.stat().st_size < 100_000
    err = _refused(path)
    assert err.code == "limit_exceeded" and err.params["setting"] == "max_zip_ratio"
    msg = err.message("en")
    assert "200" in msg and "[limits] max_zip_ratio" in msg and "--config" in msg
    assert "compression ratio" in msg and "rasio" not in msg  # each language on its own
    assert "rasio kompresi" in err.message("id") and "compression" not in err.message("id")
    assert re.search(r"member \d+, ", msg)  # no thousands separator: "1,029" would read as 1.029 in Indonesian


def test_zip_expanded_size_and_member_count_limits(tmp_path, villages):
    path = tmp_path / "desa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("desa.geojson", villages.to_json())
        zf.writestr("readme.txt", "x")
    err = _refused(path, limits=Limits(max_zip_expanded_mb=0.001))
    assert err.params["setting"] == "max_zip_expanded_mb"
    assert _refused(path, limits=Limits(max_zip_members=1)).params["setting"] == "max_zip_members"
    assert len(read_layer(path).frame) == 9


def test_xlsx_bomb_refused(tmp_path):
    path = tmp_path / "tps.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", "<a>" + " " * (8 << 20) + "</a>")
    assert _refused(path).params["setting"] == "max_zip_ratio"


def test_file_size_feature_and_row_limits(tmp_path, villages, villages_path, tps_path):
    assert _refused(villages_path, limits=Limits(max_file_mb=0.001)).params["setting"] == "max_file_mb"
    assert _refused(villages_path, limits=Limits(max_features=5)).params["setting"] == "max_features"
    gpkg = tmp_path / "desa.gpkg"
    villages.to_file(gpkg, layer="desa", driver="GPKG")
    err = _refused(gpkg, limits=Limits(max_features=5))
    assert err.params["setting"] == "max_features" and err.params["value"] == "9"
    assert _refused(tps_path, limits=Limits(max_table_rows=3)).params["setting"] == "max_table_rows"
    assert len(read_layer(tps_path).frame) == 9


def test_limits_come_from_the_configuration(villages_path):
    config = load_config(overrides={"limits": {"max_features": 4}})
    assert Limits.from_config(config).max_features == 4
    assert Limits.from_config(None) == Limits()  # default.toml and the dataclass agree
    _safety.use_limits(config)
    try:
        with pytest.raises(RiskmapInputError) as info:
            read_villages(villages_path)
        assert info.value.params["setting"] == "max_features"
    finally:
        _safety.use_limits(None)
    assert len(read_villages(villages_path)[0]) == 9


# -- crashes --------------------------------------------------------------


def test_shapefile_without_prj_and_unknown_crs(tmp_path, villages):
    path = tmp_path / "desa.shp"
    villages.to_file(path)
    path.with_suffix(".prj").unlink()
    assert _refused(path, crs="EPSG:999999").code == "unknown_crs"


def test_local_crs_in_prj_is_refused(tmp_path, villages):
    path = tmp_path / "desa.shp"
    villages.to_file(path)
    path.with_suffix(".prj").write_text('LOCAL_CS["Site grid",LOCAL_DATUM["x",0],UNIT["metre",1]]')
    err = _refused(path)
    assert err.code == "crs_local" and "UTM" in err.message("en")


@pytest.mark.parametrize("name", ["a" * 300 + ".csv", "ta\x00ps.csv"])
def test_file_name_too_long_or_with_nul(tmp_path, name):
    err = _refused(str(tmp_path / name))
    assert err.code == "file_name_invalid"


def test_damaged_map_files_are_input_errors(tmp_path, villages):
    gpkg = tmp_path / "desa.gpkg"
    gpkg.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    assert _refused(gpkg).code in {"content_not_format", "vector_unreadable"}
    shp = tmp_path / "desa.shp"
    shp.write_bytes(b"\x00\x00\x27\x0a" + b"\xff" * 200)
    assert _refused(shp).code == "vector_unreadable"
    fgb = tmp_path / "desa.fgb"
    fgb.write_bytes(b"fgb\x03fgb\x00" + b"\x7f" * 100)
    assert _refused(fgb).code == "vector_unreadable"


def test_pipeline_applies_the_configured_limits(tmp_path, villages_path, tps_path):
    from riskmap import pipeline

    config = load_config(overrides={"limits": {"max_table_rows": 3}})
    try:
        with pytest.raises(RiskmapInputError) as info:
            pipeline.load(villages_path, tps_path, config=config)
        assert info.value.params["setting"] == "max_table_rows"
    finally:
        _safety.use_limits(None)


# -- red team: network requests (finding 1) ------------------------------------


def _crs_link_geojson(path, villages, href: str, kind: str = "link") -> None:
    doc = json.loads(villages.to_json())
    doc["crs"] = {"type": kind, "properties": {"href": href, "type": "ogcwkt", "name": href}}
    features = doc.pop("features")
    doc["features"] = features  # the crs member before the features, as the red team wrote it
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("where", ["plain", "zip", "after_features"])
def test_geojson_crs_link_is_refused_without_a_request(tmp_path, villages, where):
    with RequestRecorder() as recorder:
        path = tmp_path / "desa.geojson"
        _crs_link_geojson(path, villages, recorder.url + "crs.wkt")
        if where == "after_features":
            doc = json.loads(path.read_text())
            crs = doc.pop("crs")
            doc["crs"] = crs
            path.write_text(json.dumps(doc))
        if where == "zip":
            zipped = tmp_path / "desa.zip"
            with zipfile.ZipFile(zipped, "w") as zf:
                zf.write(path, "batas/desa.geojson")
            path = zipped
        err = _refused(path)
        assert err.code == "crs_external"
        assert "internet" in err.message("id") and "internet" in err.message("en")
    assert recorder.requests == []


def test_geojson_with_an_ogc_crs_url_is_still_read(tmp_path, villages):
    path = tmp_path / "desa.geojson"
    doc = json.loads(villages.to_json())
    doc["crs"] = {"type": "name", "properties": {"name": "http://www.opengis.net/def/crs/EPSG/0/4326"}}
    path.write_text(json.dumps(doc))
    assert len(read_layer(path).frame) == len(villages)


def test_gdal_makes_no_http_request_even_past_the_checks(tmp_path, villages):
    """The crs link read by GDAL directly (no riskmap check): the fetch hook answers, nothing leaves."""
    with RequestRecorder() as recorder:
        path = tmp_path / "desa.geojson"
        _crs_link_geojson(path, villages, recorder.url + "crs.wkt")
        with contextlib.suppress(Exception):
            pyogrio.read_dataframe(path)
        with contextlib.suppress(Exception):
            pyogrio.read_info(f"/vsicurl/{recorder.url}desa.geojson")
    assert recorder.requests == []
    assert any("crs.wkt" in url for url in _safety._HTTP_REFUSED)


def test_prj_naming_remote_or_local_grids_is_refused(tmp_path, villages):
    path = tmp_path / "desa.shp"
    villages.to_file(path)
    path.with_suffix(".prj").write_text(
        'GEOGCS["x",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],'
        'UNIT["degree",0.0174532925199433],EXTENSION["PROJ4","+proj=longlat +ellps=WGS84 '
        '+nadgrids=@https://127.0.0.2/g.tif,@/etc/passwd +no_defs"]]'
    )
    assert _refused(path).code == "crs_external"
    zipped = tmp_path / "desa.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in tmp_path.glob("desa.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    assert _refused(zipped).code == "crs_external"


# -- red team: GeoPackages that compute (findings 2-5) -------------------------


def _gpkg_view_named(path, villages, registered: str) -> None:
    """A view ``batas_desa`` registered as a layer under another spelling (SQLite names ignore case)."""
    villages.to_file(path, layer="desa", driver="GPKG")
    con = sqlite3.connect(path)
    con.execute("CREATE VIEW batas_desa AS SELECT fid, geom, kode, 'DARI_VIEW_' || sqlite_version() AS nama FROM desa")
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?, 'features', ?, 4326)",
        (registered, registered),
    )
    con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POLYGON', 4326, 0, 0)", (registered,))
    con.execute("DELETE FROM gpkg_contents WHERE table_name = 'desa'")
    con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = 'desa'")
    con.commit()
    con.close()


def test_gpkg_view_registered_in_another_case_is_refused(tmp_path, villages):
    path = tmp_path / "desa.gpkg"
    _gpkg_view_named(path, villages, "BATAS_DESA")
    assert _refused(path).code == "gpkg_view"


@pytest.mark.parametrize("name", ["desa #2.gpkg", "desa?x=1.gpkg", "desa%3F.gpkg", "desa&immutable=0.gpkg"])
def test_gpkg_name_with_uri_characters_is_checked_and_writes_nothing(tmp_path, villages, name):
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / name
    _gpkg_view_named(path, villages, "batas_desa")
    before = sorted(p.name for p in folder.iterdir())
    assert _refused(path).code == "gpkg_view"
    assert sorted(p.name for p in folder.iterdir()) == before


def _gpkg_with_master_entry(path, villages, sql: str, name: str = "batas_desa") -> None:
    villages.to_file(path, layer="desa", driver="GPKG")
    con = sqlite3.connect(path)
    con.execute("PRAGMA writable_schema = ON")
    con.execute(
        "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', ?, ?, 0, ?)",
        (name, name, sql),
    )
    con.commit()
    con.close()


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE VIRTUAL TABLE batas_desa USING VirtualOGR('/etc/hostname' /* using rtree */)",
        "CREATE VIRTUAL TABLE batas_desa USING VirtualOGR('/etc/hostname') --  using rtree",
        "CREATE   VIRTUAL\tTABLE batas_desa USING  VirtualOGR('/etc/hostname', ' using rtree')",
        "CREATE VIRTUAL TABLE rtree_batas_geom USING rtree(id, minx, maxx, miny, maxy) /* x */",
        "CREATE VIRTUAL TABLE batas_desa USING rtree(id, minx, maxx, miny, maxy)",
        "CREATE VIRTUAL TABLE rtree_batas_geom USING fts5(id, minx)",
    ],
)
def test_virtual_table_other_than_a_gpkg_rtree_index_is_refused(tmp_path, villages, sql):
    path = tmp_path / "desa.gpkg"
    _gpkg_with_master_entry(path, villages, sql, name=sql.split()[3] if "rtree_" in sql else "batas_desa")
    assert _refused(path).code == "gpkg_view"


def test_gpkg_with_its_own_rtree_index_is_read(tmp_path, villages):
    path = tmp_path / "desa.gpkg"
    villages.to_file(path, layer="desa", driver="GPKG", SPATIAL_INDEX="YES")
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'rtree_desa_geom'").fetchone()[0] == 1
    con.close()
    assert len(read_layer(path).frame) == len(villages)


def test_gpkg_table_with_a_generated_column_is_refused(tmp_path, villages):
    path = tmp_path / "desa.gpkg"
    villages.to_file(path, layer="desa", driver="GPKG")
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE desa ADD COLUMN g TEXT GENERATED ALWAYS AS (hex(zeroblob(1000)))")
    con.commit()
    con.close()
    err = _refused(path)
    assert err.code == "gpkg_computed"
    assert "desa" in err.message("id") and "desa" in err.message("en")


# -- red team: workbooks that blow up calamine (findings 6-8) ------------------


def _far_cell_xlsx(path, cell: str) -> None:
    """A valid workbook with a header and one value far out: calamine allocates every cell up to it."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["kode_tps", "lat", "lon"])
    sheet.append(["TPS 1", -10.2, 123.55])
    sheet[cell] = "x"
    book.save(path)


def test_workbook_needing_more_memory_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "tps.xlsx"
    _far_cell_xlsx(path, "ZZ20000")  # 14 million cells: ~0.8 GB in calamine, a few KB on disk
    err = _refused(path, limits=Limits(max_workbook_mb=200))
    assert err.code == "workbook_memory"
    assert "CSV" in err.message("id") and "CSV" in err.message("en") and "200" in err.message("en")


def test_workbook_whose_allocation_aborts_calamine_is_refused_not_fatal(tmp_path):
    """A cell at XFD1048576 made calamine ask for 512 GiB and abort the whole process (SIGABRT)."""
    path = tmp_path / "tps.xlsx"
    _far_cell_xlsx(path, "XFD1048576")
    assert _refused(path).code == "workbook_memory"


def test_workbook_taking_longer_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "tps.xlsx"
    _far_cell_xlsx(path, "ZZ20000")
    err = _refused(path, limits=Limits(max_workbook_seconds=0.01))
    assert err.code == "limit_exceeded" and "max_workbook_seconds" in err.message("en")


def test_ordinary_workbook_is_read_through_the_child_process(tmp_path, tps_frame):
    path = tmp_path / "tps.xlsx"
    tps_frame.to_excel(path, index=False)
    raw = read_layer(path, limits=Limits(max_workbook_mb=300))
    assert len(raw.frame) == len(tps_frame)
    assert list(raw.frame["_row"])[:2] == [2, 3]


def test_garbage_under_a_workbook_name_says_it_is_not_a_workbook(tmp_path):
    path = tmp_path / "tps.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    err = _refused(path)
    assert err.code == "excel_not_workbook"
    assert "detect" not in err.message("en") and ".xlsx" in err.message("id")


# -- red team: Parquet counted before reading (finding 9), no server paths (14) ---


def _parquet_rows(path, villages, repeat: int) -> None:
    import pandas as pd

    frame = pd.concat([villages] * repeat, ignore_index=True)
    frame.to_parquet(path)


def test_parquet_rows_and_size_are_checked_from_the_footer(tmp_path, villages):
    path = tmp_path / "desa.parquet"
    _parquet_rows(path, villages, 50)
    err = _refused(path, limits=Limits(max_features=len(villages)))
    assert err.code == "limit_exceeded" and "max_features" in err.message("en")
    err = _refused(path, limits=Limits(max_parquet_mb=0.001))
    assert err.code == "limit_exceeded" and "max_parquet_mb" in err.message("en")
    assert len(read_layer(path).frame) == 50 * len(villages)


def test_parquet_without_geometry_says_so(tmp_path, villages):
    path = tmp_path / "desa.parquet"
    villages.drop(columns="geometry").to_parquet(path)
    err = _refused(path)
    assert err.code == "vector_no_geometry" and "read_parquet" not in err.message("en")


@pytest.mark.parametrize("name", ["desa.parquet", "desa.fgb", "desa.geojson"])
def test_messages_do_not_show_the_server_folder(tmp_path, name):
    folder = tmp_path / "uploads-private-folder"
    folder.mkdir()
    path = folder / name
    head = {"desa.parquet": b"PAR1", "desa.fgb": b"fgb\x03fgb\x00", "desa.geojson": b"{"}[name]
    path.write_bytes(head + b"\x00\x01garbage" * 50 + (b"PAR1" if name.endswith("parquet") else b""))
    err = _refused(path)
    for lang in ("id", "en"):
        assert "uploads-private-folder" not in err.message(lang)
        assert str(tmp_path) not in err.message(lang)


def test_forbidden_prefix_names_the_file_not_its_folder(tmp_path):
    path = tmp_path / "ftp:desa.geojson"
    path.write_text("{}")
    err = _refused(path)
    assert err.code == "name_forbidden"
    assert str(tmp_path) not in err.message("en") and "ftp:desa.geojson" in err.message("en")


def test_internal_library_errors_are_not_shown_as_such():
    from riskmap import i18n
    from riskmap.io._read import _detail

    detail = _detail(IndexError("index 0 is out of bounds for axis 0 with size 0"))
    expected = "the map file cannot be read (the file's structure is damaged)."
    assert i18n.t("vector_unreadable", "en", detail=detail) == expected
    assert "/srv/x" not in _detail(OSError("cannot open '/srv/x/uploads/desa.fgb': bad"))


# -- red team: a polygon too big to repair (finding 11) ------------------------


def test_polygon_with_too_many_vertices_is_a_rejected_row_not_a_hang(tmp_path, villages):
    import time

    import numpy as np
    import shapely

    n = 150_001  # a self-intersecting zigzag: make_valid on 300,000 of these took > 190 s
    x0, y0 = villages.geometry.iloc[0].bounds[:2]
    xs = x0 + np.linspace(0, 0.005, n)
    ys = y0 + np.where(np.arange(n) % 2 == 0, 0.0, 0.005)
    zigzag = shapely.Polygon(np.column_stack([np.append(xs, xs[0]), np.append(ys, ys[0])]))
    frame = villages.copy()
    frame.loc[0, "geometry"] = zigzag
    path = tmp_path / "desa.geojson"
    frame.to_file(path)
    start = time.monotonic()
    out, report = read_villages(path)
    assert time.monotonic() - start < 30
    assert len(out) == len(villages) - 1 and report.read == len(villages)
    (note,) = [r for r in report.rejected if r.reason == "village_too_many_vertices"]
    assert note.row == 1 and note.params["n"] == n + 1 and note.params["most"] == "100000"


# -- red team: clear messages about zips and .prj files (finding 15) ------------


def test_zip_with_the_same_member_twice_is_refused_as_such(tmp_path, villages):
    path = tmp_path / "desa.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "w") as zf:  # zipfile warns "Duplicate name"
        zf.writestr("desa.geojson", villages.to_json())
        zf.writestr("desa.geojson", villages.to_json())
    err = _refused(path)
    assert err.code == "zip_duplicate_member"
    assert "dua kali" in err.message("id") and "twice" in err.message("en")


def test_long_layer_lists_are_cut_to_ten_names(tmp_path, villages):
    path = tmp_path / "peta.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(40):
            zf.writestr(f"layer{i:03d}.geojson", villages.to_json())
    err = _refused(path)
    assert err.code == "zip_many_layers"
    text = err.message("en")
    assert "layer009" in text and "layer010" not in text and "(+30)" in text


def test_unreadable_prj_is_not_called_missing(tmp_path, villages):
    path = tmp_path / "desa.shp"
    villages.to_crs(32751).to_file(path)
    path.with_suffix(".prj").write_text("this is not a coordinate system")
    err = _refused(path)
    assert err.code == "prj_unreadable" and ".prj" in err.message("id") and ".prj" in err.message("en")
    lonlat = tmp_path / "ll.shp"
    villages.to_file(lonlat)
    lonlat.with_suffix(".prj").write_text("junk")
    assert [code for code, _ in read_layer(lonlat).notes] == ["prj_unreadable_assumed"]


def test_reprojection_note_names_the_crs_shortly(tmp_path, villages):
    path = tmp_path / "desa.gpkg"
    villages.to_crs(32751).to_file(path, driver="GPKG")
    (note,) = [p for code, p in read_layer(path).notes if code == "crs_reprojected"]
    assert note["crs"] == "WGS 84 / UTM zone 51S"


def test_column_count_limit(tmp_path, villages):
    wide = villages.copy()
    for i in range(30):
        wide[f"k{i}"] = i
    for name in ("desa.geojson", "desa.gpkg"):
        path = tmp_path / name
        wide.to_file(path)
        err = _refused(path, limits=Limits(max_columns=20))
        assert err.code == "limit_exceeded" and "max_columns" in err.message("en")
    csv = tmp_path / "tps.csv"
    csv.write_text(",".join(f"c{i}" for i in range(30)) + "\n" + ",".join("1" * 30) + "\n")
    assert _refused(csv, limits=Limits(max_columns=20)).code == "limit_exceeded"
    assert len(read_layer(csv).frame) == 1
