"""Hot spots (riskmap/hotspots.py): Gi* against its formula, planted clusters, FDR on noise, islands, cache."""

from __future__ import annotations

import itertools
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from riskmap import hotspots, i18n, pipeline
from riskmap._errors import RiskmapInputError
from riskmap.config import load_config
from riskmap.export import export_layers, shp_field_names
from riskmap.hotspots import CLASSES, HotSpots, knn_adjacency, knn_weights, pearson3_p
from riskmap.testing import grid_villages, incident_rows, tps_rows

NX = 20  # planted-cluster grids: NX x NX villages


def _grid_index(i: int, j: int, nx: int = NX) -> int:
    return j * nx + i


def _brute_gi_star(y: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Getis & Ord (1992) Gi* z-score, written out from the formula."""
    n = len(y)
    xbar = y.mean()
    s = np.sqrt((y**2).mean() - xbar**2)
    out = np.empty(n)
    for i in range(n):
        w = adj[i]
        wi = w.sum()
        out[i] = (w @ y - xbar * wi) / (s * np.sqrt((n * wi - wi**2) / (n - 1)))
    return out


def test_gi_star_matches_the_formula_on_a_small_grid():
    v = grid_villages(6, 5)
    y = np.random.default_rng(3).gamma(0.7, 2.0, len(v))
    hot = HotSpots.from_geodataframe(v, y, config=load_config(overrides={"hotspots": {"inference": "normal"}})).fit()
    adj = knn_adjacency(*hotspots._centroids(v), 4).toarray()  # k = 4 on this grid: see the config below
    # transform = "none": Gi* of the values themselves (the default, "log", is tested below)
    cfg4 = load_config(overrides={"hotspots": {"k": 4, "inference": "normal", "transform": "none"}})
    hot4 = HotSpots.from_geodataframe(v, y, config=cfg4).fit()
    np.testing.assert_allclose(hot4.z_, _brute_gi_star(y, adj), rtol=1e-10)
    # the weights: symmetric, binary, the village itself included, every village has at least k neighbours
    assert (adj == adj.T).all() and set(np.unique(adj)) == {0.0, 1.0} and (np.diag(adj) == 1).all()
    assert (adj.sum(axis=1) - 1 >= 4).all()
    # normal p-values are two-sided
    from scipy import stats

    np.testing.assert_allclose(hot4.p_, np.minimum(2 * stats.norm.sf(np.abs(hot4.z_)), 1), rtol=1e-9)
    assert hot.z_.shape == (len(v),) and len(hot.classes_) == len(v)


def test_default_transform_is_gi_star_of_the_log_of_the_value_over_its_mean():
    # the default transform = "log": Gi* of ln(1 + x / mean(x)), written out; not Gi* of x
    v = grid_villages(7, 6)
    y = np.random.default_rng(5).gamma(0.4, 3.0, len(v))
    y[::5] = 0.0
    cfg = load_config(overrides={"hotspots": {"k": 4}})
    assert load_config().data["hotspots"]["transform"] == "log"
    hot = HotSpots.from_geodataframe(v, y, config=cfg).fit()
    adj = knn_adjacency(*hotspots._centroids(v), 4).toarray()
    np.testing.assert_allclose(hot.z_, _brute_gi_star(np.log1p(y / y.mean()), adj), rtol=1e-10)
    assert not np.allclose(hot.z_, _brute_gi_star(y, adj), atol=1e-3)
    # unitless: the same z for a rate per 1,000 voters and for the same values in other units
    np.testing.assert_allclose(HotSpots.from_geodataframe(v, 1000 * y, config=cfg).fit().z_, hot.z_, rtol=1e-9)
    # pearson3 p-values (the default inference) are taken on the transformed values too
    m = adj.sum(axis=1)
    np.testing.assert_allclose(hot.p_, pearson3_p(hot.z_, np.log1p(y / y.mean()), m), rtol=1e-9)


def test_knn_weights_ignore_polygon_size_and_neighbours_are_nearest():
    # one huge village beside small ones: each still gets its k nearest centroids (great circle)
    rows = [box(120.0 + 0.01 * i, -10.0, 120.01 + 0.01 * i, -9.99) for i in range(12)]
    rows.append(box(121.0, -10.5, 122.0, -9.5))
    v = gpd.GeoDataFrame({"kode": [str(i) for i in range(13)]}, geometry=rows, crs=4326)
    adj = knn_adjacency(*hotspots._centroids(v), 3).toarray()
    assert adj[0, 1] == 1 and adj[0, 3] == 1 and adj[0, 4] == 0  # the 3 nearest of the first: 1, 2, 3
    assert adj[12].sum() - 1 >= 3  # the big one too


def test_pearson3_third_moment_is_the_exact_one_of_drawing_without_replacement():
    # the Pearson III tail rests on the exact third moment of a sum of m values drawn without replacement
    y = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 4.0, 0.5])
    n, m = len(y), 3
    sums = np.array([y[list(c)].sum() for c in itertools.combinations(range(n), m)])
    d = y - y.mean()
    mu2, mu3 = np.mean(d**2), np.mean(d**3)
    assert np.isclose(sums.var(), m * mu2 * (n - m) / (n - 1))
    assert np.isclose(np.mean((sums - sums.mean()) ** 3), m * mu3 * (n - m) * (n - 2 * m) / ((n - 1) * (n - 2)))
    # on skewed values the upper tail is heavier than the normal one, never lighter
    z = np.array([3.0, 4.0, 5.0])
    p = pearson3_p(z, np.random.default_rng(0).poisson(0.1, 500).astype(float), np.full(3, 10.0))
    from scipy import stats

    assert (p > 2 * stats.norm.sf(z)).all()


def _planted(amount: float, background: float, seed: int = 1) -> tuple[gpd.GeoDataFrame, np.ndarray, list[int]]:
    v = grid_villages(NX, NX)
    y = np.random.default_rng(seed).poisson(background, len(v)).astype(float)
    block = [_grid_index(i, j) for j in range(8, 11) for i in range(8, 11)]
    y[block] = amount
    return v, y, block


def test_a_planted_cluster_is_a_hot_spot_at_99():
    v, y, _ = _planted(amount=3.0, background=0.1)
    hot = HotSpots.from_geodataframe(v, y).fit()
    classes = np.asarray(hot.classes_)
    assert classes[_grid_index(9, 9)] == "hot_99"
    assert hot.z_[_grid_index(9, 9)] > 5
    far = [_grid_index(i, j) for j in range(0, 4) for i in range(0, 4)]
    assert not np.char.startswith(classes[far].astype(str), "hot").any()
    assert hot.cuts_[0] <= hot.cuts_[1] <= hot.cuts_[2]  # stricter level, smaller cut-off


def test_a_planted_empty_area_among_busy_villages_is_a_cold_spot():
    v = grid_villages(NX, NX)
    y = np.random.default_rng(2).poisson(5.0, len(v)).astype(float)
    empty = [_grid_index(i, j) for j in range(7, 12) for i in range(7, 12)]
    y[empty] = 0.0
    hot = HotSpots.from_geodataframe(v, y).fit()
    classes = np.asarray(hot.classes_)
    assert classes[_grid_index(9, 9)] == "cold_99"
    assert hot.z_[_grid_index(9, 9)] < -5
    assert not np.char.startswith(classes.astype(str), "hot").any()


@pytest.mark.parametrize(
    "noise",
    [("poisson", 0.1), ("poisson", 1.0), ("gamma", 0.5)],
    ids=["sparse-counts", "counts", "skewed-continuous"],
)
def test_pure_noise_gives_almost_no_significant_village_after_fdr(noise):
    # Under pure noise every discovery is false, so the FDR equals the chance of any discovery: BH at level q
    # keeps it at or below q. Over 30 seeds: at most 10 % of the runs may mark any village at 90 %, at most
    # 1 run (1/30) at 99 %. The textbook normal p-values fail this on sparse counts (half the runs
    # had false hot_99 villages): the default skewness-corrected ones pass.
    v = grid_villages(30, 30)
    kind, param = noise
    runs_any_90 = runs_any_99 = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        y = rng.poisson(param, len(v)).astype(float) if kind == "poisson" else rng.gamma(param, 1.0, len(v))
        classes = np.asarray(HotSpots.from_geodataframe(v, y).fit().classes_).astype(str)
        runs_any_90 += bool((classes != "ns").any())
        runs_any_99 += bool(np.isin(classes, ["hot_99", "cold_99"]).any())
    assert runs_any_90 <= 3
    assert runs_any_99 <= 1


NL = 40  # long-tail grids: NL x NL villages
_CENTRES = [(cx, cy) for cy in (6, 20, 33) for cx in (6, 20, 33)]


def _long_tail_history(seed: int) -> np.ndarray:
    """Sparse incident counts, 9 planted hot spots (30 incidents each, sd 1 village) and 6 very busy lone villages."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(0.2, NL * NL).astype(float)
    for cx, cy in _CENTRES:
        x = np.clip(np.round(rng.normal(cx, 1.0, 30)), 0, NL - 1).astype(int)
        y = np.clip(np.round(rng.normal(cy, 1.0, 30)), 0, NL - 1).astype(int)
        np.add.at(counts, y * NL + x, 1.0)
    counts[rng.choice(NL * NL, 6, replace=False)] += 40.0  # the long tail: a few villages with 40 incidents, alone
    return counts


def _found(classes: np.ndarray) -> float:
    """Share of the planted centres that are, or have one of their 8 neighbours, hot at 95 %."""
    hot = np.isin(classes.astype(str), ["hot_95", "hot_99"]).reshape(NL, NL)
    return float(np.mean([hot[cy - 1 : cy + 2, cx - 1 : cx + 2].any() for cx, cy in _CENTRES]))


def test_planted_hot_spots_are_found_beside_very_busy_lone_villages():
    # The power the log transform buys (bench/bench_hotspots.py --history measures it at 83,000 villages): with
    # a few villages of 40 incidents each, Gi* of the raw counts finds none of the 9 planted hot spots (random
    # dealing puts a 40 somewhere too, so any total holding one looks ordinary); ln(1 + x / mean) finds them:
    # recall >= 0.8 on each of 5 seeds (measured: 1.0), and no lone busy village is marked at 95 % by itself (at 90 %,
    # where BH lets 10 % of the marks be false, 2 of the 30 are: their neighbours had background incidents too).
    v = grid_villages(NL, NL)
    raw = load_config(overrides={"hotspots": {"transform": "none"}})
    for seed in range(5):
        counts = _long_tail_history(seed)
        hot = HotSpots.from_geodataframe(v, counts).fit()
        assert _found(np.asarray(hot.classes_)) >= 0.8
        assert _found(np.asarray(HotSpots.from_geodataframe(v, counts, config=raw).fit().classes_)) < 0.2
        marked = np.isin(np.asarray(hot.classes_).astype(str), ["hot_95", "hot_99"]).reshape(NL, NL)
        near = np.zeros((NL, NL), dtype=bool)
        for cx, cy in _CENTRES:
            near[cy - 4 : cy + 5, cx - 4 : cx + 5] = True
        lone = (counts.reshape(NL, NL) >= 40) & ~near
        assert not (marked & lone).any()


def test_long_tailed_noise_gives_almost_no_hot_spot_after_the_log_transform():
    # Honest on noise with the same long tail: overdispersed counts (gamma-mixed Poisson) plus 6 villages of
    # 40 incidents, dealt at random. Every discovery is false: at most 2 of 20 runs may mark any village at 90 %.
    v = grid_villages(NL, NL)
    runs_any = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        noise = rng.poisson(rng.gamma(0.3, 1.0, NL * NL)).astype(float)
        noise[rng.choice(NL * NL, 6, replace=False)] += 40.0
        runs_any += bool((np.asarray(HotSpots.from_geodataframe(v, noise).fit().classes_) != "ns").any())
    assert runs_any <= 2


def test_normal_p_values_are_too_liberal_on_sparse_counts():
    # why the default is not esda's p_norm: the same sparse noise, textbook normal p-values
    v = grid_villages(30, 30)
    cfg = load_config(overrides={"hotspots": {"inference": "normal"}})
    false_99 = 0
    for seed in range(10):
        y = np.random.default_rng(seed).poisson(0.1, len(v)).astype(float)
        classes = np.asarray(HotSpots.from_geodataframe(v, y, config=cfg).fit().classes_).astype(str)
        false_99 += bool(np.isin(classes, ["hot_99"]).any())
    assert false_99 >= 3


def test_permutation_inference_counts_ties_on_both_sides():
    # esda's folded p_sim gives every all-zero neighbourhood of sparse data the smallest p-value: false cold spots
    v, y, _ = _planted(amount=3.0, background=0.1)
    cfg = load_config(overrides={"hotspots": {"inference": "permutation", "permutations": 199}})
    hot = HotSpots.from_geodataframe(v, y, config=cfg).fit()
    classes = np.asarray(hot.classes_).astype(str)
    assert not np.char.startswith(classes, "cold").any()
    assert hot.p_.min() >= 1 / 200
    again = HotSpots.from_geodataframe(v, y, config=cfg).fit()
    np.testing.assert_array_equal(hot.p_, again.p_)  # seeded


def _islands() -> gpd.GeoDataFrame:
    """Three archipelagos of small square villages plus lone one-village islands; no polygon touches another."""
    geoms = []
    for cx, cy in ((121.0, -10.0), (122.5, -9.0), (124.0, -8.5)):
        for i in range(4):
            for j in range(4):
                x, y = cx + 0.03 * i, cy + 0.03 * j
                geoms.append(box(x, y, x + 0.02, y + 0.02))
    geoms += [box(125.5, -9.5, 125.52, -9.48), box(119.0, -8.0, 119.02, -7.98)]
    return gpd.GeoDataFrame({"kode": [f"V{k}" for k in range(len(geoms))]}, geometry=geoms, crs=4326)


def test_island_villages_have_neighbours_and_get_a_class():
    v = _islands()
    tree = shapely.STRtree(v.geometry.values)
    touching = tree.query(v.geometry.values, predicate="intersects")
    assert (touching[0] == touching[1]).all()  # contiguity would leave every village alone
    graph = knn_weights(v, 8)
    adj = graph.sparse.toarray()
    assert (adj.sum(axis=1) - 1 >= 8).all()
    assert (adj == adj.T).all()
    y = np.zeros(len(v))
    y[:16] = np.random.default_rng(0).poisson(3.0, 16)  # the first archipelago is busy
    hot = HotSpots.from_geodataframe(v, y).fit()
    assert np.isfinite(hot.z_).all() and np.isin(np.asarray(hot.classes_), CLASSES).all()
    assert hot.z_[:16].mean() > 0 > hot.z_[16:].mean()


def test_weights_are_cached_per_boundary_set():
    v = grid_villages(9, 7)
    first = knn_weights(v, 8)
    assert knn_weights(v.copy(), 8) is first  # same boundaries, another frame: not rebuilt
    hot1 = HotSpots.from_geodataframe(v, np.arange(len(v), dtype=float)).fit()
    hot2 = HotSpots.from_geodataframe(v, np.arange(len(v), dtype=float)[::-1].copy()).fit()
    assert hot1.weights_ is first and hot2.weights_ is first
    assert knn_weights(v, 5) is not first  # another k
    moved = v.copy()
    moved.geometry = moved.geometry.translate(0.001, 0.0)
    assert knn_weights(moved, 8) is not first  # other boundaries
    for k in range(hotspots._MAX_WEIGHTS + 2):  # bounded
        knn_weights(grid_villages(3 + k, 3), 8)
    assert len(hotspots._WEIGHTS) <= hotspots._MAX_WEIGHTS


def test_all_zero_input_gives_ns_without_warnings():
    v = grid_villages(10, 10)
    values = pd.DataFrame({"campaign": np.zeros(len(v)), "voting": np.full(len(v), 2.5)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hot = HotSpots.from_geodataframe(v, values).fit()
    assert (hot.classes_ == "ns").all().all()
    assert (hot.z_ == 0).all().all() and (hot.p_ == 1).all().all()
    assert list(hot.classes_.columns) == ["campaign", "voting"]


def test_tiny_study_areas_do_not_crash():
    for n in (1, 2, 3, 5):
        v = grid_villages(n, 1)
        hot = HotSpots.from_geodataframe(v, np.arange(n, dtype=float)).fit()
        assert np.isin(np.asarray(hot.classes_), CLASSES).all() and np.isfinite(hot.z_).all()


def test_bad_settings_are_clear_errors():
    v = grid_villages(4, 4)
    for key, value in (
        ("k", 0),
        ("inference", "bootstrap"),
        ("variable", "count"),
        ("fdr_levels", [0.1, 0.05, 0.01]),
        ("transform", "sqrt"),
    ):
        cfg = load_config(overrides={"hotspots": {key: value}})
        with pytest.raises(RiskmapInputError) as err:
            HotSpots.from_geodataframe(v, np.arange(16.0), config=cfg).fit()
        assert f"hotspots.{key}" in err.value.message("id") and err.value.code == "config_hotspots"
        assert "default.toml" in err.value.message("en")


def test_labels_exist_in_both_languages():
    for code in CLASSES:
        for lang in ("id", "en"):
            text = i18n.t(f"hotspot_{code}", lang)
            assert text != f"hotspot_{code}" and text
    assert i18n.t("hotspot_hot_99", "id") == "Titik panas (99 %)"
    assert i18n.t("hotspot_cold_95", "en") == "Cold spot (95 %)"


# -- pipeline and exports ------------------------------------------------------------------------------


@pytest.fixture
def clustered(tmp_path) -> dict[str, str]:
    """12 x 12 villages, a TPS in each, incidents piled up in the south-west corner and a few elsewhere."""
    v = grid_villages(12, 12)
    vpath = tmp_path / "desa.geojson"
    v.to_file(vpath)
    tpath = tmp_path / "tps.csv"
    tps_rows(v).to_csv(tpath, index=False)
    corner = [_grid_index(i, j, 12) for j in range(3) for i in range(3)]
    specs = [(k, "supporter_clash", f"2024-11-{d:02d}") for k in corner for d in (1, 5, 9, 13)]
    specs += [(100, "protest", "2024-11-20"), (130, "intimidation", "2024-10-02")]
    specs.append((140, "supporter_clash", "2025-06-01"))  # after the as-of date below: never counted
    ipath = tmp_path / "insiden.csv"
    incident_rows(v, specs).to_csv(ipath, index=False)
    return {"villages": str(vpath), "tps": str(tpath), "incidents": str(ipath)}


def test_pipeline_villages_carry_hotspots_for_every_stage(clustered):
    result = pipeline.run(**clustered, as_of="2024-12-31")
    v = result.villages
    for stage in result.config.stages:
        assert isinstance(v[f"hotspot_{stage}"].dtype, pd.CategoricalDtype)
        assert set(v[f"hotspot_{stage}"].astype(str)) <= set(CLASSES)
        assert np.isfinite(v[f"hotspot_z_{stage}"]).all()
    assert result.hotspots is not None and result.hotspots.variable_ == "rate"  # a TPS file gives voters
    corner = _grid_index(1, 1, 12)
    assert v.loc[corner, "hotspot_campaign"] == "hot_99"
    assert v["hotspot_z_campaign"].idxmax() in [_grid_index(i, j, 12) for j in range(3) for i in range(3)]
    # the same incidents as the scores: hotspot values are the scores' rate_<stage>
    np.testing.assert_allclose(result.hotspots.z_["voting"], v["hotspot_z_voting"], atol=1e-4)
    late = result.villages.loc[140]
    assert late["incidents_campaign"] == 0  # the incident after the as-of date is left out of both


def test_hotspots_without_voters_use_the_incident_mass(clustered):
    result = pipeline.run(clustered["villages"], incidents=clustered["incidents"], as_of="2024-12-31")
    assert result.hotspots.variable_ == "mass"
    v = result.villages
    assert v.loc[_grid_index(1, 1, 12), "hotspot_campaign"] == "hot_99"
    again = pipeline.run(clustered["villages"], incidents=clustered["incidents"], as_of="2024-11-06")
    # an earlier as-of date: only the incidents known then (two per corner village, not the protest of 11-20)
    assert v.loc[100, "incidents_counting"] > 0 and again.villages.loc[100, "incidents_counting"] == 0
    assert not np.allclose(again.villages["hotspot_z_campaign"], v["hotspot_z_campaign"])


def test_geojson_export_reads_back_with_hotspot_codes(clustered, tmp_path):
    result = pipeline.run(**clustered, as_of="2024-12-31")
    written = export_layers(result, tmp_path / "out", layer="villages", fmt="geojson")
    back = gpd.read_file(written[0])
    for stage in result.config.stages:
        assert set(back[f"hotspot_{stage}"]) <= set(CLASSES)
        np.testing.assert_allclose(back[f"hotspot_z_{stage}"], result.villages[f"hotspot_z_{stage}"], atol=1e-4)
    assert (back["hotspot_campaign"] == result.villages["hotspot_campaign"].astype(str).to_numpy()).all()
    assert "hot_99" in set(back["hotspot_campaign"])


@pytest.mark.parametrize("fmt", ["csv", "gpkg", "parquet"])
def test_other_exports_carry_the_codes(clustered, tmp_path, fmt):
    result = pipeline.run(**clustered, as_of="2024-12-31")
    written = export_layers(result, tmp_path / "out", layer="villages", fmt=fmt, stage="campaign")
    path = written[0]
    if fmt == "csv":
        back = pd.read_csv(path, encoding="utf-8-sig")
    elif fmt == "parquet":
        back = gpd.read_parquet(path)
    else:
        back = gpd.read_file(path, layer="villages")
    assert set(back["hotspot_campaign"].astype(str)) <= set(CLASSES)
    assert "hotspot_voting" not in back and "hotspot_z_voting" not in back  # --stage keeps one stage
    assert "hotspot_z_campaign" in back


def test_xlsx_export_explains_the_codes_in_the_chosen_language(clustered, tmp_path):
    from openpyxl import load_workbook

    result = pipeline.run(**clustered, as_of="2024-12-31")
    for lang, label in (("id", "Titik panas (99 %)"), ("en", "Hot spot (99 %)")):
        (path,) = export_layers(result, tmp_path / lang, layer="villages", fmt="xlsx", lang=lang)
        book = load_workbook(path, read_only=True)
        readme = [tuple(r) for r in book[book.sheetnames[-1]].iter_rows(values_only=True)]
        assert ("hot_99", label) in readme
        header = next(book["villages"].iter_rows(values_only=True))
        assert "hotspot_campaign" in header


def test_shapefile_field_names_for_hotspots():
    names = shp_field_names(["hotspot_voting", "hotspot_z_voting", "hotspot_campaign"], load_config().stages)
    assert names == {"hotspot_voting": "hs_voting", "hotspot_z_voting": "hz_voting", "hotspot_campaign": "hs_campaig"}


def test_saddlepoint_inference_keeps_the_fdr_and_finds_a_planted_cluster():
    cfg = load_config(overrides={"hotspots": {"inference": "saddlepoint"}})
    v = grid_villages(30, 30)
    runs_any = 0
    for seed in range(20):
        y = np.random.default_rng(seed).gamma(0.3, 1.0, len(v))
        runs_any += bool((np.asarray(HotSpots.from_geodataframe(v, y, config=cfg).fit().classes_) != "ns").any())
    assert runs_any <= 2  # at most 10 % of pure-noise runs mark anything at 90 %
    v, y, _ = _planted(amount=3.0, background=0.1)
    assert np.asarray(HotSpots.from_geodataframe(v, y, config=cfg).fit().classes_)[_grid_index(9, 9)] == "hot_99"
