"""Spatial joins: distances in metres anywhere in Indonesia, neighbours, names."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from riskmap.joins import _place_name, haversine_m, points_within, village_neighbours
from riskmap.testing import grid_villages


def _points(lonlat):
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(*zip(*lonlat, strict=True)), crs=4326)


@pytest.mark.parametrize("lon, lat", [(95.3, 5.55), (106.8, -6.2), (123.6, -10.17), (140.7, -2.5)])
def test_radius_is_metres_everywhere(lon, lat):
    """From Banda Aceh to Jayapura: 990 m is in, 1010 m is out, in any direction."""
    dlat = 1 / 111_195  # degrees per metre on the meridian (mean Earth radius)
    dlon = dlat / np.cos(np.radians(lat))
    target = _points([(lon, lat)])
    pts = _points(
        [
            (lon, lat + 990 * dlat),
            (lon, lat + 1010 * dlat),
            (lon + 990 * dlon, lat),
            (lon - 1010 * dlon, lat),
            (lon + 700 * dlon, lat + 700 * dlat),
        ]
    )
    pairs = points_within(target, pts, 1000.0)
    assert sorted(pairs["incident"]) == [0, 2, 4]
    assert pairs["distance_m"].max() < 1000


def test_pairs_match_brute_force():
    rng = np.random.default_rng(3)
    a = _points(list(zip(rng.uniform(123.5, 123.7, 200), rng.uniform(-10.25, -10.1, 200), strict=True)))
    b = _points(list(zip(rng.uniform(123.5, 123.7, 300), rng.uniform(-10.25, -10.1, 300), strict=True)))
    pairs = points_within(a, b, 1500.0)
    ax, ay = a.geometry.x.to_numpy(), a.geometry.y.to_numpy()
    bx, by = b.geometry.x.to_numpy(), b.geometry.y.to_numpy()
    d = haversine_m(ax[:, None], ay[:, None], bx[None, :], by[None, :])
    expected = set(zip(*np.nonzero(d <= 1500.0), strict=True))
    assert set(zip(pairs["target"], pairs["incident"], strict=True)) == expected


@pytest.mark.parametrize("threads", ["1", "3"])
def test_threaded_joins_match_single_pass(monkeypatch, threads):
    """Split over threads (tiny chunks), the joins give the brute-force answer, in the same order."""
    from riskmap import joins

    monkeypatch.setenv("RISKMAP_THREADS", threads)
    monkeypatch.setattr(joins, "MIN_CHUNK_TARGETS", 10)
    monkeypatch.setattr(joins, "MIN_CHUNK_POLYGONS", 2)
    rng = np.random.default_rng(5)
    a = _points(list(zip(rng.uniform(123.5, 123.7, 120), rng.uniform(-10.25, -10.1, 120), strict=True)))
    b = _points(list(zip(rng.uniform(123.5, 123.7, 90), rng.uniform(-10.25, -10.1, 90), strict=True)))
    pairs = joins.points_within(a, b, 2500.0)
    ax, ay = a.geometry.x.to_numpy(), a.geometry.y.to_numpy()
    bx, by = b.geometry.x.to_numpy(), b.geometry.y.to_numpy()
    d = haversine_m(ax[:, None], ay[:, None], bx[None, :], by[None, :])
    t, i = np.nonzero(d <= 2500.0)  # row-major: ordered by target, then incident
    assert pairs["target"].tolist() == t.tolist() and pairs["incident"].tolist() == i.tolist()
    np.testing.assert_allclose(pairs["distance_m"], d[t, i], rtol=1e-9)

    villages = grid_villages(4, 3, origin=(123.5, -10.25), size_deg=0.04)
    p_idx, v_idx = joins.points_in_polygons(a.geometry.to_numpy(), villages.geometry.to_numpy())
    assert len(p_idx) > 60 and len(set(v_idx)) == 12
    expected = villages.sindex.query(a.geometry.to_numpy(), predicate="within")
    assert sorted(zip(p_idx, v_idx, strict=True)) == sorted(zip(*expected, strict=True))


def test_haversine_known_distance():
    # one degree of latitude on the mean sphere
    assert haversine_m(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))[0] == pytest.approx(
        111_195, rel=1e-4
    )


def test_neighbours_are_nearest_and_capped():
    v = grid_villages(3, 3)
    nb = village_neighbours(v, k=4, max_km=1.2)
    centre = nb[nb["village"] == 4]
    assert sorted(centre["neighbour"]) == [1, 3, 5, 7]  # the four edge neighbours, ~1.1 km
    corner = nb[nb["village"] == 0]
    assert sorted(corner["neighbour"]) == [1, 3]  # diagonals are ~1.56 km: beyond the cap
    assert (nb["village"] != nb["neighbour"]).all()


def test_place_names_compare_without_prefixes():
    names = pd.Series(["Kel. Oebobo", "DESA  NUNBAUN SABU", "Kelurahan Fatululi", "Oebobo", "Desapuk"])
    assert list(_place_name(names)) == ["oebobo", "nunbaun_sabu", "fatululi", "oebobo", "desapuk"]
