"""Turning categories into people: staffing patterns, guard groups, shortages.

A pattern "A-B-C" means A police guard B TPS, helped by C Linmas (DOMAIN.md
section 4). :func:`pattern_totals` does Polri's planning arithmetic per
category, police = ceil(TPS x A / B), Linmas = TPS x C / B (or
``linmas_per_tps`` x TPS); :func:`guard_groups` puts TPS that are actually
near each other into groups of at most B, so a police pair walks between TPS
that are within ``walking_distance_m`` of each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES, Config

KHUSUS = "khusus"
"""Category for special-location TPS (prisons, hospitals): the Bawaslu flag ``lokasi_khusus``."""


@dataclass(frozen=True)
class Pattern:
    """A staffing pattern "A-B-C": ``police`` guard ``tps`` TPS with ``linmas`` Linmas (None: per TPS)."""

    police: int
    tps: int
    linmas: int | None = None

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """Read "2-2-4" (or "2-8", Linmas then counted per TPS)."""
        try:
            parts = [int(p) for p in str(text).replace(" ", "").split("-")]
        except ValueError:
            parts = []
        if len(parts) not in (2, 3) or parts[0] < 0 or parts[1] < 1 or (len(parts) == 3 and parts[2] < 0):
            raise RiskmapInputError("staffing_pattern", pattern=text)
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def patterns(config: Config) -> dict[str, Pattern]:
    """Category -> pattern, from ``[staffing.patterns]``."""
    return {cat: Pattern.parse(text) for cat, text in config.data["staffing"]["patterns"].items()}


def pattern_totals(counts: dict[str, int], config: Config) -> pd.DataFrame:
    """Police and Linmas per category by the planning arithmetic.

    Parameters
    ----------
    counts
        TPS per category (``kurang rawan``, ``rawan``, ``sangat rawan``, ``khusus``).
    config
        Patterns and ``linmas_per_tps``.

    Returns
    -------
    DataFrame
        One row per category with ``tps``, ``pattern``, ``police``, ``linmas``, and a
        ``total`` row.
    """
    pats = patterns(config)
    per_tps = float(config.data["staffing"]["linmas_per_tps"])
    rows = []
    for cat, n in counts.items():
        if cat not in pats:
            raise RiskmapInputError("staffing_no_pattern", category=cat)
        p = pats[cat]
        police = math.ceil(n * p.police / p.tps - 1e-9)
        linmas = math.ceil(n * (p.linmas / p.tps if p.linmas is not None else per_tps) - 1e-9)
        label = f"{p.police}-{p.tps}" + (f"-{p.linmas}" if p.linmas is not None else "")
        rows.append({"category": cat, "tps": int(n), "pattern": label, "police": police, "linmas": linmas})
    table = pd.DataFrame(rows)
    total = {
        "category": "total",
        "tps": int(table["tps"].sum()),
        "pattern": "",
        "police": int(table["police"].sum()),
        "linmas": int(table["linmas"].sum()),
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def _local_xy(points: gpd.GeoSeries) -> np.ndarray:
    """Metres on a local tangent plane (good to a few metres over a kab/kota)."""
    lon, lat = points.x.to_numpy(), points.y.to_numpy()
    lat0 = np.radians(np.mean(lat)) if len(lat) else 0.0
    r = 6_371_008.8
    return np.column_stack([np.radians(lon) * r * np.cos(lat0), np.radians(lat) * r])


def tps_categories(tps: gpd.GeoDataFrame, stage: str) -> pd.Series:
    """Staffing category per TPS: its risk level, or ``khusus`` for special locations."""
    cat = tps[f"level_{stage}"].astype(str)
    if "ind_lokasi_khusus" in tps:
        cat = cat.where(~tps["ind_lokasi_khusus"].astype(bool), KHUSUS)
    return cat


def guard_groups(tps: gpd.GeoDataFrame, stage: str, config: Config) -> pd.DataFrame:
    """Assign every TPS to exactly one guard group.

    Within each category, the riskiest unassigned TPS starts a group; its nearest
    unassigned neighbours of the same category join while the group has fewer
    than B TPS (the pattern's B) and the newcomer is within the walking distance
    of every member. Isolated TPS form smaller groups (they still get A police).

    Returns
    -------
    DataFrame
        Indexed like ``tps``: ``category``, ``group`` (e.g. ``"rawan-0007"``),
        ``group_size``, ``police``, ``linmas`` (the group's people shared over its
        TPS, so they add up per village and kecamatan).
    """
    pats = patterns(config)
    walk = float(config.data["staffing"]["walking_distance_m"])
    per_tps = float(config.data["staffing"]["linmas_per_tps"])
    cats = tps_categories(tps, stage)
    xy = _local_xy(tps.geometry)
    risk = tps[f"risk_{stage}"].to_numpy()
    group = np.empty(len(tps), dtype=object)
    size = np.zeros(len(tps), dtype=int)
    police = np.zeros(len(tps))
    linmas = np.zeros(len(tps))
    for cat in [*CATEGORIES[::-1], KHUSUS]:
        idx = np.flatnonzero((cats == cat).to_numpy())
        if not len(idx):
            continue
        p = pats[cat]
        tree = cKDTree(xy[idx])
        free = np.ones(len(idx), dtype=bool)
        number = 0
        for start in np.argsort(-risk[idx], kind="stable"):
            if not free[start]:
                continue
            members = [start]
            free[start] = False
            if p.tps > 1:
                near = tree.query_ball_point(xy[idx[start]], r=walk)
                near = sorted(
                    (j for j in near if free[j]), key=lambda j: float(np.hypot(*(xy[idx[j]] - xy[idx[start]])))
                )
                for j in near:
                    if len(members) >= p.tps:
                        break
                    if all(np.hypot(*(xy[idx[j]] - xy[idx[m]])) <= walk for m in members):
                        members.append(j)
                        free[j] = False
            number += 1
            label = f"{cat.replace(' ', '_')}-{number:04d}"
            rows = idx[members]
            group[rows] = label
            size[rows] = len(members)
            police[rows] = p.police / len(members)
            linmas[rows] = (p.linmas / p.tps) if p.linmas is not None else per_tps
    return pd.DataFrame(
        {"category": cats.to_numpy(), "group": group, "group_size": size, "police": police, "linmas": linmas},
        index=tps.index,
    )
