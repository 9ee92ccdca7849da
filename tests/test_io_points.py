"""Point layers (riskmap.io.points): shared by TPS, incidents and the optional point layers."""

from __future__ import annotations

import json

import pytest

from riskmap.io import read_incidents, read_tps
from riskmap.io._coords import StudyArea
from riskmap.io.points import read_points
from riskmap.testing import assert_accounted, reasons_by_row, village_center


def _empty_geometry_file(tmp_path, villages) -> str:
    """Four features: an empty multipoint, an empty polygon, an empty collection, one real point."""
    lat, lon = village_center(villages, 0)
    props = {"kode": "x", "nama": "Pos", "tanggal": "2024-01-05", "jenis": "protest", "keparahan": 2}
    geoms = [
        {"type": "MultiPoint", "coordinates": []},
        {"type": "Polygon", "coordinates": []},
        {"type": "GeometryCollection", "geometries": []},
        {"type": "Point", "coordinates": [lon, lat]},
    ]
    features = [
        {"type": "Feature", "properties": {**props, "kode": f"k{i}"}, "geometry": g} for i, g in enumerate(geoms)
    ]
    path = tmp_path / "empty_geoms.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("layer", ["tps", "incidents", "posts"])
def test_empty_geometries_are_rejected_rows(tmp_path, villages, layer):
    path = _empty_geometry_file(tmp_path, villages)
    area = StudyArea.around(villages.total_bounds, 5.0)
    if layer == "tps":
        _, report = read_tps(path, area=area)
    elif layer == "incidents":
        _, report = read_incidents(path, area=area)
    else:
        _, report = read_points(path, "posts", area=area)
    assert_accounted(report)
    reasons = reasons_by_row(report)
    assert reasons.get(1) == reasons.get(2) == reasons.get(3) == "empty_geometry"
    assert 4 not in reasons
    assert "empty" in report.rejected[0].message("en")


@pytest.mark.parametrize("layer", ["tps", "posts"])
def test_header_without_rows_is_a_layer_warning(tmp_path, villages, layer):
    # red-team 15: a CSV with a header and no rows gave "0 rows read" and exit 0 with nothing said
    path = tmp_path / "kosong.csv"
    path.write_text("kode_tps,kelurahan,lat,lon,dpt\n", encoding="utf-8")
    area = StudyArea.around(villages.total_bounds, 5.0)
    _, report = read_tps(str(path), area=area) if layer == "tps" else read_points(str(path), "posts", area=area)
    assert report.read == 0
    assert [w.reason for w in report.warnings if w.row is None].count("no_data_rows") == 1
    assert "no data rows" in report.summary("en") and "tidak berisi baris data" in report.summary("id")
