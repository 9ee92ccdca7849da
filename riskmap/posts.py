r"""Where to place posts: maximal covering and set covering of TPS within a response radius.

Three kinds of points, three names: **police posts** are the existing posts of the user's file
(``Layers.posts``); **candidate sites** are where a post could go (the user's candidate-site file, or the
police posts plus one interior point per village: :func:`candidate_sites`); **placed posts** are the
candidate sites the solver chose (:attr:`Placement.placed_posts`). (The Bawaslu "posko kampanye",
``Layers.campaign_posts``, are campaign posts and play no part here.)

Demand is the TPS, weighted by their stage score. Distances are great-circle metres (haversine), so any
part of Indonesia works; the TPS-site pairs within the radius come from k-d trees
(:func:`riskmap.joins.points_within`), never a dense distance matrix.

* **Maximal covering** (Church & ReVelle 1974): choose ``p`` sites maximising :math:`\sum_i w_i y_i`
  subject to :math:`y_i \le \sum_{j: d_{ij} \le R} x_j`, :math:`\sum_j x_j = p`, :math:`x_j \in \{0, 1\}`,
  :math:`0 \le y_i \le 1`.
* **Set covering** (Toregas et al. 1971): the fewest sites such that every rawan and sangat rawan TPS
  that some site can reach has a site within R.

Both are written sparse in PuLP and solved by CBC. Before solving, TPS with the same reachable sites are
merged (weights added) and candidate sites that reach exactly the same TPS are kept once (the first: a
police post before a village point), which changes neither optimum. Large areas are split by kab/kota
(``[posts] max_pairs``; the posts of maximal covering shared out by risk), all sub-problems share one
time limit, and the report says honestly whether each solution is proven optimal or the solver stopped
at the limit, with the gap to the LP bound.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
from scipy import sparse

from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES
from riskmap.joins import haversine_m, points_within

_MIN_SOLVE_S = 0.1
"""Seconds a sub-problem gets at least, even when the shared time limit is spent (CBC's own granularity)."""

OUTCOMES = ("optimal", "time_limit", "nothing_to_cover", "no_posts")
"""``outcome`` of a sub-problem: proven optimal; stopped at the time limit (best solution found, with its
gap); no TPS within reach of any site; no post shared to the area (maximal covering)."""


@dataclass
class Placement:
    """Placed posts, TPS coverage and the solver's report.

    Attributes
    ----------
    candidate_sites
        The candidate sites with ``chosen`` (bool) and ``tps_covered`` (TPS whose nearest placed post it is).
    tps
        TPS with ``covered`` (bool), ``post`` (site id of the nearest placed post within the radius, or "")
        and ``distance_m`` (great-circle metres to the nearest placed post; NaN without one).
    solves
        One row per sub-problem: ``area``, ``tps``, ``sites`` (that reach a TPS of the area, after
        merging duplicates), ``posts``, ``outcome`` (:data:`OUTCOMES`), ``gap`` (relative gap to the LP
        bound when stopped at the limit, else 0), ``seconds``, and PuLP's ``status`` / ``solution``
        (``greedy`` when CBC stopped before finding any solution and the greedy one is used).
    summary
        Totals (mode, radius, posts placed, TPS covered, share of the risk covered, high-risk TPS left
        uncovered, ``all_proven_optimal``, ``time_limit_reached``, ``gap``, the solves).
    """

    candidate_sites: gpd.GeoDataFrame
    tps: gpd.GeoDataFrame
    solves: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def placed_posts(self) -> gpd.GeoDataFrame:
        """The chosen candidate sites (``site_id``, ``name``, ``kind``, ``tps_covered``)."""
        return self.candidate_sites[self.candidate_sites["chosen"].to_numpy()]


def candidate_sites(villages: gpd.GeoDataFrame, police_posts: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Candidate sites when the user gave none: the police posts, then one interior point per village.

    Returns
    -------
    GeoDataFrame
        ``site_id`` (``p:<point_id>`` for a police post, ``v:<village_code>`` for a village point),
        ``name``, ``kind`` (``post`` or ``village``), EPSG:4326 points.
    """
    interior = villages.geometry.representative_point()
    frames = [
        gpd.GeoDataFrame(
            {"site_id": "v:" + villages["village_code"], "name": villages["village_name"], "kind": "village"},
            geometry=interior.values,
            crs=4326,
        )
    ]
    if police_posts is not None and len(police_posts):
        frames.insert(
            0,
            gpd.GeoDataFrame(
                {
                    "site_id": "p:" + police_posts["point_id"].astype(str),
                    "name": police_posts["name"],
                    "kind": "post",
                },
                geometry=police_posts.geometry.values,
                crs=4326,
            ),
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)


@dataclass
class _Solve:
    chosen: np.ndarray
    outcome: str
    gap: float
    status: str
    solution: str
    seconds: float


def _cbc(mip: bool, time_limit: float | None) -> pulp.LpSolver:
    with warnings.catch_warnings():  # PuLP 3 deprecates its bundled CBC in favour of a separate install
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(mip=mip, msg=False, timeLimit=time_limit)


def _model(cover: list[np.ndarray], weights: np.ndarray, n_sites: int, p: int | None, mip: bool) -> tuple:
    """The PuLP problem of one sub-problem and its site variables."""
    cat = "Binary" if mip else "Continuous"
    if p is not None:
        problem = pulp.LpProblem("maximal_covering", pulp.LpMaximize)
        x = [problem.add_variable(f"x{j}", 0, 1, cat=cat) for j in range(n_sites)]
        y = [problem.add_variable(f"y{i}", 0, 1) for i in range(len(cover))]
        problem += pulp.LpAffineExpression(list(zip(y, weights.tolist(), strict=True)))
        for i, reach in enumerate(cover):
            problem += pulp.LpAffineExpression([(y[i], 1.0)] + [(x[j], -1.0) for j in reach]) <= 0
        problem += pulp.LpAffineExpression([(v, 1.0) for v in x]) == p
    else:
        problem = pulp.LpProblem("set_covering", pulp.LpMinimize)
        x = [problem.add_variable(f"x{j}", 0, 1, cat=cat) for j in range(n_sites)]
        problem += pulp.LpAffineExpression([(v, 1.0) for v in x])
        for reach in cover:
            problem += pulp.LpAffineExpression([(x[j], 1.0) for j in reach]) >= 1
    return problem, x


def _solve(cover: list[np.ndarray], weights: np.ndarray, n_sites: int, p: int | None, time_limit: float) -> _Solve:
    """One sub-problem: ``cover[i]`` the sites (0..n_sites-1) that reach demand ``i``."""
    start = time.perf_counter()
    if p is not None and p >= n_sites:  # every site: optimal without a solver
        return _Solve(np.ones(n_sites, dtype=bool), "optimal", 0.0, "Optimal", "Optimal Solution Found", 0.0)
    problem, x = _model(cover, weights, n_sites, p, mip=True)
    problem.solve(_cbc(True, time_limit))
    solution = pulp.LpSolution[problem.sol_status]
    if problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        chosen = np.array([bool(round(v.value() or 0)) for v in x])
    else:  # stopped before any solution: the greedy one, reported against the same LP bound
        chosen = _greedy(cover, weights, n_sites, p)
        solution = "greedy"
    outcome, gap = "optimal", 0.0
    if problem.sol_status != pulp.LpSolutionOptimal:
        outcome = "time_limit"
        bound_problem, _ = _model(cover, weights, n_sites, p, mip=False)
        bound_problem.solve(_cbc(False, None))
        bound = float(pulp.value(bound_problem.objective) or 0.0)
        if p is not None:
            found = float(weights[[bool(chosen[reach].any()) for reach in cover]].sum())
            gap = (bound - found) / bound if bound > 0 else 0.0
        else:
            found = float(chosen.sum())
            gap = (found - np.ceil(bound - 1e-9)) / found if found > 0 else 0.0
    return _Solve(
        chosen,
        outcome,
        round(max(gap, 0.0), 4),
        pulp.LpStatus[problem.status],
        solution,
        round(time.perf_counter() - start, 3),
    )


def _greedy(cover: list[np.ndarray], weights: np.ndarray, n_sites: int, p: int | None) -> np.ndarray:
    """Greedy sites, for when CBC stopped before finding a solution.

    Each next site is the one adding most uncovered weight (maximal covering, ``p`` sites) or most
    uncovered demands (set covering, until every demand is covered).
    """
    rows = np.repeat(np.arange(len(cover)), [len(c) for c in cover])
    cols = np.concatenate(cover) if cover else np.zeros(0, dtype=np.int64)
    reach = sparse.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cover), n_sites))
    left = weights.astype(float).copy() if p is not None else np.ones(len(cover))
    chosen = np.zeros(n_sites, dtype=bool)
    while (p is None and left.any()) or (p is not None and chosen.sum() < p):
        gain = np.where(chosen, -1.0, reach.T @ left)
        j = int(np.argmax(gain))
        chosen[j] = True
        left[reach.indices[reach.indptr[j] : reach.indptr[j + 1]]] = 0.0
    return chosen


def _unique(keys: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """First index of each distinct key, and each key's group number (in order of first appearance)."""
    seen: dict[tuple[int, ...], int] = {}
    group = np.array([seen.setdefault(k, len(seen)) for k in keys], dtype=np.int64)
    first = np.full(len(seen), -1, dtype=np.int64)
    for i in range(len(group) - 1, -1, -1):
        first[group[i]] = i
    return first, group


def place_posts(
    tps: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    stage: str,
    *,
    radius_m: float,
    p: int | None = None,
    time_limit_s: float,
    max_pairs: int,
) -> Placement:
    """Choose posts among candidate sites.

    Parameters
    ----------
    tps
        Scored TPS (``tps_id``, ``risk_<stage>``, ``level_<stage>``; ``regency`` or ``district`` for the
        split), EPSG:4326.
    sites
        Candidate sites (``site_id``, ``name``, ``kind``), EPSG:4326: :func:`candidate_sites` or a user's
        candidate-site file.
    stage
        Stage whose scores weight the demand.
    radius_m
        Response radius, great-circle metres.
    p
        Number of posts for maximal covering; None = set covering of every rawan and sangat rawan TPS with
        the fewest posts.
    time_limit_s
        Seconds for the whole placement; the sub-problems share it in proportion to their size (each at
        least 0.1 s).
    max_pairs
        Above this many TPS-site pairs within the radius the problem is split by kab/kota (``regency``;
        by kecamatan when the TPS carry none); maximal covering then shares the ``p`` posts out in
        proportion to each area's risk (largest remainders).
    """
    if tps is None or len(tps) == 0:  # nothing to cover (no TPS file, every row rejected, or filtered out)
        raise RiskmapInputError("deploy_needs_tps")
    deadline = time.perf_counter() + float(time_limit_s)
    tps = tps.reset_index(drop=True)
    sites = sites.reset_index(drop=True)
    risk = tps[f"risk_{stage}"].to_numpy(dtype=float)
    high = tps[f"level_{stage}"].astype(str).isin(CATEGORIES[1:]).to_numpy()
    pairs = points_within(tps, sites, radius_m)
    t_of, s_of = pairs["target"].to_numpy(), pairs["incident"].to_numpy()
    split_col = "regency" if "regency" in tps else "district" if "district" in tps else None
    region = tps[split_col].astype(str).to_numpy() if split_col else np.full(len(tps), "")
    areas = [""] if len(pairs) <= max_pairs else sorted(set(region))
    # the demand of each area, its reachable sites, merged duplicates
    jobs = []
    for area in areas:
        rows = np.ones(len(tps), dtype=bool) if area == "" else region == area
        if p is None:
            rows = rows & high
        if rows.any():
            jobs.append(_job(area, rows, t_of, s_of, risk))
    if p is not None:  # the posts shared by risk, never more to an area than it has distinct sites
        mass = np.array([j["_mass"] for j in jobs])
        caps = np.array([j["sites"] for j in jobs])
        for job, n in zip(jobs, _share_posts(p, mass, caps), strict=True):
            job["_p"] = int(n)
            if n == 0 and job["sites"]:
                job.update(outcome="no_posts", solution="no_posts")

    chosen = np.zeros(len(sites), dtype=bool)
    left_size = sum(j["_size"] for j in jobs if j["outcome"] == "")
    for job in jobs:
        if job["outcome"] != "":
            continue
        budget = max(deadline - time.perf_counter(), 0.0) * job["_size"] / max(left_size, 1)
        left_size -= job["_size"]
        if chosen[job["_site_index"]].any():  # a post of an earlier area reaches here: its TPS are covered
            free = ~chosen[s_of]
            reached = np.zeros(len(tps), dtype=bool)
            reached[t_of[~free]] = True
            rows = (region == job["area"]) & ~reached & (high if p is None else True)
            again = _job(job["area"], rows, t_of[free], s_of[free], risk)
            if again["outcome"]:
                job.update(outcome=again["outcome"], solution=again["solution"])
                continue
            job.update({k: v for k, v in again.items() if k.startswith("_") and k not in ("_p", "_mass")})
            job["_p"] = None if p is None else min(job["_p"], again["sites"])
        solved = _solve(job["_cover"], job["_weights"], len(job["_site_index"]), job["_p"], max(budget, _MIN_SOLVE_S))
        chosen[job["_site_index"][solved.chosen]] = True
        job.update(
            posts=int(solved.chosen.sum()),
            outcome=solved.outcome,
            gap=solved.gap,
            status=solved.status,
            solution=solved.solution,
            seconds=solved.seconds,
        )
    solves = [{k: v for k, v in j.items() if not k.startswith("_")} for j in jobs]

    out_tps = tps[["tps_id", "village_name", "district", f"risk_{stage}", f"level_{stage}", "geometry"]].copy()
    out_sites = sites.copy()
    out_sites["chosen"] = chosen
    out_tps["covered"] = False
    out_tps["post"] = ""
    out_tps["distance_m"] = np.nan
    out_sites["tps_covered"] = 0
    if chosen.any():
        placed = sites[chosen]
        x, y = tps.geometry.x.to_numpy(), tps.geometry.y.to_numpy()
        dist = haversine_m(x[:, None], y[:, None], placed.geometry.x.to_numpy()[None], placed.geometry.y.to_numpy())
        nearest = dist.argmin(axis=1)
        best = dist[np.arange(len(tps)), nearest]
        covered = best <= radius_m
        post_ids = placed["site_id"].to_numpy()
        out_tps["covered"] = covered
        out_tps["post"] = np.where(covered, post_ids[nearest], "")
        out_tps["distance_m"] = np.round(best, 1)
        counts = pd.Series(post_ids[nearest][covered]).value_counts()
        out_sites["tps_covered"] = out_sites["site_id"].map(counts).fillna(0).astype(int)
    solves_df = pd.DataFrame(solves)
    covered = out_tps["covered"].to_numpy()
    done = [s for s in solves if s["outcome"] in ("optimal", "time_limit")]
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
        "time_limit_s": float(time_limit_s),
        "all_proven_optimal": all(s["outcome"] == "optimal" for s in done),
        "time_limit_reached": any(s["outcome"] == "time_limit" for s in done),
        "gap": max((float(s["gap"]) for s in done), default=0.0),
        "areas": len(areas),
        "solves": solves,
    }
    return Placement(candidate_sites=out_sites, tps=out_tps, solves=solves_df, summary=summary)


def _job(area: str, rows: np.ndarray, t_of: np.ndarray, s_of: np.ndarray, risk: np.ndarray) -> dict:
    """One sub-problem: the TPS ``rows`` of ``area`` and the candidate sites within reach, duplicates merged.

    ``t_of`` / ``s_of`` are the TPS-site pairs within the radius (positional indices); TPS that reach the same
    sites become one demand (weights added), sites that reach the same TPS one site (the first kept).
    """
    keep = rows[t_of]
    by_tps = pd.Series(s_of[keep]).groupby(t_of[keep]).agg(lambda s: tuple(sorted(s)))
    job: dict = {"area": area or "all", "tps": int(rows.sum()), "sites": 0, "posts": 0, "outcome": "", "gap": 0.0}
    job.update(status="Not Solved", solution="", seconds=0.0, _mass=float(risk[rows].sum()), _size=0)
    if not len(by_tps):
        return {**job, "outcome": "nothing_to_cover", "solution": "nothing_to_cover"}
    reach_sites = np.unique(s_of[keep])
    local = {int(s): k for k, s in enumerate(reach_sites)}
    by_site: dict[int, list[int]] = {}
    for d, reach in enumerate(by_tps):
        for s in reach:
            by_site.setdefault(local[int(s)], []).append(d)
    site_first, site_group = _unique([tuple(by_site[k]) for k in range(len(reach_sites))])
    demand = [tuple(sorted({int(site_group[local[int(s)]]) for s in reach})) for reach in by_tps]
    dem_first, dem_group = _unique(demand)
    cover = [np.asarray(demand[i], dtype=np.int64) for i in dem_first]
    job.update(
        sites=len(site_first),
        _cover=cover,
        _weights=np.bincount(dem_group, weights=risk[by_tps.index.to_numpy()], minlength=len(dem_first)),
        _site_index=reach_sites[site_first],
        _size=sum(len(c) for c in cover),
        _p=None,
    )
    return job


def _share_posts(p: int, mass: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Split ``p`` posts over areas in proportion to their risk ``mass`` (largest remainders), at most ``caps``.

    Posts an area cannot use (more than its distinct candidate sites) go to the others, by the same rule.
    """
    mass = np.asarray(mass, dtype=float)
    caps = np.asarray(caps, dtype=np.int64)
    out = np.zeros(len(mass), dtype=np.int64)
    left = min(int(p), int(caps.sum()))
    while left > 0:
        open_ = out < caps
        m = np.where(open_, mass, 0.0)
        if m.sum() <= 0:
            m = open_.astype(float)
        raw = left * m / m.sum()
        add = np.floor(raw).astype(np.int64)
        for i in np.argsort(-(raw - add), kind="stable")[: left - int(add.sum())]:
            add[i] += 1
        add = np.minimum(add, caps - out)
        out += add
        left -= int(add.sum())
    return out
