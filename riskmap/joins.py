"""Spatial joins: points to villages, incidents near TPS, village neighbours.

Point-in-polygon runs in EPSG:4326 (edges are defined in lon/lat, so the test
is exact). Distances are great-circle metres, correct anywhere in Indonesia:
points become unit vectors in 3D and k-d trees find the pairs whose chord is
within the radius's chord, which is the same set as a haversine filter. No
single UTM/TM-3 zone and no projection is assumed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from riskmap._threads import chunks, thread_map
from riskmap.io._columns import norm_series
from riskmap.io._read import ROW_COLUMN
from riskmap.io.report import LayerReport

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

MIN_CHUNK_POLYGONS = 2_000
"""Polygons per thread in :func:`points_in_polygons` (smaller inputs run in one thread)."""
MIN_CHUNK_TARGETS = 50_000
"""Targets per thread in :func:`points_within`."""


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between points given in degrees."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _fmt(v: float) -> str:
    return f"{v:.6f}"


def points_in_polygons(points: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positional ``(point, polygon)`` pairs where the point lies inside the polygon.

    Same answer as ``STRtree(polygons).query(points, predicate="within")``
    (a point on an edge is in neither polygon), computed the fast way round
    for many points: the index is built on the points, each polygon is
    prepared once and queried with ``contains``, and the polygons are split
    over threads (GEOS releases the GIL).

    Parameters
    ----------
    points, polygons
        Shapely geometry arrays in the same CRS.
    """
    tree = shapely.STRtree(points)

    def run(part: slice) -> tuple[np.ndarray, np.ndarray]:
        v, p = tree.query(polygons[part], predicate="contains")
        return p, v + part.start

    found = thread_map(run, chunks(len(polygons), MIN_CHUNK_POLYGONS))
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


