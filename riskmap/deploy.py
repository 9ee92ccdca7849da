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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES, Config

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
    plan = tps[
        ["tps_id", "village_code", "village_name", "district", f"risk_{stage}", f"level_{stage}", "geometry"]
    ].copy()
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
    """Personnel per village (``village_code``) or kecamatan (``district``): sums of whole persons per TPS."""
    keys = ["village_code", "village_name", "district"] if by == "village_code" else ["district"]
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
    result, *, top: int | None = None, cell_m: float | None = None
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Campaign stage: villages ranked for patrols, and the hot spots behind them.

    Hot spots are ``cell_m`` grid cells (metres; ``[deploy] patrol_cell_m`` when None) holding the
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
    v = result.villages.sort_values("risk_campaign", ascending=False, kind="stable")
    inc = result.layers.incidents
    hot = gpd.GeoDataFrame(
        {"village_code": [], "weight": [], "incidents": [], "types": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326
    )
    if inc is not None and len(inc):
        w = result.model.incident_weights_["campaign"].reindex(inc.index).fillna(0.0)
        pts = inc[(w > 0).to_numpy() & (inc["village_code"] != "").to_numpy()]
        wts = w[pts.index]
        if len(pts):
            lat0 = float(np.radians(pts.geometry.y.mean()))
            dy = (cell_m or float(result.config.data["deploy"]["patrol_cell_m"])) / 111_320
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


def recap_venues(result, venues: gpd.GeoDataFrame | None, config: Config) -> gpd.GeoDataFrame:
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
    inc = result.layers.incidents
    if inc is not None and len(inc):
        weights = result.model.incident_weights_["recap"].reindex(inc.index).fillna(0.0).to_numpy()
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
    site with the most stage risk among TPS within ``staffing.reserve_radius_m``;
    the TPS a team reaches count half for the next team, so reserves spread over
    the hot areas instead of piling on one.

    Returns
    -------
    DataFrame
        One row per team: ``site_id``, ``name``, ``police``, ``tps_reached``,
        ``risk_reached`` (sum of stage scores of the TPS within reach).
    """
    from riskmap.joins import haversine_m

    cfg = config.data["staffing"]
    team = int(cfg.get("reserve_team", 2))
    radius = float(cfg.get("reserve_radius_m", 2000.0))
    teams = int(surplus_police // team) if surplus_police > 0 else 0
    if teams == 0 or not len(sites) or not len(tps):
        return pd.DataFrame(columns=["site_id", "name", "police", "tps_reached", "risk_reached"])
    d = haversine_m(
        tps.geometry.x.to_numpy()[:, None],
        tps.geometry.y.to_numpy()[:, None],
        sites.geometry.x.to_numpy()[None, :],
        sites.geometry.y.to_numpy()[None, :],
    )
    reach = d <= radius
    weight = tps[f"risk_{stage}"].to_numpy(dtype=float).copy()
    rows = []
    for _ in range(teams):
        gain = weight @ reach
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        rows.append(
            {
                "site_id": sites["site_id"].iloc[j],
                "name": sites["name"].iloc[j],
                "police": team,
                "tps_reached": int(reach[:, j].sum()),
                "risk_reached": round(float(tps[f"risk_{stage}"].to_numpy()[reach[:, j]].sum()), 2),
            }
        )
        weight[reach[:, j]] *= 0.5
    return pd.DataFrame(rows)


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


def priority_table(priorities: pd.DataFrame, lang: str = "id") -> pd.DataFrame:
    """Campaign patrol priorities of :func:`patrol_priorities` as a table to show, named in ``lang``."""
    from riskmap import i18n

    return pd.DataFrame(
        {
            i18n.t("col.rank", lang): priorities["rank"].astype(int).to_numpy(),
            i18n.t("col.code", lang): priorities["village_code"].to_numpy(),
            i18n.t("col.village", lang): priorities["village_name"].to_numpy(),
            i18n.t("col.district", lang): priorities["district"].to_numpy(),
            i18n.t("col.score", lang): priorities["risk_campaign"].to_numpy(),
            i18n.t("col.category", lang): priorities["level_campaign"].map(lambda c: _label(c, lang)).to_numpy(),
            i18n.t("col.incident_cells", lang): priorities["hotspots"].astype(int).to_numpy(),
        }
    )
