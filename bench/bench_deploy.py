"""Benchmark deployment: staffing plan plus post placement.

* demo city: 552 TPS, 100 candidate sites (17 police posts, 51 village interior
  points, 32 TPS locations), maximal covering with P = 15 within 1.5 km;
* a kab/kota: the 2,000 TPS nearest the centre of the synthetic province of
  ``bench_app.py``, 200 candidate sites at TPS locations, P = 30 within 2 km,
  30 s solver limit.

Targets (issue 5): city <= 5 s, kab/kota <= 30 s with the solver status.
Usage: ``python bench/bench_deploy.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from bench_app import DATA as PROVINCE
from bench_app import ensure_province

from riskmap import pipeline
from riskmap.deploy import staffing_plan
from riskmap.posts import candidate_sites, place_posts


def _sites_from_tps(tps: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    pick = np.random.default_rng(seed).choice(len(tps), n, replace=False)
    return gpd.GeoDataFrame(
        {"site_id": "t:" + tps["tps_id"].iloc[pick].to_numpy(), "name": "TPS", "kind": "tps"},
        geometry=tps.geometry.iloc[pick].to_numpy(),
        crs=4326,
    )


def _run(result: pipeline.Result, tps: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, p: int, radius: float) -> tuple:
    t = time.perf_counter()
    staffing_plan(tps, "voting", result.config)
    plan = place_posts(tps, sites, "voting", radius_m=radius, p=p, time_limit=30)
    return time.perf_counter() - t, plan


def main() -> None:
    """Time and print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    ensure_province()

    city = pipeline.run()
    sites = candidate_sites(city.villages, city.layers.posts)
    sites = gpd.GeoDataFrame(
        pd.concat([sites, _sites_from_tps(city.tps, 100 - len(sites), 1)], ignore_index=True), crs=4326
    )
    times, plan = [], None
    for _ in range(args.runs):
        secs, plan = _run(city, city.tps, sites, 15, 1500.0)
        times.append(secs)
    s = plan.summary
    print(f"machine: {os.cpu_count()} cores")
    print(
        f"city: {len(city.tps)} TPS, {len(sites)} sites, P=15, 1.5 km: median {statistics.median(times):.2f} s "
        f"(target <= 5 s {'PASS' if statistics.median(times) <= 5 else 'FAIL'}); covered {s['tps_covered']} TPS, "
        f"{s['risk_covered_share']:.0%} of the risk; solver: {s['solves'][0]['solution']}"
    )

    prov = pipeline.run(PROVINCE / "villages.parquet", PROVINCE / "tps.csv", PROVINCE / "incidents.csv")
    tps = prov.tps
    centre = tps.geometry.union_all().centroid
    dist = shapely.distance(tps.geometry.to_numpy(), centre)  # degrees: only to pick the nearest TPS
    kab = tps.iloc[np.argsort(dist)[:2000]]
    ksites = _sites_from_tps(kab, 200, 2)  # candidate posts at TPS locations
    secs, kplan = _run(prov, kab, ksites, 30, 2000.0)
    k = kplan.summary
    print(
        f"kab/kota: {len(kab)} TPS, {len(ksites)} sites, P=30, 2 km: one run {secs:.2f} s "
        f"(target <= 30 s {'PASS' if secs <= 30 else 'FAIL'}); covered {k['tps_covered']} TPS; solver status: "
        + "; ".join(f"{r['area']}: {r['status']} / {r['solution']} in {r['seconds']} s" for r in k["solves"])
    )


if __name__ == "__main__":
    main()