def assign_villages(
    points: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    report: LayerReport,
    *,
    keep_unmatched: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Add ``village_code`` (and ``village_idx``) to points by point-in-polygon.

    Points in no village are rejected in ``report`` (reason ``no_village``)
    unless ``keep_unmatched`` marks them (region-precision incidents). A point
    in the overlap of two polygons, or exactly on the edge between two, takes
    the village its record names, else the lowest code, with a warning. For
    points whose record names a village (``named_village_code`` or
    ``named_village``), a different polygon gives a ``village_mismatch``
    warning; the point's polygon is used.

    Parameters
    ----------
    points
        EPSG:4326 points with a ``_row`` column.
    villages
        Canonical villages (EPSG:4326), indexed 0..n-1.
    report
        The points' layer report; rejections are added and ``used`` updated.
    keep_unmatched
        Boolean mask over ``points``: keep these even when in no village.

    Returns
    -------
    GeoDataFrame
        The kept points with ``village_idx`` (-1 where none) and
        ``village_code`` ("" where none), index reset.
    """
    left = points.reset_index(drop=True)
    p_idx, v_idx = points_in_polygons(left.geometry.to_numpy(), villages.geometry.to_numpy())
    inside = np.zeros(len(left), dtype=bool)
    inside[p_idx] = True
    if not inside.all():  # on an edge: in the villages it touches (one is chosen below)
        rest = np.flatnonzero(~inside)
        e_p, e_v = villages.sindex.query(left.geometry.to_numpy()[rest], predicate="intersects")
        p_idx, v_idx = np.concatenate([p_idx, rest[e_p]]), np.concatenate([v_idx, e_v])
    pairs = pd.DataFrame({"p": p_idx, "v": v_idx})
    codes = villages["village_code"].to_numpy()
    if pairs["p"].duplicated().any():  # overlap slivers: choose one village per point
        named = left["named_village_code"].to_numpy() if "named_village_code" in left else None
        pairs["named"] = (codes[pairs["v"]] == named[pairs["p"]]) if named is not None else False
        pairs["code"] = codes[pairs["v"]]
        counts = pairs.groupby("p").size()
        pairs = pairs.sort_values(["p", "named", "code"], ascending=[True, False, True]).drop_duplicates("p")
        multi = counts[counts > 1]
        chosen = pairs.set_index("p").loc[multi.index, "v"]
        report.warn_frame(
            left.loc[multi.index, ROW_COLUMN],
            "ambiguous_village",
            n=list(multi.to_numpy()),
            found=list(villages["village_name"].to_numpy()[chosen.to_numpy()]),
        )
    village_idx = np.full(len(left), -1, dtype=np.int64)
    village_idx[pairs["p"].to_numpy()] = pairs["v"].to_numpy()
    unmatched = village_idx < 0
    if keep_unmatched is not None:
        unmatched &= ~np.asarray(keep_unmatched)
    if unmatched.any():
        rows = left.loc[unmatched, ROW_COLUMN]
        report.reject_frame(
            rows,
            "no_village",
            lat=[_fmt(v) for v in left.geometry.y[unmatched]],
            lon=[_fmt(v) for v in left.geometry.x[unmatched]],
        )
        report.used -= int(unmatched.sum())
    out = left.loc[~unmatched].copy()
    out["village_idx"] = village_idx[~unmatched]
    out["village_code"] = np.where(out["village_idx"] >= 0, codes[np.maximum(out["village_idx"], 0)], "")
    _check_named(out, villages, report)
    report.check()
    return out.reset_index(drop=True)


_PLACE_PREFIX = r"^(?:kelurahan|kel|desa|ds|kampung|kp|nagari|gampong)_"


def _place_name(names: pd.Series) -> np.ndarray:
    """Names for comparison: normalised, without a "Kel." / "Desa" prefix."""
    codes, uniques = pd.factorize(names, use_na_sentinel=False)
    normal = norm_series(pd.Series(uniques)).str.replace(_PLACE_PREFIX, "", regex=True).to_numpy()
    return normal[codes]


def _check_named(points: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, report: LayerReport) -> None:
    """Warn where a point's polygon differs from the village its record names.

    A record naming a known village code is compared by code (as integer
    positions, no string work per row); otherwise by normalised name, only for
    the rows that carry one.
    """
    if "named_village_code" not in points and "named_village" not in points:
        return
    idx = points["village_idx"].to_numpy()
    has = idx >= 0
    n = len(points)
    named_code = points["named_village_code"] if "named_village_code" in points else pd.Series("", index=points.index)
    named_pos = pd.Index(villages["village_code"]).get_indexer(named_code)
    by_code = named_pos >= 0
    mismatch = has & by_code & (named_pos != idx)
    rest = has & ~by_code
    if "named_village" in points and rest.any():
        names = points["named_village"]
        rows = np.flatnonzero(rest & (names != "").to_numpy())
        if len(rows):
            norm_found = _place_name(villages["village_name"])[idx[rows]]
            norm_named = _place_name(names.iloc[rows].reset_index(drop=True))
            differs = np.zeros(n, dtype=bool)
            differs[rows] = norm_named != norm_found
            mismatch |= differs
    if mismatch.any():
        found_name = villages["village_name"].to_numpy()[idx[mismatch]]
        labels = np.where(
            by_code[mismatch],
            named_code.to_numpy()[mismatch],
            points["named_village"].to_numpy()[mismatch] if "named_village" in points else "",
        )
        report.warn_frame(
            points.loc[mismatch, ROW_COLUMN], "village_mismatch", named=list(labels), found=list(found_name)
        )


def points_within(
    targets: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    radius_m: float,
) -> pd.DataFrame:
    """All (target, incident) pairs no farther apart than ``radius_m`` metres.

    Distances are great-circle metres on a sphere of radius
    :data:`EARTH_RADIUS_M` (the haversine distance), exact anywhere in
    Indonesia: points become unit vectors in 3D, the pairs within chord
    ``c = 2 sin(r / 2R)`` come from k-d trees, and each chord converts back to
    ``d = 2R asin(c / 2)``. Targets are split over threads when there are many.

    Parameters
    ----------
    targets, incidents
        EPSG:4326 points, indexed 0..n-1.
    radius_m
        Great-circle radius in metres.

    Returns
    -------
    DataFrame
        Columns ``target`` and ``incident`` (positional indices) and
        ``distance_m``, ordered by target.
    """
    if len(targets) == 0 or len(incidents) == 0:
        return pd.DataFrame(
            {
                "target": np.array([], dtype=np.int64),
                "incident": np.array([], dtype=np.int64),
                "distance_m": np.array([], dtype=float),
            }
        )
    t_xyz = _unit_vectors(targets.geometry.x.to_numpy(), targets.geometry.y.to_numpy())
    i_tree = cKDTree(_unit_vectors(incidents.geometry.x.to_numpy(), incidents.geometry.y.to_numpy()))
    chord = 2 * np.sin(min(radius_m / (2 * EARTH_RADIUS_M), np.pi / 2))

    def run(part: slice) -> np.ndarray:
        found = cKDTree(t_xyz[part], balanced_tree=False).sparse_distance_matrix(i_tree, chord, output_type="ndarray")
        found["i"] += part.start
        return found

    found = np.concatenate(thread_map(run, chunks(len(t_xyz), MIN_CHUNK_TARGETS)))
    found = found[np.lexsort((found["j"], found["i"]))]  # the same order whatever the thread count
    distance = 2 * EARTH_RADIUS_M * np.arcsin(np.clip(found["v"] / 2, 0.0, 1.0))
    return pd.DataFrame(
        {"target": found["i"].astype(np.int64), "incident": found["j"].astype(np.int64), "distance_m": distance}
    )


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def village_neighbours(villages: gpd.GeoDataFrame, k: int, max_km: float) -> pd.DataFrame:
    """K nearest villages of each village, by great-circle distance between interior points.

    Returns
    -------
    DataFrame
        Columns ``village``, ``neighbour`` (positional indices) and
        ``distance_km``; pairs farther than ``max_km`` are left out.
    """
    n = len(villages)
    if n < 2 or k < 1:
        return pd.DataFrame({"village": [], "neighbour": [], "distance_km": []})
    pts = villages.geometry.representative_point()
    xyz = _unit_vectors(pts.x.to_numpy(), pts.y.to_numpy())
    kk = min(k + 1, n)
    chord, nbr = cKDTree(xyz).query(xyz, k=kk)
    dist_km = 2 * np.arcsin(np.clip(chord / 2, 0, 1)) * EARTH_RADIUS_M / 1000
    village = np.repeat(np.arange(n), kk)
    out = pd.DataFrame({"village": village, "neighbour": nbr.ravel(), "distance_km": dist_km.ravel()})
    out = out[(out["village"] != out["neighbour"]) & (out["distance_km"] <= max_km)]
    return out.reset_index(drop=True)


def nearest_village(points: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> np.ndarray:
    """Positional index of the nearest village polygon to each point.

    Nearness in degrees (EPSG:4326), good enough to name the kecamatan of a
    region-precision point lying just off the polygons; it reuses the
    villages' spatial index and reprojects nothing.
    """
    if len(points) == 0:
        return np.array([], dtype=np.int64)
    p_idx, v_idx = villages.sindex.nearest(points.geometry.values, return_all=False)
    out = np.full(len(points), -1, dtype=np.int64)
    out[p_idx] = v_idx
    return out
