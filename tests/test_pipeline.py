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
        assert levels.get("kurang_rawan", 0) > levels.get("rawan", 0) > 0, stage
        assert levels.get("sangat_rawan", 0) < 0.1 * len(demo_result.tps)


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


def test_cli_score_on_demo_with_no_inputs(tmp_path):
    from riskmap.cli import main

    out = tmp_path / "out"
    assert main(["score", "--out", str(out)]) == 0
    villages = gpd.read_file(out / "villages.geojson")
    assert len(villages) == 51
    assert villages.crs.to_epsg() == 4326


def test_campaign_posts_set_the_near_posko_flag(tmp_path, villages, villages_path, tps_path):
    from riskmap.testing import village_center

    lat, lon = village_center(villages, 4)
    posts = pd.DataFrame({"nama": ["Posko Paslon 1", "Posko jauh"], "lat": [lat + 0.001, -6.2], "lon": [lon, 106.8]})
    path = tmp_path / "posko.csv"
    posts.to_csv(path, index=False)
    layers = pipeline.load(villages_path, tps_path, None, campaign_posts=path)
    assert list(layers.tps["ind_dekat_posko"]) == [k == 4 for k in range(9)]
    rep = layers.report["campaign_posts"]
    assert rep.used == 1 and [n.reason for n in rep.rejected] == ["outside_study_area"]
    assert any(w.reason == "campaign_posts_marked" and w.params["n"] == 1 for w in rep.warnings)


def test_point_on_a_shared_edge_is_kept_in_one_village(tmp_path, villages, villages_path):
    """A TPS exactly on the edge between two villages is in neither interior: it is still used, with a warning."""
    b0, b1 = villages.geometry.iloc[0].bounds, villages.geometry.iloc[1].bounds
    assert b0[2] == b1[0]  # villages 0 and 1 share their east/west edge
    edge = pd.DataFrame({"kode_tps": ["A", "B"], "lat": [(b0[1] + b0[3]) / 2] * 2, "lon": [b0[2], b1[0] + 0.001]})
    path = tmp_path / "tps_edge.csv"
    edge.to_csv(path, index=False)
    layers = pipeline.load(villages_path, path, None)
    rep = layers.report["tps"]
    assert rep.used == 2 and rep.rejected == []
    assert [w.row for w in rep.warnings if w.reason == "ambiguous_village"] == [2]
    codes = sorted(villages["kode"].iloc[:2])
    assert list(layers.tps["village_code"]) == [codes[0], villages["kode"].iloc[1]]


def test_overlapping_polygons_pick_one_village_with_a_warning(tmp_path, villages, tps_frame):
    from shapely.geometry import box

    overlap = villages.copy()
    b = overlap.geometry.iloc[1].bounds  # widen village 1 over the west half of village 0... and its TPS
    overlap.loc[1, "geometry"] = box(b[0] - 0.006, b[1], b[2], b[3])
    vpath = tmp_path / "desa.geojson"
    overlap.to_file(vpath)
    tpath = tmp_path / "tps.csv"
    tps_frame.to_csv(tpath, index=False)
    layers = pipeline.load(vpath, tpath, None)
    rep = layers.report["tps"]
    ambiguous = [w for w in rep.warnings if w.reason == "ambiguous_village"]
    assert [w.row for w in ambiguous] == [2]
    # the record names village 0, which is one of the two: it is kept
    assert layers.tps["village_code"].iloc[0] == villages["kode"].iloc[0]
    assert rep.used == 9


def test_village_scores_without_tps_scores_or_hot_spots_are_the_same(demo_result):
    # the backtest scores villages only (tps_scores=False, hotspots=False): the village scores must not change
    fast = pipeline.score(demo_result.layers, demo_result.config, demo_result.as_of, hotspots=False, tps_scores=False)
    assert fast.tps is None and fast.hotspots is None and demo_result.tps is not None
    for stage in demo_result.config.stages:
        pd.testing.assert_series_equal(fast.villages[f"risk_{stage}"], demo_result.villages[f"risk_{stage}"])
    assert (fast.villages["voters"] == demo_result.villages["voters"]).all()  # the TPS still give the voters


def test_until_reports_later_incidents_as_load_does():
    """Issue 12, defect 6: scoring loaded layers as of a day leaves out and reports the later incidents, exactly
    as reading them with ``as_of`` does; the loaded layers stay as they were (the app shares them)."""
    import datetime as dt

    day = dt.date(2024, 11, 1)
    loaded = pipeline.load()
    kept = pipeline.until(loaded, day)
    read = pipeline.load(as_of=day)
    assert_accounted(kept.report)
    assert (kept.incidents["date"] <= pd.Timestamp(day)).all() and len(kept.incidents) == len(read.incidents)
    late = sorted((n.row, n.reason, n.params["date"]) for n in kept.report["incidents"].rejected)
    assert late == sorted((n.row, n.reason, n.params["date"]) for n in read.report["incidents"].rejected)
    assert late and {r for _, r, _ in late} == {"after_as_of"}
    assert not loaded.report["incidents"].rejected and loaded.report["incidents"].used == len(loaded.incidents)
    scored, direct = pipeline.score(kept, as_of=day), pipeline.score(read, as_of=day)
    assert np.allclose(scored.villages["risk_voting"], direct.villages["risk_voting"])
    assert pipeline.until(loaded, None) is loaded


def test_until_reports_a_later_logged_incident_in_the_logs_report(tmp_path, villages, villages_path, incidents_path):
    """The app merges the incident log before the as-of day is applied: a later logged incident is reported
    in ``logged_incidents``, a later file incident in ``incidents``."""
    import datetime as dt

    from riskmap.store import Store, merge_into_layers
    from riskmap.testing import village_center

    layers = pipeline.load(villages_path, None, incidents_path)
    lat, lon = village_center(villages, 2)
    with Store.open(f"sqlite:///{tmp_path / 'log.sqlite'}") as store:
        early = store.add_incident(date="2024-11-10", lat=lat, lon=lon, type="riot", author="ani", status="verified")
        late = store.add_incident(date="2024-11-27", lat=lat, lon=lon, type="riot", author="ani", status="verified")
        merged = merge_into_layers(layers, store)
    kept = pipeline.until(merged, dt.date(2024, 11, 25))
    assert_accounted(kept.report)
    assert early in set(kept.incidents["incident_id"]) and late not in set(kept.incidents["incident_id"])
    logged = [n.params["date"] for n in kept.report["logged_incidents"].rejected if n.reason == "after_as_of"]
    in_file = sorted(n.params["date"] for n in kept.report["incidents"].rejected if n.reason == "after_as_of")
    assert logged == ["2024-11-27"] and in_file == ["2024-11-26", "2024-11-28"]
