"""Turning categories into people: the deployment plan of a stage.

:func:`plan` is the one core function every face calls (CLI ``riskmap deploy``, the app's deployment
view, the printed deployment PDF and atlas); the faces only format its :class:`DeploymentPlan`
(:func:`summary_table`, :func:`venue_table`, :func:`priority_table`, ...).

A pattern "A-B-C" means A police guard B TPS, helped by C Linmas (DOMAIN.md
section 4). :func:`pattern_totals` does Polri's planning arithmetic per
category, police = ceil(TPS x A / B), Linmas = TPS x C / B (or
``linmas_per_tps`` x TPS); :func:`guard_groups` puts TPS that are actually
near each other into groups of at most B, so a police pair walks between TPS
that are within ``walking_distance_m`` of each other.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES, Config

if TYPE_CHECKING:
    from riskmap.pipeline import Result
    from riskmap.posts import Placement
    from riskmap.view import ViewFilter

PLACED_INTERIOR = "kecamatan_interior_point"
"""``placed`` of a recap venue put at the interior point of its kecamatan's villages (no venue file)."""
PLACED_FILE = "file"
"""``placed`` of a recap venue read from the venue file."""

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
        TPS per category (``kurang_rawan``, ``rawan``, ``sangat_rawan``, ``khusus``).
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


ROUNDINGS = ("group", "tps")
"""Values of ``[deploy] rounding`` (see :func:`whole_people`)."""


def _rounding(config: Config) -> str:
    rounding = str(config.data.get("deploy", {}).get("rounding", "group"))
    if rounding not in ROUNDINGS:
        raise RiskmapInputError("config_deploy_rounding", value=rounding, allowed=", ".join(ROUNDINGS))
    return rounding


