"""The fitted scoring method (``[scoring] method = "fitted"``), its kernel fields and its additive GLM."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely

from riskmap import pipeline
from riskmap.config import load_config
from riskmap.glm import fit_additive
from riskmap.kernel import KernelField, exact_sum, field
from riskmap.scoring import FITTED_FACTORS, RiskModel
from riskmap.testing import grid_villages, incident_history

STAGES = ["campaign", "voting", "counting", "recap"]
AS_OF = dt.date(2019, 12, 31)


def _config(method: str = "fitted"):
    cfg = load_config()
    cfg = copy.deepcopy(cfg)
    cfg.data["scoring"]["method"] = method
    return cfg


@pytest.fixture(scope="module")
def grid():
    return grid_villages(20, 20, size_deg=0.02, district_every=10)


@pytest.fixture(scope="module")
def history(grid):
    return incident_history(grid, start="2015-01-01", end="2020-12-31", seed=3)


@pytest.fixture(scope="module")
def layers(tmp_path_factory, grid, history):
    root = tmp_path_factory.mktemp("fitted")
    grid.to_file(root / "desa.geojson")
    history.to_csv(root / "insiden.csv")
    return pipeline.load(root / "desa.geojson", None, root / "insiden.csv")


@pytest.fixture(scope="module")
def fitted(layers):
    return pipeline.score(layers, _config(), as_of=AS_OF)


# ----------------------------------------------------------------------------------------- kernel
def test_kernel_field_matches_the_exact_sum_and_only_adds_new_columns() -> None:
    rng = np.random.default_rng(0)
    t_lon, t_lat = rng.uniform(120, 121, 400), rng.uniform(-10, -9, 400)
    s_lon, s_lat, w = rng.uniform(120, 121, 200), rng.uniform(-10, -9, 200), rng.uniform(0, 1, 200)
    f = KernelField(t_lon, t_lat, 10.0)
    first = f(s_lon[:100], s_lat[:100], w[:100])
    cols = f._n_cols
    again = f(s_lon[:100], s_lat[:100], w[:100])
    assert f._n_cols == cols  # nothing recomputed
    np.testing.assert_allclose(again, first)
    both = f(s_lon, s_lat, np.column_stack([w, 2 * w]))
    exact = exact_sum(s_lon, s_lat, w, t_lon, t_lat, 10.0)
    assert np.abs(both[:, 0] - exact).max() < 0.04 * exact.max()
    np.testing.assert_allclose(both[:, 1], 2 * both[:, 0])
    assert field(t_lon, t_lat, 10.0) is field(t_lon.copy(), t_lat.copy(), 10.0)  # cached by value


# -------------------------------------------------------------------------------------------- glm
def test_additive_fit_recovers_non_negative_weights() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.gamma(1.0, 1.0, 60_000), rng.gamma(1.0, 1.0, 60_000), np.ones(60_000)])
    true = np.array([0.3, 0.0, 0.05])
    y = rng.poisson(x @ true)
    beta = fit_additive(x, y)
    assert (beta >= 0).all()
    np.testing.assert_allclose(beta, true, atol=0.02)
    gamma = fit_additive(x, y, binary=True)  # P(y > 0) = 1 - exp(-x gamma): the same weights for Poisson data
    np.testing.assert_allclose(gamma, true, atol=0.02)
    assert (fit_additive(x, np.zeros(len(x))) == 0).all()


# ----------------------------------------------------------------------------------------- method
def test_contributions_add_up_and_probabilities_are_probabilities(fitted) -> None:
    v = fitted.villages
    for stage in STAGES:
        cols = [f"contrib_{stage}_{f}" for f in FITTED_FACTORS if f"contrib_{stage}_{f}" in v]
        assert cols and "contrib_" + stage + "_spillover" in cols
        np.testing.assert_allclose(v[cols].sum(axis=1), v[f"risk_{stage}"], atol=0.05)
        p = v[f"p_incident_{stage}"]
        assert ((p >= 0) & (p <= 1)).all()
        np.testing.assert_allclose(v[f"risk_{stage}"], 100 * p, atol=0.006)
        assert (v[f"expected_{stage}"] >= 0).all()
        assert v[f"risk_{stage}"].nunique() > len(v) // 2  # no mass of ties at zero
    coef = fitted.model.coefficients_
    assert (coef[["weight_p", "weight_expected"]] >= 0).all().all()


def test_fit_uses_only_the_past(layers, fitted) -> None:
    inc = layers.incidents
    # incidents after the as-of date are replaced by a burst somewhere else: nothing may move
    later = inc[inc["date"] > pd.Timestamp(AS_OF)].copy()
    later["village_idx"] = 0
    later["geometry"] = [layers.villages.geometry.iloc[0].centroid] * len(later)
    moved = pd.concat([inc[inc["date"] <= pd.Timestamp(AS_OF)], later])
    import dataclasses

    other = pipeline.score(dataclasses.replace(layers, incidents=moved), _config(), as_of=AS_OF)
    pd.testing.assert_frame_equal(other.model.coefficients_, fitted.model.coefficients_)
    pd.testing.assert_series_equal(other.villages["risk_voting"], fitted.villages["risk_voting"])
    # the features of a past fitting date ignore incidents after that date
    model = RiskModel(layers.villages, None, inc, config=_config(), as_of=AS_OF)
    model.as_of_ = AS_OF
    scope = inc[inc["date"] <= pd.Timestamp(AS_OF)]
    feats = model._fitted_features(scope, STAGES, np.zeros(len(layers.villages)), False)
    d1 = pd.Timestamp(AS_OF) - pd.DateOffset(months=12)
    early = scope[scope["date"] <= d1]
    feats_early = model._fitted_features(early, STAGES, np.zeros(len(layers.villages)), False)
    for name, values in feats["features"][(1, "voting")].items():
        np.testing.assert_allclose(values, feats_early["features"][(1, "voting")][name], err_msg=name)
    assert feats["targets"][(1, "voting")].sum() > 0


def test_planted_hot_spot_neighbours_rank_high(grid, history, fitted) -> None:
    v = fitted.villages
    centre = shapely.centroid(grid.geometry.to_numpy())
    xy = np.column_stack([shapely.get_x(centre), shapely.get_y(centre)])
    rank = v["risk_campaign"].rank(pct=True).to_numpy()
    for h in history.hot_spots:
        d = np.hypot(*(xy - xy[h]).T)
        ring = np.flatnonzero((d > 0) & (d < 0.025))  # the 4 adjacent villages (0.02 degrees apart)
        assert np.median(rank[ring]) > 0.8, (h, rank[ring])


def test_probability_is_calibrated_on_the_next_window(layers, fitted) -> None:
    inc = layers.incidents
    nxt = inc[
        (inc["date"] > pd.Timestamp(AS_OF))
        & (inc["date"] <= pd.Timestamp(AS_OF) + pd.DateOffset(months=12))
        & (inc["precision"] != "region")
        & (inc["village_idx"] >= 0)
    ]
    rel = nxt["type"].map(fitted.config.stage_weights("campaign")).fillna(0) > 0
    hit = np.bincount(nxt.loc[rel, "village_idx"], minlength=len(layers.villages)) > 0
    p = fitted.villages["p_incident_campaign"].to_numpy()
    order = np.argsort(p, kind="stable")
    for part in np.array_split(order, 5):  # quintiles of predicted probability
        assert abs(p[part].mean() - hit[part].mean()) < 0.12, (p[part].mean(), hit[part].mean())
    assert abs(p.mean() - hit.mean()) < 0.06


def test_index_method_reproduces_the_hand_set_scores() -> None:
    """Figures of riskmap 0.1 on the demo (computed with the code before the fitted method existed)."""
    res = pipeline.run(config=_config("index"))
    v = res.villages
    expected = {
        "campaign": (1826.74, [33.95, 26.59, 31.39, 37.84, 36.75]),
        "voting": (1281.96, [19.5, 20.77, 32.6, 30.83, 26.06]),
        "counting": (1325.04, [20.71, 21.38, 37.58, 31.5, 26.28]),
        "recap": (1643.47, [24.9, 26.72, 46.32, 34.98, 28.47]),
    }
    for stage, (total, head) in expected.items():
        assert round(float(v[f"risk_{stage}"].sum()), 2) == total
        assert v[f"risk_{stage}"].head(5).tolist() == head
        assert f"p_incident_{stage}" not in v
    assert round(float(res.tps["risk_voting"].sum()), 2) == 14379.15


def test_fitted_method_scores_the_demo_with_tps(tmp_path) -> None:
    res = pipeline.run(config=_config())
    v, t = res.villages, res.tps
    for stage in STAGES:
        assert f"contrib_{stage}_exposure" in v  # voters are exposure when TPS are loaded
        assert ((t[f"risk_{stage}"] >= 0) & (t[f"risk_{stage}"] <= 100)).all()
    code = v["village_code"].iloc[0]
    exp = res.model.explain(code, "voting")
    assert abs(exp.factors["points"].sum() - exp.score) < 0.1


def test_quiet_recent_years_fit_on_older_windows() -> None:
    """The demo has no incident in 2020-2022: the fit goes further back instead of scoring every village 0."""
    res = pipeline.run(config=_config(), as_of="2022-12-31")
    risk = res.villages["risk_voting"]
    assert risk.gt(0).all() and risk.nunique() > 10
    assert risk.max() < 40  # three quiet years weigh in: a low probability, not the busy years' level
    cfg = _config()
    cfg.data["scoring"]["fitted"]["fit_windows_max"] = 3  # not allowed to go back: nothing to fit on
    assert pipeline.run(config=cfg, as_of="2022-12-31").villages["risk_voting"].eq(0).all()


def test_own_village_term_is_a_density_count_or_absent(layers) -> None:
    inc = layers.incidents[layers.incidents["date"] <= pd.Timestamp(AS_OF)]
    area = layers.villages["area_km2"].to_numpy(dtype=float)
    out = {}
    for mode in ("density", "count", "none"):
        cfg = _config()
        cfg.data["scoring"]["fitted"]["own_village"] = mode
        model = RiskModel(layers.villages, None, inc, config=cfg, as_of=AS_OF)
        model.as_of_ = AS_OF
        out[mode] = model._fitted_features(inc, STAGES, np.zeros(len(area)), False)["features"][(0, "voting")]
    assert not any(name.startswith("own_") for name in out["none"])
    own = [name for name in out["count"] if name.startswith("own_")]
    assert own and set(own) <= set(out["density"])
    for name in own:
        assert out["count"][name].sum() > 0
        np.testing.assert_allclose(out["density"][name], out["count"][name] * np.median(area) / area)
    kernels = [name for name in out["count"] if name.startswith("kernel_")]
    for name in kernels:  # the kernels do not depend on the mode
        np.testing.assert_allclose(out["density"][name], out["count"][name])


def test_severity_weighting_is_an_option(layers) -> None:
    inc = layers.incidents[layers.incidents["date"] <= pd.Timestamp(AS_OF)]
    feats = {}
    for weighted in (False, True):
        cfg = _config()
        cfg.data["scoring"]["fitted"]["severity_weighted"] = weighted
        cfg.data["scoring"]["fitted"]["own_village"] = "count"
        model = RiskModel(layers.villages, None, inc, config=cfg, as_of=AS_OF)
        model.as_of_ = AS_OF
        feats[weighted] = model._fitted_features(inc, STAGES, np.zeros(len(layers.villages)), False)["features"]
    name = "own_100000d"
    plain, weighted = feats[False][(0, "campaign")][name], feats[True][(0, "campaign")][name]
    assert plain.sum() > 0 and not np.allclose(plain, weighted)
    # unweighted: the own term is the relevance- and precision-weighted, barely decayed number of incidents
    assert plain.max() <= inc["village_idx"].value_counts().max() + 1e-9


def test_auto_fits_when_the_past_has_enough_incidents_else_uses_the_index(layers) -> None:
    model = RiskModel(layers.villages, None, layers.incidents, config=_config(), as_of=AS_OF)
    model.as_of_ = AS_OF
    scope = layers.incidents[layers.incidents["date"] <= pd.Timestamp(AS_OF)]
    feats = model._fitted_features(scope, STAGES, np.zeros(len(layers.villages)), False)
    positives = np.median([sum(int((feats["targets"][(k, s)] > 0).sum()) for k in feats["usable"]) for s in STAGES])
    weights = len(feats["features"][(0, STAGES[0])]) + 1  # + the background
    fitted = pipeline.score(layers, _config("fitted"), as_of=AS_OF)
    index = pipeline.score(layers, _config("index"), as_of=AS_OF)
    for per_weight, method, twin in (
        (positives / weights - 0.5, "fitted", fitted),
        (positives / weights + 1, "index", index),
    ):
        auto = _config("auto")
        auto.data["scoring"]["auto_events_per_weight"] = per_weight
        result = pipeline.score(layers, auto, as_of=AS_OF)
        assert result.model.method_ == method
        assert ("p_incident_voting" in result.villages) == (method == "fitted")
        pd.testing.assert_series_equal(result.villages["risk_voting"], twin.villages["risk_voting"])
    # the default rule (10 villages with an incident per weight) keeps this small history on the index
    assert positives < 10 * weights and pipeline.score(layers, _config("auto"), as_of=AS_OF).model.method_ == "index"


def test_a_backtest_computes_the_features_of_each_date_once(layers, monkeypatch) -> None:
    """Quarterly cutoffs share their fitting dates: each date's features are computed once, then reused."""
    from riskmap import scoring
    from riskmap.backtest import Backtest

    scoring._FEATURE_CACHE.clear()
    asked: list[str] = []
    computed: list[str] = []
    real_digest = RiskModel._feature_digest

    def recording_digest(self, *args, **kwargs):
        digest = real_digest(self, *args, **kwargs)
        asked.append(digest)
        if digest not in scoring._FEATURE_CACHE:
            computed.append(digest)
        return digest

    monkeypatch.setattr(RiskModel, "_feature_digest", recording_digest)
    cutoffs = [(pd.Timestamp("2017-01-01") + pd.DateOffset(months=3 * k)).date() for k in range(12)]
    Backtest.from_layers(layers, _config(), cutoffs=cutoffs, window="12M").fit()
    assert len(asked) > len(set(asked)) > 16  # more dates than the usual cache holds, each asked for repeatedly
    assert sorted(computed) == sorted(set(asked))  # ... and computed once
    assert len(scoring._FEATURE_CACHE) <= scoring._FEATURE_CACHE_SIZE == 16  # trimmed back afterwards
