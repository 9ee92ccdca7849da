r"""Where to put posts: maximal covering and set covering of TPS within a response radius.

Demand is the TPS, weighted by their stage score; candidate sites are
existing police posts, village interior points, or a user's file. Distances
are great-circle metres (haversine), so any part of Indonesia works.

* **Maximal covering** (Church & ReVelle 1974, ``spopt.locate.MCLP``): choose
  ``p`` sites maximising :math:`\sum_i w_i y_i` subject to
  :math:`y_i \le \sum_{j: d_{ij} \le R} x_j`, :math:`\sum_j x_j = p`.
* **Set covering** (Toregas et al. 1971, ``spopt.locate.LSCP``): the fewest
  sites such that every rawan and sangat rawan TPS has a site within R.

Large areas are solved per kab/kota (``max_pairs``), each solve has a time
limit, and the status says honestly whether the solution is proven optimal
or the solver stopped at its limit (``pulp.LpSolution[problem.sol_status]``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp

from riskmap._errors import RiskmapInputError
from riskmap.joins import haversine_m

MAX_PAIRS = 400_000
"""Demand x sites above which the problem is split by kab/kota (then by kecamatan)."""


@dataclass
class PostPlan:
    """Chosen posts, TPS coverage and the solver's report.

    Attributes
    ----------
    sites
        Candidate sites with ``chosen`` (bool) and ``tps_covered``.
    tps
        TPS with ``covered`` (bool), ``post`` (the nearest chosen site within
        the radius, or "") and ``distance_m``.
    solves
        One row per sub-problem: area, TPS, sites, posts, status (``Optimal`` /
        ``Not Solved`` / ``Infeasible``...), ``solution`` (``Optimal Solution
        Found``, or ``Solution Found`` when stopped at the time limit), seconds.
    """

    sites: gpd.GeoDataFrame
    tps: gpd.GeoDataFrame
    solves: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def candidate_sites(villages: gpd.GeoDataFrame, posts: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Existing police posts plus one interior point per village (``site_id``, ``name``, ``kind``)."""
    interior = villages.geometry.representative_point()
    frames = [
        gpd.GeoDataFrame(
            {"site_id": "v:" + villages["village_code"], "name": villages["village_name"], "kind": "village"},
            geometry=interior.values,
            crs=4326,
        )
    ]
    if posts is not None and len(posts):
        frames.insert(
            0,
            gpd.GeoDataFrame(
                {"site_id": "p:" + posts["point_id"].astype(str), "name": posts["name"], "kind": "post"},
                geometry=posts.geometry.values,
                crs=4326,
            ),
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)