def whole_people(people: int, tps: int, rounding: str = "group") -> np.ndarray:
    """A guard group's people written per TPS as whole persons, the group's riskiest TPS first.

    Parameters
    ----------
    people
        Persons of the group (whole).
    tps
        TPS in the group.
    rounding
        ``group``: the group's persons spread over its TPS, riskiest first (2 police for 5 TPS:
        1, 1, 0, 0, 0), so the per-TPS numbers add up to the group's; ``tps``: every TPS its share
        rounded up (1, 1, 1, 1, 1), more people than the group needs.

    Returns
    -------
    ndarray of int64
        Persons per TPS, length ``tps``.
    """
    if tps <= 0:
        return np.zeros(0, dtype=np.int64)
    if rounding == "tps":
        return np.full(tps, math.ceil(people / tps - 1e-9), dtype=np.int64)
    out = np.full(tps, people // tps, dtype=np.int64)
    out[: people % tps] += 1
    return out


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
        ``group_size``, ``police``, ``linmas``: whole persons per TPS, the group's
        people written per TPS by ``[deploy] rounding`` (:func:`whole_people`), so
        they add up per village and kecamatan.
    """
    pats = patterns(config)
    walk = float(config.data["staffing"]["walking_distance_m"])
    per_tps = float(config.data["staffing"]["linmas_per_tps"])
    rounding = _rounding(config)
    cats = tps_categories(tps, stage)
    xy = _local_xy(tps.geometry)
    risk = tps[f"risk_{stage}"].to_numpy()
    group = np.empty(len(tps), dtype=object)
    size = np.zeros(len(tps), dtype=int)
    police = np.zeros(len(tps), dtype=np.int64)
    linmas = np.zeros(len(tps), dtype=np.int64)
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
            rows = rows[np.argsort(-risk[rows], kind="stable")]  # riskiest TPS of the group first
            group[rows] = label
            size[rows] = len(members)
            rate = (p.linmas / p.tps) if p.linmas is not None else per_tps
            police[rows] = whole_people(p.police, len(members), rounding)
            linmas[rows] = whole_people(math.ceil(rate * len(members) - 1e-9), len(members), rounding)
    return pd.DataFrame(
        {"category": cats.to_numpy(), "group": group, "group_size": size, "police": police, "linmas": linmas},
        index=tps.index,
    )


def allocate(groups: pd.DataFrame, risk: pd.Series, available: float | None, column: str) -> pd.Series:
    """Give people to guard groups riskiest first, within what is available.

    Parameters
    ----------
    groups
        :func:`guard_groups` output (``group`` and the per-TPS requirement in ``column``).
    risk
        Stage score per TPS (same index).
    available
        People available; None = as many as the pattern requires.
    column
        ``police`` or ``linmas``.

    Returns
    -------
    Series of int
        Whole persons assigned per TPS (same index). Whole groups are served in
        order of their riskiest TPS; the first group that no longer fits gets the
        persons that are left, its riskiest TPS first; the total never exceeds
        ``available`` (rounded down to whole persons).
    """
    need = groups[column].astype("int64")
    if available is None:
        return need.copy()
    by_group = pd.DataFrame({"group": groups["group"], "need": need, "risk": risk})
    order = by_group.groupby("group").agg(need=("need", "sum"), risk=("risk", "max"))
    order = order.sort_values(["risk", "need"], ascending=[False, True], kind="stable")
    left = max(math.floor(available + 1e-9), 0)
    # TPS in serving order: group by group, the riskiest TPS of a group first; each takes what is left
    rank = pd.Series(np.arange(len(order)), index=order.index)
    queue = by_group.assign(_g=by_group["group"].map(rank).to_numpy(), _r=-by_group["risk"].to_numpy())
    queue = queue.sort_values(["_g", "_r"], kind="stable")
    before = queue["need"].cumsum().to_numpy() - queue["need"].to_numpy()
    give = np.clip(left - before, 0, queue["need"].to_numpy())
    return pd.Series(give.astype("int64"), index=queue.index).reindex(groups.index)


def staffing_plan(
    tps: gpd.GeoDataFrame,
    stage: str,
    config: Config,
    *,
    police: float | None = None,
    linmas: float | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Guard groups and personnel per TPS for ``voting`` or ``counting``, within what is available.

    Returns
    -------
    plan
        The TPS with ``category``, ``group``, ``group_size``, ``police_required``,
        ``linmas_required``, ``police``, ``linmas`` (assigned) and
        ``police_short`` / ``linmas_short`` (required minus assigned).
    summary
        Totals per category (TPS, police and Linmas required by the planning
        arithmetic and by the groups, and assigned), available against required,
        and the TPS below pattern.
    """
    groups = guard_groups(tps, stage, config)
    risk = tps[f"risk_{stage}"]
    keep = ["tps_id", "village_code", "village_name", "district", "regency", f"risk_{stage}", f"level_{stage}"]
    plan = tps[[c for c in keep if c in tps] + ["geometry"]].copy()
    plan["category"] = groups["category"]
    plan["group"] = groups["group"]
    plan["group_size"] = groups["group_size"]
    # whole persons per TPS: the group's people written per TPS by [deploy] rounding
    plan["police_required"] = groups["police"]
    plan["linmas_required"] = groups["linmas"]
    plan["police"] = allocate(groups, risk, police, "police")
    plan["linmas"] = allocate(groups, risk, linmas, "linmas")
    plan["police_short"] = (plan["police_required"] - plan["police"]).clip(lower=0)
    plan["linmas_short"] = (plan["linmas_required"] - plan["linmas"]).clip(lower=0)

    counts = plan["category"].value_counts().to_dict()
    arithmetic = pattern_totals(counts, config).set_index("category")
    per_cat = plan.groupby("category").agg(
        tps=("tps_id", "size"),
        groups=("group", "nunique"),
        police_by_groups=("police_required", "sum"),
        linmas_by_groups=("linmas_required", "sum"),
        police_assigned=("police", "sum"),
        linmas_assigned=("linmas", "sum"),
    )
    categories = {
        cat: {
            "tps": int(row["tps"]),
            "guard_groups": int(row["groups"]),
            "pattern": arithmetic.loc[cat, "pattern"],
            "police_planning_arithmetic": int(arithmetic.loc[cat, "police"]),
            "linmas_planning_arithmetic": int(arithmetic.loc[cat, "linmas"]),
            "police_required_by_groups": int(row["police_by_groups"]),
            "linmas_required_by_groups": int(row["linmas_by_groups"]),
            "police_assigned": int(row["police_assigned"]),
            "linmas_assigned": int(row["linmas_assigned"]),
        }
        for cat, row in per_cat.iterrows()
    }
    below = plan[(plan["police_short"] > 0) | (plan["linmas_short"] > 0)]
    summary: dict[str, object] = {
        "stage": stage,
        "categories": categories,
        "police": {
            "available": None if police is None else max(math.floor(police + 1e-9), 0),  # whole persons
            "required": int(plan["police_required"].sum()),
            "assigned": int(plan["police"].sum()),
        },
        "linmas": {
            "available": None if linmas is None else max(math.floor(linmas + 1e-9), 0),  # whole persons
            "required": int(plan["linmas_required"].sum()),
            "assigned": int(plan["linmas"].sum()),
        },
        "tps_below_pattern": len(below),
        "below_pattern": [
            {
                "tps_id": r.tps_id,
                "category": r.category,
                "police_short": int(r.police_short),
                "linmas_short": int(r.linmas_short),
            }
            for r in below.sort_values(f"risk_{stage}", ascending=False).itertuples()
        ],
    }
    return plan, summary


def area_totals(plan: gpd.GeoDataFrame, by: str) -> pd.DataFrame:
    """Personnel per village (``village_code``), kecamatan (``district``) or kab/kota (``regency``).

    Sums of the whole persons per TPS of a staffing plan, sorted by the area.
    """
    keys = {"village_code": ["village_code", "village_name", "district"], "district": ["district"]}.get(by, [by])
    return (
        plan.groupby(keys, sort=True)
        .agg(
            tps=("tps_id", "size"),
            police=("police", "sum"),
            linmas=("linmas", "sum"),
            police_required=("police_required", "sum"),
            linmas_required=("linmas_required", "sum"),
        )
        .astype({"police": "int64", "linmas": "int64", "police_required": "int64", "linmas_required": "int64"})
        .reset_index()
    )


def patrol_priorities(
    result: Result, *, top: int | None = None, cell_m: float | None = None
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Campaign stage: villages ranked for patrols, and the hot spots behind them.

    Hot spots are ``cell_m`` grid cells (metres; default ``[deploy] patrol_cell_m``) holding the
    campaign-weighted incidents of each village (exact and near precision), heaviest first.

    Returns
    -------
    priorities
        Villages by campaign score: ``rank``, ``village_code``, ``village_name``,
        ``district``, ``risk_campaign``, ``level_campaign``, ``hotspots``.
    hotspots
        Points (cell centres, EPSG:4326): ``village_code``, ``weight``,
        ``incidents``, ``types`` (the main incident types).
    """
    if cell_m is None:
        cell_m = float(result.config.data["deploy"]["patrol_cell_m"])
    v = result.villages.sort_values("risk_campaign", ascending=False, kind="stable")
    inc = result.layers.incidents
    hot = gpd.GeoDataFrame(
        {"village_code": [], "weight": [], "incidents": [], "types": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326
    )
    weights = result.model.incident_weights_
    if inc is not None and len(inc) and weights is not None:
        w = weights["campaign"].reindex(inc.index).fillna(0.0)
        pts = inc[(w > 0).to_numpy() & (inc["village_code"] != "").to_numpy()]
        wts = w[pts.index]
        if len(pts):
            lat0 = float(np.radians(pts.geometry.y.mean()))
            dy = cell_m / 111_320
            dx = dy / max(np.cos(lat0), 0.1)
            gx = np.floor(pts.geometry.x / dx).astype(int)
            gy = np.floor(pts.geometry.y / dy).astype(int)
            table = pd.DataFrame(
                {
                    "village_code": pts["village_code"].to_numpy(),
                    "gx": gx,
                    "gy": gy,
                    "weight": wts.to_numpy(),
                    "type": pts["type"].to_numpy(),
                }
            )
            agg = (
                table.groupby(["village_code", "gx", "gy"])
                .agg(
                    weight=("weight", "sum"),
                    incidents=("weight", "size"),
                    types=("type", lambda s: ", ".join(s.value_counts().index[:3])),
                )
                .reset_index()
                .sort_values("weight", ascending=False, kind="stable")
            )
            hot = gpd.GeoDataFrame(
                agg[["village_code", "weight", "incidents", "types"]].assign(weight=lambda d: d["weight"].round(3)),
                geometry=gpd.points_from_xy((agg["gx"] + 0.5) * dx, (agg["gy"] + 0.5) * dy),
                crs=4326,
            )
    n_hot = hot.groupby("village_code").size() if len(hot) else pd.Series(dtype=int)
    pri = pd.DataFrame(
        {
            "rank": np.arange(1, len(v) + 1),
            "village_code": v["village_code"].to_numpy(),
            "village_name": v["village_name"].to_numpy(),
            "district": v["district"].to_numpy(),
            "risk_campaign": v["risk_campaign"].to_numpy(),
            "level_campaign": v["level_campaign"].astype(str).to_numpy(),
            "hotspots": v["village_code"].map(n_hot).fillna(0).astype(int).to_numpy(),
        }
    )
    return (pri.head(top) if top else pri), hot


def recap_venues(result: Result, venues: gpd.GeoDataFrame | None, config: Config) -> gpd.GeoDataFrame:
    """Recap stage: risk and suggested police at each recapitulation venue.

    A PPK venue counts the votes of its kecamatan's TPS; the KPU kab/kota office
    those of every TPS. Venue score = (1 - a) x the voter-weighted mean recap
    score of those TPS + a x 100 x F(recap-weighted incidents within the TPS
    radius of the venue), with a = ``staffing.venues.nearby_weight`` and F the
    same saturating curve as the TPS factor. Without a venue file, one venue per
    kecamatan is placed at the interior point of its villages (``placed`` =
    :data:`PLACED_INTERIOR`, else :data:`PLACED_FILE`) and none for the KPU
    office. :func:`venue_table` gives the table to show.

    Parameters
    ----------
    venues
        Points with ``name``, ``kind`` (``kpu`` or ``ppk``) and ``district`` (the
        kecamatan's name), or None.
    """
    from riskmap.joins import points_within
    from riskmap.scoring import _saturate, categorise

    sc = config.data
    vcfg = sc["staffing"]["venues"]
    tps = result.tps
    if venues is None or not len(venues):
        dissolved = result.villages.dissolve("district")
        venues = gpd.GeoDataFrame(
            {
                "name": ["PPK " + d for d in dissolved.index],
                "kind": "ppk",
                "district": list(dissolved.index),
                "placed": PLACED_INTERIOR,
            },
            geometry=dissolved.geometry.representative_point().values,
            crs=4326,
        )
    else:
        venues = venues.copy()
        venues["placed"] = PLACED_FILE
    venues = venues.reset_index(drop=True)
    voters = tps["voters"].fillna(float(sc["scoring"]["default_voters_per_tps"])) if tps is not None else pd.Series()
    tps_risk = []
    for kind, district in zip(venues["kind"].astype(str).str.lower(), venues["district"].astype(str), strict=True):
        if tps is None:
            tps_risk.append(0.0)
            continue
        mask = np.ones(len(tps), dtype=bool) if kind == "kpu" else (tps["district"].astype(str) == district).to_numpy()
        w = voters[mask]
        tps_risk.append(float(np.average(tps.loc[mask, "risk_recap"], weights=w)) if mask.any() and w.sum() else 0.0)
    nearby: np.ndarray = np.zeros(len(venues))
    inc, stage_weights = result.layers.incidents, result.model.incident_weights_
    if inc is not None and len(inc) and stage_weights is not None:
        weights = stage_weights["recap"].reindex(inc.index).fillna(0.0).to_numpy()
        exact = (inc["precision"] != "region").to_numpy()
        pairs = points_within(venues, inc[exact].reset_index(drop=True), float(sc["joins"]["tps_radius_m"]))
        nearby = np.bincount(
            pairs["target"], weights=weights[exact][pairs["incident"].to_numpy()], minlength=len(venues)
        )
    a = float(vcfg["nearby_weight"])
    near_f = _saturate(nearby, sc["scoring"]["half"]["nearby_incidents"])
    score = np.round((1 - a) * np.asarray(tps_risk) + a * 100 * near_f, 2)
    level = categorise(score, config.thresholds).astype(str)
    police = np.array([vcfg[lv] for lv in level]) * np.where(
        venues["kind"].astype(str).str.lower() == "kpu", vcfg["kpu_multiplier"], 1
    )
    return venues.assign(
        tps_risk=np.round(tps_risk, 2),
        nearby_incidents=np.round(nearby, 3),
        risk_recap=score,
        level_recap=level,
        police_suggested=police.astype(int),
    )


def propose_reserves(
    tps: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    stage: str,
    surplus_police: float,
    config: Config,
) -> pd.DataFrame:
    """Place surplus police as reserve teams where they reach the most risk.

    Teams of ``staffing.reserve_team`` police go one by one to the candidate
    site with the most stage risk among TPS within ``staffing.reserve_radius_m``
    (great-circle metres); the TPS a team reaches count ``staffing.reserve_reached_weight``
    for the next team, so reserves spread over the hot areas instead of piling on one.

    Returns
    -------
    DataFrame
        One row per team: ``site_id``, ``name``, ``police``, ``tps_reached``,
        ``risk_reached`` (sum of stage scores of the TPS within reach).
    """
    from riskmap.joins import points_within

    cfg = config.data["staffing"]
    team = int(cfg["reserve_team"])
    radius = float(cfg["reserve_radius_m"])
    factor = float(cfg["reserve_reached_weight"])
    teams = int(surplus_police // team) if surplus_police > 0 else 0
    if teams == 0 or not len(sites) or not len(tps):
        return pd.DataFrame(columns=["site_id", "name", "police", "tps_reached", "risk_reached"])
    pairs = points_within(tps.reset_index(drop=True), sites.reset_index(drop=True), radius)
    reach = sparse.csc_matrix(
        (np.ones(len(pairs)), (pairs["target"].to_numpy(), pairs["incident"].to_numpy())), shape=(len(tps), len(sites))
    )
    risk = tps[f"risk_{stage}"].to_numpy(dtype=float)
    weight = risk.copy()
    rows = []
    for _ in range(teams):
        gain = reach.T @ weight
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        hit = reach.indices[reach.indptr[j] : reach.indptr[j + 1]]
        rows.append(
            {
                "site_id": sites["site_id"].iloc[j],
                "name": sites["name"].iloc[j],
                "police": team,
                "tps_reached": len(hit),
                "risk_reached": round(float(risk[hit].sum()), 2),
            }
        )
        weight[hit] *= factor
    return pd.DataFrame(rows)


# -- the deployment plan: one core function for every face ---------------------------------------------------

PLAN_STAGES = ("campaign", "voting", "counting", "recap")
"""Stages with a deployment plan: patrol priorities (campaign), guard groups and posts (voting, counting),
recap venues (recap)."""


@dataclass(frozen=True)
class PlacementRequest:
    """Posts the user asks to place.

    Attributes
    ----------
    count
        P posts by maximal covering (most risk-weighted TPS within reach); None: set covering, the fewest
        posts reaching every rawan and sangat rawan TPS.
    radius_m
        Response radius of a post, great-circle metres.
    """

    count: int | None
    radius_m: float


@dataclass
class DeploymentPlan:
    """The deployment plan of one stage, the same for every face (:func:`plan`).

    Attributes
    ----------
    stage
        Stage id.
    key
        Digest of everything the plan depends on (:func:`plan_key`): the data's content, stage, filters,
        people available, posts asked, venues, time limit and configuration. Caches key on it.
    filters
        The display filters the plan is made for (its TPS, villages and venues are those of the filtered
        view).
    summary
        What ``riskmap deploy`` writes to ``summary.json``: the staffing totals per category, police and
        Linmas required / assigned / available, TPS below pattern, ``reserves`` and ``posts`` (the
        placement's summary) for voting and counting; ``patrol_priorities`` for the campaign; ``venues``
        for the recap.
    staffing
        Voting and counting: one row per TPS (EPSG:4326 points) with the guard group and whole persons
        (:func:`staffing_plan`), plus ``covered`` / ``post`` / ``distance_m`` when posts were placed.
    per_village, per_district, per_regency
        Personnel totals per village, kecamatan and kab/kota (:func:`area_totals`).
    reserves
        Reserve teams of the police beyond the patterns (:func:`propose_reserves`); empty without surplus.
    candidate_sites
        Where posts could go: the user's candidate-site file, else police posts plus village points.
    placement
        The solver's placement (placed posts, coverage, solver report), None when no posts were asked.
    priorities, hotspots
        Campaign: villages ranked for patrols and their incident cells (:func:`patrol_priorities`).
    venues
        Recap: the recap venues with risk and suggested police (:func:`recap_venues`).
    """

    stage: str
    key: str
    filters: ViewFilter
    summary: dict[str, Any] = field(default_factory=dict)
    staffing: gpd.GeoDataFrame | None = None
    per_village: pd.DataFrame | None = None
    per_district: pd.DataFrame | None = None
    per_regency: pd.DataFrame | None = None
    reserves: pd.DataFrame | None = None
    candidate_sites: gpd.GeoDataFrame | None = None
    placement: Placement | None = None
    radius_m: float = 0.0
    priorities: pd.DataFrame | None = None
    hotspots: gpd.GeoDataFrame | None = None
    venues: gpd.GeoDataFrame | None = None

    @property
    def placed_posts(self) -> gpd.GeoDataFrame | None:
        """The posts the solver placed (candidate sites with ``tps_covered``), None without a placement."""
        return None if self.placement is None else self.placement.placed_posts


def _hash_frame(h: Any, frame: pd.DataFrame) -> None:
    h.update(",".join(map(str, frame.columns)).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def _points_frame(points: gpd.GeoDataFrame | None, cols: list[str]) -> pd.DataFrame:
    if points is None or not len(points):
        return pd.DataFrame({"none": []})
    frame = pd.DataFrame({c: points[c].astype(str).to_numpy() for c in cols if c in points})
    frame["x"] = np.round(points.geometry.x.to_numpy(), 7)
    frame["y"] = np.round(points.geometry.y.to_numpy(), 7)
    return frame


def data_key(result: Result, stage: str) -> str:
    """SHA-256 (16 hex digits) of the data a stage's plan is made of.

    TPS ids, coordinates (EPSG:4326, 1e-7°), village, kecamatan, voters, special-location flag, score
    and category of ``stage``; villages' codes, kecamatan, kab/kota, bounds, score and category; police
    posts and candidate sites (ids, names, coordinates); for the campaign and the recap the incidents
    (coordinates, type, date, precision). Two uploads with as many TPS but other positions or levels
    give other keys.
    """
    h = hashlib.sha256(stage.encode("utf-8"))
    v = result.villages
    vf = pd.DataFrame({c: v[c].astype(str).to_numpy() for c in ("village_code", "district", "regency") if c in v})
    vf[f"risk_{stage}"] = v[f"risk_{stage}"].to_numpy(dtype=float)
    vf[f"level_{stage}"] = v[f"level_{stage}"].astype(str).to_numpy()
    bounds = v.geometry.bounds.to_numpy()
    for i, name in enumerate(("x0", "y0", "x1", "y1")):
        vf[name] = np.round(bounds[:, i], 7)
    _hash_frame(h, vf)
    t = result.tps
    if t is not None:
        cols = ["tps_id", "village_code", "district", "voters", "ind_lokasi_khusus", f"level_{stage}"]
        tf = _points_frame(t, cols)
        tf[f"risk_{stage}"] = t[f"risk_{stage}"].to_numpy(dtype=float)
        _hash_frame(h, tf)
    _hash_frame(h, _points_frame(result.layers.posts, ["point_id", "name"]))
    _hash_frame(h, _points_frame(result.layers.candidate_sites, ["point_id", "name", "kind"]))
    if stage in ("campaign", "recap"):
        _hash_frame(h, _points_frame(result.layers.incidents, ["date", "type", "precision", "village_code"]))
    return h.hexdigest()[:16]


def plan_key(
    result: Result,
    stage: str,
    *,
    filters: ViewFilter | None = None,
    available_police: float | None = None,
    available_linmas: float | None = None,
    placement: PlacementRequest | None = None,
    venues: gpd.GeoDataFrame | None = None,
    time_limit_s: float | None = None,
    config: Config | None = None,
) -> str:
    """The :attr:`DeploymentPlan.key` :func:`plan` gives for these arguments, without making the plan.

    Digest of :func:`data_key`, the stage, the filters (kab/kota, kecamatan, category), the people
    available, the posts asked, the venue file's points (None: :func:`default_venues`), the solver time
    limit (None: ``[posts] time_limit_cli_s``) and the configuration's digest.
    """
    from riskmap.view import ViewFilter

    config = config or result.config
    if time_limit_s is None:
        time_limit_s = float(config.data["posts"]["time_limit_cli_s"])
    if stage == "recap" and venues is None:
        venues = default_venues(result)
    h = hashlib.sha256(data_key(result, stage).encode("utf-8"))
    f = filters or ViewFilter()
    used = (f.regencies, f.districts, f.levels)  # incident types and dates change no plan
    asked = (stage, used, available_police, available_linmas, placement, float(time_limit_s))
    h.update(repr(asked).encode("utf-8"))
    h.update(config.digest().encode("utf-8"))
    _hash_frame(h, _points_frame(venues, ["name", "kind", "district"]))
    return h.hexdigest()[:16]


def default_venues(result: Result, *, demo: bool | None = None) -> gpd.GeoDataFrame | None:
    """The recap venues used without a venue file.

    The demo's election offices for the demo data (``demo``; None: ``result.layers.demo``), else None (then
    one PPK venue per kecamatan at its interior point).
    """
    if not (result.layers.demo if demo is None else demo):
        return None
    from riskmap import demo as demo_files
    from riskmap.io.points import read_points

    points, _ = read_points(demo_files.ELECTION_OFFICES, "venues", area=result.layers.area, config=result.config)
    return points[["name", "kind", "district", "geometry"]]


def _sites(result: Result) -> gpd.GeoDataFrame:
    from riskmap.posts import candidate_sites

    given = result.layers.candidate_sites
    if given is not None and len(given):
        return given.rename(columns={"point_id": "site_id"})[["site_id", "name", "kind", "geometry"]]
    return candidate_sites(result.villages, result.layers.posts)


def plan(
    result: Result,
    stage: str,
    *,
    filters: ViewFilter | None = None,
    available_police: float | None = None,
    available_linmas: float | None = None,
    placement: PlacementRequest | None = None,
    venues: gpd.GeoDataFrame | None = None,
    time_limit_s: float | None = None,
    config: Config | None = None,
) -> DeploymentPlan:
    """The deployment plan of ``stage``, for the TPS, villages and venues the ``filters`` keep.

    Parameters
    ----------
    result
        A scored :class:`riskmap.pipeline.Result`.
    stage
        ``campaign`` (patrol priorities), ``voting`` / ``counting`` (guard groups, people per TPS, reserves,
        posts) or ``recap`` (recap venues).
    filters
        Display filters (kab/kota, kecamatan, category): staffing, reserves and posts all use the same
        filtered TPS; None = all.
    available_police, available_linmas
        People available (whole persons, rounded down); None = as many as the patterns need. Police beyond
        what the patterns need become reserve teams at the candidate sites.
    placement
        Posts to place among the candidate sites (the user's candidate-site file, else police posts and
        village interior points); None = no posts.
    venues
        Recap venues (``name``, ``kind``, ``district``, points); None = :func:`default_venues`.
    time_limit_s
        Solver time limit for the whole placement, seconds; None = ``[posts] time_limit_cli_s``.
    config
        Configuration; None = the result's.

    Raises
    ------
    RiskmapInputError
        ``deploy_needs_tps`` when voting or counting has no TPS layer, ``deploy_filtered_no_tps`` when the
        filters leave none.
    """
    from riskmap.view import ViewFilter, make_view

    config = config or result.config
    filters = filters or ViewFilter()
    if stage not in PLAN_STAGES:
        raise RiskmapInputError("unknown_stage", stage=stage, stages=", ".join(PLAN_STAGES))
    if stage == "recap" and venues is None:
        venues = default_venues(result)
    limit = float(time_limit_s if time_limit_s is not None else config.data["posts"]["time_limit_cli_s"])
    key = plan_key(
        result,
        stage,
        filters=filters,
        available_police=available_police,
        available_linmas=available_linmas,
        placement=placement,
        venues=venues,
        time_limit_s=limit,
        config=config,
    )
    view = make_view(result, stage, filters)
    out = DeploymentPlan(stage=stage, key=key, filters=filters)
    filtered = bool(filters.regencies or filters.districts or filters.levels)
    if stage == "campaign":
        priorities, hotspots = patrol_priorities(result, cell_m=float(config.data["deploy"]["patrol_cell_m"]))
        if filtered:
            codes = set(view.villages["village_code"])
            priorities = priorities[priorities["village_code"].isin(codes)].assign(rank=lambda d: range(1, len(d) + 1))
            hotspots = hotspots[hotspots["village_code"].isin(codes)]
        out.priorities, out.hotspots = priorities.reset_index(drop=True), hotspots
        out.summary = {"stage": stage, "patrol_priorities": priorities.head(20).to_dict("records")}
        return out
    if stage == "recap":
        table = recap_venues(result, venues, config)
        if filtered:  # the area's PPK offices, and the KPU office when a whole kab/kota is chosen
            keep = table["district"].astype(str).isin(set(view.villages["district"]))
            if filters.regencies and not filters.districts:
                keep = keep | (table["kind"].astype(str).str.lower() == "kpu").to_numpy()
            table = table[keep]
        out.venues = table
        out.summary = {
            "stage": stage,
            "venues": table.drop(columns="geometry").to_dict("records"),
            "police_suggested_total": int(table["police_suggested"].sum()),
        }
        return out
    tps = view.tps
    if result.tps is None or not len(result.tps):
        raise RiskmapInputError("deploy_needs_tps")
    if tps is None or not len(tps):
        raise RiskmapInputError("deploy_filtered_no_tps")
    regency = result.villages.drop_duplicates("village_code").set_index("village_code")["regency"]
    tps = tps.assign(regency=tps["village_code"].map(regency).fillna("").astype(str).to_numpy())
    staff, summary = staffing_plan(tps, stage, config, police=available_police, linmas=available_linmas)
    sites = _sites(result)
    out.candidate_sites = sites
    surplus = (available_police or 0) - summary["police"]["required"]
    reserves = pd.DataFrame(columns=["site_id", "name", "police", "tps_reached", "risk_reached"])
    if available_police is not None and surplus >= 1:
        reserves = propose_reserves(tps, sites, stage, surplus, config)
    out.reserves = reserves
    summary["reserves"] = reserves.to_dict("records")
    if placement is not None:
        from riskmap.posts import place_posts

        placed = place_posts(
            tps,
            sites,
            stage,
            radius_m=float(placement.radius_m),
            p=placement.count,
            time_limit_s=limit,
            max_pairs=int(config.data["posts"]["max_pairs"]),
        )
        placed.tps.index = tps.index
        staff = staff.join(placed.tps[["covered", "post", "distance_m"]])
        out.placement, out.radius_m = placed, float(placement.radius_m)
        summary["posts"] = placed.summary
    out.staffing = staff
    out.summary = summary
    out.per_village = area_totals(staff, "village_code")
    out.per_district = area_totals(staff, "district")
    out.per_regency = area_totals(staff, "regency")
    return out


def solver_status(summary: dict[str, Any], lang: str = "id") -> str:
    """Whether the placement of a plan's ``summary["posts"]`` is proven optimal, in ``lang``.

    Proven optimal; or stopped at the time limit (seconds) with the largest gap to the LP bound.
    """
    from riskmap import i18n

    if summary.get("time_limit_reached"):
        return i18n.t(
            "deploy_solver_time_limit", lang, limit=f"{summary['time_limit_s']:g}", gap=f"{summary['gap']:.1%}"
        )
    return i18n.t("deploy_solver_optimal", lang)


# -- tables to show (every face formats the plan the same way; texts from riskmap.i18n) ------------------------

SUMMARY_ROWS = (
    "tps",
    "guard_groups",
    "pattern",
    "police_planning_arithmetic",
    "linmas_planning_arithmetic",
    "police_required_by_groups",
    "linmas_required_by_groups",
    "police_assigned",
    "linmas_assigned",
)
"""Rows of a :func:`staffing_plan` summary's ``categories`` table, in the order shown."""


def _label(value: object, lang: str) -> str:
    from riskmap import i18n

    return i18n.t(str(value), lang)


def summary_table(summary: dict[str, object], lang: str = "id") -> pd.DataFrame:
    """The per-category summary of :func:`staffing_plan` as a table to show, rows and columns named in ``lang``.

    Rows are :data:`SUMMARY_ROWS` (i18n keys ``deploy_row_<row>``), columns the categories (``khusus``
    included) by their names; every personnel number is a whole person.
    """
    from riskmap import i18n

    cats: dict[str, dict[str, object]] = summary["categories"]  # type: ignore[assignment]
    known = [*CATEGORIES, KHUSUS]
    order = [c for c in known if c in cats] + [c for c in cats if c not in known]
    table = pd.DataFrame({_label(c, lang): [cats[c][r] for r in SUMMARY_ROWS] for c in order})
    table.index = [i18n.t(f"deploy_row_{r}", lang) for r in SUMMARY_ROWS]
    return table


def venue_table(table: gpd.GeoDataFrame, lang: str = "id") -> pd.DataFrame:
    """Recap venues of :func:`recap_venues` as a table to show, riskiest first, without geometry.

    Column names, venue kinds, categories and where the venue was placed are in ``lang``.
    """
    from riskmap import i18n

    def kind(k: str) -> str:
        key = f"venue_kind_{k.lower()}"
        return i18n.t(key, lang) if key in i18n.MESSAGES else k

    shown = pd.DataFrame(
        {
            i18n.t("col.venue", lang): table["name"].astype(str).to_numpy(),
            i18n.t("col.venue_kind", lang): table["kind"].astype(str).map(kind).to_numpy(),
            i18n.t("col.district", lang): table["district"].astype(str).to_numpy(),
            i18n.t("col.venue_placed", lang): table["placed"].map(lambda p: _label(f"venue_placed_{p}", lang)),
            i18n.t("col.tps_risk", lang): table["tps_risk"].to_numpy(),
            i18n.t("col.nearby_incidents", lang): table["nearby_incidents"].to_numpy(),
            i18n.t("col.score", lang): table["risk_recap"].to_numpy(),
            i18n.t("col.category", lang): table["level_recap"].map(lambda c: _label(c, lang)).to_numpy(),
            i18n.t("col.police_suggested", lang): table["police_suggested"].astype(int).to_numpy(),
        }
    )
    order = np.argsort(-table["risk_recap"].to_numpy(dtype=float), kind="stable")
    return shown.iloc[order].reset_index(drop=True)


def priority_table(priorities: pd.DataFrame, lang: str = "id", *, cell_m: float) -> pd.DataFrame:
    """Campaign patrol priorities of :func:`patrol_priorities` as a table to show, named in ``lang``.

    ``cell_m`` is the side (metres) of the incident cells counted (``[deploy] patrol_cell_m``).
    """
    from riskmap import i18n

    return pd.DataFrame(
        {
            i18n.t("col.rank", lang): priorities["rank"].astype(int).to_numpy(),
            i18n.t("col.code", lang): priorities["village_code"].to_numpy(),
            i18n.t("col.village", lang): priorities["village_name"].to_numpy(),
            i18n.t("col.district", lang): priorities["district"].to_numpy(),
            i18n.t("col.score", lang): priorities["risk_campaign"].to_numpy(),
            i18n.t("col.category", lang): priorities["level_campaign"].map(lambda c: _label(c, lang)).to_numpy(),
            i18n.t("col.incident_cells", lang, cell=f"{cell_m:g}"): priorities["hotspots"].astype(int).to_numpy(),
        }
    )


def reserve_table(reserves: pd.DataFrame, lang: str = "id") -> pd.DataFrame:
    """Reserve teams of :func:`propose_reserves` as a table to show, named in ``lang``."""
    from riskmap import i18n

    return pd.DataFrame(
        {
            i18n.t("col.site", lang): reserves["name"].astype(str).to_numpy(),
            i18n.t("col.police", lang): reserves["police"].astype(int).to_numpy(),
            i18n.t("col.tps_reached", lang): reserves["tps_reached"].astype(int).to_numpy(),
            i18n.t("col.risk_reached", lang): reserves["risk_reached"].to_numpy(dtype=float),
        }
    )


def placed_post_table(posts: gpd.GeoDataFrame, lang: str = "id") -> pd.DataFrame:
    """Placed posts (:attr:`DeploymentPlan.placed_posts`) as a table to show, most TPS covered first."""
    from riskmap import i18n

    def kind(k: str) -> str:
        key = f"site_kind_{k}"
        return i18n.t(key, lang) if key in i18n.MESSAGES else k

    shown = pd.DataFrame(
        {
            i18n.t("col.site", lang): posts["name"].astype(str).to_numpy(),
            i18n.t("col.site_kind", lang): posts["kind"].astype(str).map(kind).to_numpy(),
            i18n.t("col.tps_covered", lang): posts["tps_covered"].astype(int).to_numpy(),
        }
    )
    order = np.argsort(-posts["tps_covered"].to_numpy(dtype=float), kind="stable")
    return shown.iloc[order].reset_index(drop=True)


def area_table(totals: pd.DataFrame, lang: str = "id") -> pd.DataFrame:
    """Personnel per kecamatan or kab/kota (:func:`area_totals`) as a table to show, named in ``lang``."""
    from riskmap import i18n

    by = "regency" if "regency" in totals and "district" not in totals else "district"
    return pd.DataFrame(
        {
            i18n.t("col.regency" if by == "regency" else "col.district", lang): totals[by].astype(str).to_numpy(),
            i18n.t("col.tps", lang): totals["tps"].astype(int).to_numpy(),
            i18n.t("col.police_required", lang): totals["police_required"].to_numpy(),
            i18n.t("col.police_assigned", lang): totals["police"].to_numpy(),
            i18n.t("col.linmas_required", lang): totals["linmas_required"].to_numpy(),
            i18n.t("col.linmas_assigned", lang): totals["linmas"].to_numpy(),
        }
    )
