"""Post placement checked against brute force on small instances."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from riskmap.config import load_config
from riskmap.joins import haversine_m
from riskmap.posts import _share_posts, candidate_sites
from riskmap.posts import place_posts as _place_posts

_POSTS = load_config().data["posts"]


def place_posts(tps, sites, stage, **kw):
    """Placement with the configured time limit and split threshold unless a test sets them."""
    kw.setdefault("time_limit_s", _POSTS["time_limit_cli_s"])
    kw.setdefault("max_pairs", _POSTS["max_pairs"])
    return _place_posts(tps, sites, stage, **kw)


def _instance(seed: int, n_tps: int = 14, n_sites: int = 7):
    rng = np.random.default_rng(seed)
    lon = 123.55 + rng.uniform(0, 0.06, n_tps)
    lat = -10.20 + rng.uniform(0, 0.06, n_tps)
    risk = np.round(rng.uniform(5, 80, n_tps), 2)
    level = np.where(risk >= 55, "sangat_rawan", np.where(risk >= 40, "rawan", "kurang_rawan"))
    tps = gpd.GeoDataFrame(
        {
            "tps_id": [f"T{i}" for i in range(n_tps)],
            "village_name": "X",
            "district": "D",
            "risk_voting": risk,
            "level_voting": level,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{j}" for j in range(n_sites)], "name": "s", "kind": "village"},
        geometry=gpd.points_from_xy(123.55 + rng.uniform(0, 0.06, n_sites), -10.20 + rng.uniform(0, 0.06, n_sites)),
        crs=4326,
    )
    d = haversine_m(
        lon[:, None], lat[:, None], sites.geometry.x.to_numpy()[None, :], sites.geometry.y.to_numpy()[None, :]
    )
    return tps, sites, d, risk, level


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_maximal_covering_matches_brute_force(seed):
    tps, sites, d, risk, _ = _instance(seed)
    radius, p = 1800.0, 2
    best = max(risk[(d[:, list(c)] <= radius).any(axis=1)].sum() for c in itertools.combinations(range(len(sites)), p))
    plan = place_posts(tps, sites, "voting", radius_m=radius, p=p)
    got = risk[plan.tps["covered"].to_numpy()].sum()
    assert got == pytest.approx(best)
    assert plan.candidate_sites["chosen"].sum() == p
    assert plan.summary["all_proven_optimal"]


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_set_covering_matches_brute_force(seed):
    tps, sites, d, _, level = _instance(seed)
    radius = 1800.0
    high = np.isin(level, ["rawan", "sangat_rawan"])
    coverable = high & (d <= radius).any(axis=1)
    best = next(
        k
        for k in range(0, len(sites) + 1)
        if any(
            (d[coverable][:, list(c)] <= radius).any(axis=1).all() for c in itertools.combinations(range(len(sites)), k)
        )
    )
    plan = place_posts(tps, sites, "voting", radius_m=radius)
    assert plan.candidate_sites["chosen"].sum() == best
    covered = plan.tps["covered"].to_numpy()
    assert covered[coverable].all()
    assert sorted(plan.summary["high_risk_uncovered"]) == sorted(tps.loc[high & ~coverable, "tps_id"])


def test_split_by_area_and_share_of_posts():
    tps, sites, *_ = _instance(7, n_tps=30, n_sites=8)
    tps["regency"] = np.where(np.arange(30) < 20, "Kab A", "Kab B")
    plan = place_posts(tps, sites, "voting", radius_m=1500, p=3, max_pairs=10)
    assert set(plan.solves["area"]) == {"Kab A", "Kab B"}
    assert plan.solves["posts"].sum() <= 3
    assert _share_posts(5, np.array([4.0, 1.0]), np.array([10, 10])).tolist() == [4, 1]
    # an area with fewer distinct sites than its share passes the rest on
    assert _share_posts(5, np.array([4.0, 1.0]), np.array([2, 10])).tolist() == [2, 3]
    assert _share_posts(50, np.array([4.0, 1.0]), np.array([2, 3])).tolist() == [2, 3]


def test_candidate_sites_from_posts_and_villages():
    from riskmap import pipeline

    r = pipeline.run()
    sites = candidate_sites(r.villages, r.layers.posts)
    assert len(sites) == 51 + 17
    assert set(sites["kind"]) == {"village", "post"}
    assert pd.Series(sites["site_id"]).is_unique


def test_greedy_fallback_is_feasible():
    """When CBC stops before any solution, the greedy sites are used: p sites, or every demand covered."""
    from riskmap.posts import _greedy

    rng = np.random.default_rng(9)
    cover = [np.unique(rng.integers(0, 12, rng.integers(1, 4))) for _ in range(30)]
    weights = rng.uniform(1, 10, 30)
    picked = _greedy(cover, weights, 12, 3)
    assert picked.sum() == 3
    best = max(
        sum(w for c, w in zip(cover, weights, strict=True) if set(c) & set(combo))
        for combo in itertools.combinations(range(12), 3)
    )
    got = sum(w for c, w in zip(cover, weights, strict=True) if picked[c].any())
    assert got >= (1 - 1 / np.e) * best  # the greedy guarantee
    every = _greedy(cover, weights, 12, None)
    assert all(every[c].any() for c in cover)