def _distances(tps: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> np.ndarray:
    tx, ty = tps.geometry.x.to_numpy(), tps.geometry.y.to_numpy()
    sx, sy = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    return haversine_m(tx[:, None], ty[:, None], sx[None, :], sy[None, :])


def _solve(cost: np.ndarray, weights: np.ndarray, radius: float, p: int | None, time_limit: float) -> tuple:
    """One sub-problem; returns (chosen site mask, status, solution status, seconds)."""
    from spopt.locate import LSCP, MCLP

    with warnings.catch_warnings():  # PuLP 3 deprecations raised inside spopt, not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
        if p is not None:
            model = MCLP.from_cost_matrix(cost, weights, service_radius=radius, p_facilities=p)
        else:
            model = LSCP.from_cost_matrix(cost, service_radius=radius)
        model.solve(solver)
    problem = model.problem
    chosen = np.array([bool(round(v.value() or 0)) for v in model.fac_vars])
    return (
        chosen,
        pulp.LpStatus[problem.status],
        pulp.LpSolution[problem.sol_status],
        float(problem.solutionTime or 0.0),
    )


def place_posts(
    tps: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    stage: str,
    *,
    radius_m: float = 2000.0,
    p: int | None = None,
    time_limit: float = 30.0,
    max_pairs: int = MAX_PAIRS,
) -> PostPlan:
    """Choose posts.

    Parameters
    ----------
    tps
        Scored TPS (``risk_<stage>``, ``level_<stage>``, ``regency``).
    sites
        Candidate sites (:func:`candidate_sites` or a user's points).
    stage
        Stage whose scores weight the demand.
    radius_m
        Response radius, metres (great-circle).
    p
        Number of posts for maximal covering; None = set covering of every
        rawan and sangat rawan TPS with the fewest posts.
    time_limit
        Seconds per sub-problem for the CBC solver.
    max_pairs
        Above this many TPS x sites pairs the problem is split by kab/kota (by
        kecamatan when the TPS carry no kab/kota); with
        maximal covering the posts are shared out in proportion to each area's
        risk (largest remainders).
    """
    if tps is None or len(tps) == 0:  # nothing to cover (no TPS file, or every row rejected)
        raise RiskmapInputError("deploy_needs_tps")
    tps = tps.reset_index(drop=True)
    sites = sites.reset_index(drop=True)
    risk = tps[f"risk_{stage}"].to_numpy(dtype=float)
    high = tps[f"level_{stage}"].astype(str).isin(["rawan", "sangat_rawan"]).to_numpy()
    split_col = "regency" if "regency" in tps else "district" if "district" in tps else None
    region = tps[split_col].astype(str).to_numpy() if split_col else np.full(len(tps), "")
    areas = [""] if len(tps) * len(sites) <= max_pairs else sorted(set(region))
    share = _share_posts(p, areas, risk, region) if p is not None else {}

    chosen = np.zeros(len(sites), dtype=bool)
    solves = []
    for area in areas:
        rows = np.ones(len(tps), dtype=bool) if area == "" else region == area
        if p is None:
            rows &= high
        if not rows.any():
            continue
        # candidate sites that can reach some demand of this area
        cost_all = _distances(tps[rows], sites)
        useful = (cost_all <= radius_m).any(axis=0)
        reach = cost_all[:, useful]
        coverable = (reach <= radius_m).any(axis=1)
        if not coverable.any() or (p is not None and share.get(area, 0) == 0):
            solves.append(
                {
                    "area": area or "all",
                    "tps": int(rows.sum()),
                    "sites": int(useful.sum()),
                    "posts": 0,
                    "status": "Not Solved",
                    "solution": "nothing to cover",
                    "seconds": 0.0,
                }
            )
            continue
        cost = reach[coverable]
        n_posts = None if p is None else min(share[area], int(useful.sum()))
        picked, status, solution, secs = _solve(cost, risk[rows][coverable], radius_m, n_posts, time_limit)
        idx = np.flatnonzero(useful)[picked]
        chosen[idx] = True
        solves.append(
            {
                "area": area or "all",
                "tps": int(rows.sum()),
                "sites": int(useful.sum()),
                "posts": int(picked.sum()),
                "status": status,
                "solution": solution,
                "seconds": round(secs, 2),
            }
        )

    out_tps = tps[["tps_id", "village_name", "district", f"risk_{stage}", f"level_{stage}", "geometry"]].copy()
    out_sites = sites.copy()
    out_sites["chosen"] = chosen
    if chosen.any():
        dist = _distances(tps, sites[chosen])
        nearest = dist.argmin(axis=1)
        best = dist[np.arange(len(tps)), nearest]
        covered = best <= radius_m
        post_ids = sites.loc[chosen, "site_id"].to_numpy()
        out_tps["covered"] = covered
        out_tps["post"] = np.where(covered, post_ids[nearest], "")
        out_tps["distance_m"] = np.round(best, 1)
        counts = pd.Series(post_ids[nearest][covered]).value_counts()
        out_sites["tps_covered"] = out_sites["site_id"].map(counts).fillna(0).astype(int)
    else:
        out_tps["covered"] = False
        out_tps["post"] = ""
        out_tps["distance_m"] = np.nan
        out_sites["tps_covered"] = 0
    solves_df = pd.DataFrame(solves)
    covered = out_tps["covered"].to_numpy()
    summary = {
        "mode": "maximal covering" if p is not None else "set covering",
        "radius_m": radius_m,
        "posts_requested": p,
        "posts_chosen": int(chosen.sum()),
        "tps_covered": int(covered.sum()),
        "tps_total": len(tps),
        "risk_covered_share": round(float(risk[covered].sum() / risk.sum()) if risk.sum() else 0.0, 4),
        "high_risk_tps": int(high.sum()),
        "high_risk_uncovered": sorted(out_tps.loc[high & ~covered, "tps_id"].astype(str)),
        "all_proven_optimal": bool(len(solves_df)) and bool((solves_df["solution"] == "Optimal Solution Found").all()),
        "solves": solves,
    }
    return PostPlan(sites=out_sites, tps=out_tps, solves=solves_df, summary=summary)


def _share_posts(p: int, areas: list[str], risk: np.ndarray, region: np.ndarray) -> dict[str, int]:
    """Split ``p`` posts over areas in proportion to their risk (largest remainders)."""
    if areas == [""]:
        return {"": p}
    mass = np.array([risk[region == a].sum() for a in areas])
    if mass.sum() <= 0:
        mass = np.ones(len(areas))
    raw = p * mass / mass.sum()
    base = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - base))[: p - base.sum()]:
        base[i] += 1
    return dict(zip(areas, base.tolist(), strict=True))
