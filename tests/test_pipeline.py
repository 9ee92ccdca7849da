"""The whole pipeline on the demo data, and schema independence of the scores."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from riskmap import demo, pipeline
from riskmap.testing import assert_accounted

STAGES = ["campaign", "voting", "counting", "recap"]


@pytest.fixture(scope="module")
def demo_result():
    return pipeline.run()


def test_demo_loads_completely(demo_result):
    report = demo_result.report
    assert_accounted(report)
    assert len(demo_result.villages) == 51
    assert report["villages"].rejected == []
    assert len(demo_result.tps) == 552
    assert report["incidents"].read >= 300
    # the demo is clean apart from nothing: every TPS and incident is used
    assert report["tps"].rejected == []
    assert report["incidents"].rejected == []
    assert demo_result.villages["area_km2"].sum() == pytest.approx(158.9, rel=0.1)
    assert 270_000 < demo_result.tps["voters"].sum() < 280_000


def test_demo_scores_spread_over_categories(demo_result):
    for stage in STAGES:
        levels = demo_result.tps[f"level_{stage}"].value_counts()
        assert levels.get("kurang rawan", 0) > levels.get("rawan", 0) > 0, stage
        assert levels.get("sangat rawan", 0) < 0.1 * len(demo_result.tps)


def _zip_shapefile(frame: gpd.GeoDataFrame, folder, name: str) -> str:
    shp = folder / name
    shp.mkdir()
    frame.to_file(shp / f"{name}.shp")
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in shp.iterdir():
            zf.write(part, f"{name}/{part.name}")
    return str(path)


def test_big_gadm_kemendagri_files_give_identical_scores(tmp_path):
    """One source, three real-world schemas and formats, no mapping: the same scores."""
    from riskmap.testing import to_big, to_gadm

    source = gpd.read_file(demo.VILLAGES)
    big = _zip_shapefile(to_big(source), tmp_path, "Batas_Desa_BIG")
    gadm = tmp_path / "gadm41_IDN_4.gpkg"
    to_gadm(source).to_file(gadm, layer="ADM_ADM_4")
    kemendagri = tmp_path / "desa_kemendagri.geojson"
    source[["kode", "nama", "kecamatan", "kab_kota", "provinsi", "geometry"]].to_file(kemendagri)

    results = {}
    for name, path in (("BIG", big), ("GADM", gadm), ("Kemendagri", kemendagri)):
        res = pipeline.run(path, demo.TPS, demo.INCIDENTS)
        assert res.report["villages"].schema == name
        assert res.report["villages"].used == 51
        cols = ["village_name", "district"] + [f"risk_{s}" for s in STAGES] + [f"level_{s}" for s in STAGES]
        frame = pd.DataFrame(res.villages[cols]).sort_values(["district", "village_name"]).reset_index(drop=True)
        tps_cols = ["tps_id"] + [f"risk_{s}" for s in STAGES]
        tps = pd.DataFrame(res.tps[tps_cols]).sort_values("tps_id").reset_index(drop=True)
        results[name] = (frame, tps, res.report["tps"].used)
    base_v, base_t, base_used = results["Kemendagri"]
    for name in ("BIG", "GADM"):
        v, t, used = results[name]
        pd.testing.assert_frame_equal(v, base_v, check_exact=False, atol=1e-6)
        pd.testing.assert_frame_equal(t, base_t, check_exact=False, atol=1e-6)
        assert used == base_used
    assert np.isfinite(base_v["risk_voting"]).all()
