"""Benchmark the deployment plan (:func:`riskmap.deploy.plan`, what every face calls), server side.

* demo city: 552 TPS, 68 candidate sites (17 police posts, 51 village interior points), 400 police
  available (reserves), maximal covering with P = 15 within 1.5 km;
* province: the NTT-sized synthetic province of ``bench_app.py`` (3,400 villages, 10,000 TPS, 5,000
  incidents; 3,400 candidate sites at the village interior points), the app's solver time limit
  (``[posts] time_limit_app_s``):
  staffing only; P = 50 within 2 km (one problem); set covering within 2 km; P = 100 within 10 km (above
  ``[posts] max_pairs``: split into 23 kab/kota sub-problems); the campaign and recap plans; and, for
  the record, the deployment map of the staffing plan built and rendered to the HTML the app sends.

Target (issue 12): the province's deployment view <= 2 s server side for the plan, posts placed within
the solver's limit or the limit reported. Medians of ``--runs`` runs (scoring not timed).
Usage: ``python bench/bench_deploy.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from bench_app import DATA as PROVINCE
from bench_app import ensure_province

from riskmap import deploy, pipeline
from riskmap.config import load_config
from riskmap.mapping import deployment_map, display_geometry
from riskmap.view import make_view


def _median(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _posts(plan: deploy.DeploymentPlan) -> str:
    s = plan.placement.summary
    outcomes = sorted({r["outcome"] for r in s["solves"]})
    solver = sum(r["seconds"] for r in s["solves"])
    return (
        f"{s['posts_chosen']} posts, {s['tps_covered']}/{s['tps_total']} TPS covered "
        f"({s['risk_covered_share']:.0%} of the risk), {s['areas']} sub-problem(s), CBC {solver:.2f} s, "
        f"outcomes {outcomes}, gap {s['gap']:.1%}; {deploy.solver_status(s, 'en')}"
    )


def main() -> None:
    """Time and print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    ensure_province()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, load average {load:.1f} at start (shared machine: wall times are noisy)"
    )

    city = pipeline.run()
    secs, plan = _median(
        lambda: deploy.plan(city, "voting", available_police=400, placement=deploy.PlacementRequest(15, 1500.0)),
        args.runs,
    )
    print(
        f"city: {len(city.tps)} TPS, {len(plan.candidate_sites)} sites, 400 police, P=15, 1.5 km: median {secs:.2f} s "
        f"(target <= 5 s {'PASS' if secs <= 5 else 'FAIL'}); {len(plan.reserves)} reserve teams; {_posts(plan)}"
    )

    cfg = load_config()
    limit = float(cfg.data["posts"]["time_limit_app_s"])
    t = time.perf_counter()
    prov = pipeline.run(PROVINCE / "villages.parquet", PROVINCE / "tps.csv", PROVINCE / "incidents.csv", config=cfg)
    print(
        f"province: {len(prov.villages)} villages, {len(prov.tps)} TPS, {len(prov.layers.incidents)} incidents "
        f"(scored in {time.perf_counter() - t:.1f} s, not timed below); app time limit {limit:g} s"
    )
    cases = [
        ("staffing only (voting)", "voting", None, None),
        ("staffing, 2,000 police available", "voting", 2000, None),
        ("P=50 within 2 km", "voting", None, deploy.PlacementRequest(50, 2000.0)),
        ("set covering within 2 km", "voting", None, deploy.PlacementRequest(None, 2000.0)),
        ("P=100 within 10 km (split)", "voting", None, deploy.PlacementRequest(100, 10_000.0)),
        ("campaign priorities", "campaign", None, None),
        ("recap venues", "recap", None, None),
    ]
    for name, stage, police, placement in cases:
        secs, plan = _median(
            lambda s=stage, p=police, q=placement: deploy.plan(
                prov, s, available_police=p, placement=q, time_limit_s=limit
            ),
            args.runs,
        )
        extra = f"; {_posts(plan)}" if plan.placement is not None else ""
        print(f"  {name}: median {secs:.2f} s (target <= 2 s {'PASS' if secs <= 2 else 'FAIL'}){extra}")
    view = make_view(prov, "voting")
    geoms = display_geometry(view.villages)
    staffing = deploy.plan(prov, "voting", time_limit_s=limit).staffing
    secs, html = _median(
        lambda: deployment_map(view, staffing, None, 0.0, cfg, geoms=geoms).get_root().render(), max(1, args.runs // 2)
    )
    print(f"  deployment map (not the plan; mapping.py): build + render median {secs:.2f} s, {len(html) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
