"""Benchmark the planner's map at province size.

Generates (once, seeded, cached in ``bench/_data/province``) a synthetic
province: 3,400 village polygons, 10,000 TPS and 5,000 incidents. Then times,
server-side, what the Streamlit page does:

* map build: filter the view, build the folium map and render the HTML that
  st_folium sends to the browser (cold: display geometry included; warm: with
  the cached display geometry, as the app has it);
* payload: the size of that HTML;
* stage switch: view + map (its every-stage payload cached, as the app
  caches it) + render + the stage setter, for another stage.

Targets (issue 3): build <= 1.5 s, payload <= 5 MB, stage switch <= 0.5 s,
medians on this machine.

Usage: ``python bench/bench_app.py [--runs 5] [--regenerate]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap import pipeline
from riskmap.config import load_config
from riskmap.mapping import build_map, display_geometry, stage_payload, stage_setter
from riskmap.view import make_view

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data" / "province"
N_VILLAGES, N_TPS, N_INCIDENTS = 3_400, 10_000, 5_000
BOX = (119.0, -10.8, 125.0, -8.2)  # a Nusa Tenggara Timur-sized box, EPSG:4326
TYPES = [
    "hoax",
    "money_politics",
    "dawn_attack",
    "intimidation",
    "supporter_clash",
    "apk_vandalism",
    "protest",
    "count_delay",
    "black_campaign",
]


def _generate(rng: np.random.Generator) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    x0, y0, x1, y1 = BOX
    # clustered seeds (islands and towns), Voronoi cells clipped to land blobs
    centres = np.column_stack([rng.uniform(x0 + 0.3, x1 - 0.3, 25), rng.uniform(y0 + 0.3, y1 - 0.3, 25)])
    pick = rng.integers(0, len(centres), N_VILLAGES)
    seeds = centres[pick] + rng.normal(0, 0.18, (N_VILLAGES, 2))
    seeds[:, 0] = np.clip(seeds[:, 0], x0, x1)
    seeds[:, 1] = np.clip(seeds[:, 1], y0, y1)
    land = shapely.union_all(shapely.buffer(shapely.points(centres), 0.55, quad_segs=16))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=shapely.box(*BOX)))
    tree = shapely.STRtree(cells)
    order = tree.query(shapely.points(seeds), predicate="within")
    geoms = np.empty(N_VILLAGES, dtype=object)
    geoms[order[0]] = cells[order[1]]
    geoms = shapely.intersection(geoms, land)
    geoms = shapely.segmentize(geoms, 0.004)  # ~60-120 vertices, like real boundaries
    keep = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    geoms = geoms[keep]
    n = len(geoms)
    kab = np.arange(n) // 150
    kec = np.arange(n) // 12
    codes = [
        f"53.{10 + k:02d}.{(c % 90) + 1:02d}.{2001 + i % 1000}" for i, (k, c) in enumerate(zip(kab, kec, strict=True))
    ]
    villages = gpd.GeoDataFrame(
        {
            "KDEPUM": codes,
            "WADMKD": [f"Desa {i}" for i in range(n)],
            "WADMKC": [f"Kec {c}" for c in kec],
            "WADMKK": [f"Kab {k}" for k in kab],
            "WADMPR": "Nusa Tenggara Timur",
        },
        geometry=geoms,
        crs=4326,
    ).drop_duplicates("KDEPUM")
    villages.to_parquet(DATA / "villages.parquet")

    # TPS inside villages (rejection sampling in each bounding box)
    v_geoms = villages.geometry.to_numpy()
    owner = rng.integers(0, len(villages), N_TPS * 3)
    b = shapely.bounds(v_geoms[owner])
    px = rng.uniform(b[:, 0], b[:, 2])
    py = rng.uniform(b[:, 1], b[:, 3])
    inside = shapely.contains_xy(v_geoms[owner], px, py)
    sel = np.flatnonzero(inside)[:N_TPS]
    codes = villages["KDEPUM"].to_numpy()[owner[sel]]
    tps = pd.DataFrame(
        {
            "kode_tps": [c.replace(".", "") + f"{i % 900 + 1:03d}" for i, c in enumerate(codes)],
            "lat": np.round(py[sel], 6),
            "lon": np.round(px[sel], 6),
            "dpt": rng.integers(150, 600, len(sel)),
            "riwayat_kekerasan": np.where(rng.random(len(sel)) < 0.02, "ya", "tidak"),
            "politik_uang": np.where(rng.random(len(sel)) < 0.03, "ya", "tidak"),
        }
    )
    tps.to_csv(DATA / "tps.csv", index=False)

    near = rng.integers(0, len(tps), N_INCIDENTS)
    days = rng.integers(0, 6 * 365, N_INCIDENTS)
    incidents = pd.DataFrame(
        {
            "incident_id": [f"P-{i:05d}" for i in range(N_INCIDENTS)],
            "date": (np.datetime64("2019-01-01") + days.astype("timedelta64[D]")).astype(str),
            "type": rng.choice(TYPES, N_INCIDENTS),
            "severity": rng.integers(1, 4, N_INCIDENTS),
            "lat": np.round(tps["lat"].to_numpy()[near] + rng.normal(0, 0.004, N_INCIDENTS), 6),
            "lon": np.round(tps["lon"].to_numpy()[near] + rng.normal(0, 0.004, N_INCIDENTS), 6),
            "precision": rng.choice(["exact", "near"], N_INCIDENTS, p=[0.85, 0.15]),
            "description": "Kejadian sintetis untuk benchmark",
            "source": "sintetis",
        }
    )
    incidents.to_csv(DATA / "incidents.csv", index=False)


def ensure_province(regenerate: bool = False) -> Path:
    """Generate the synthetic province once (seeded); return its folder."""
    if regenerate or not (DATA / "incidents.csv").exists():
        t = time.perf_counter()
        _generate(np.random.default_rng(7))
        print(f"generated synthetic province in {time.perf_counter() - t:.1f} s -> {DATA}")
    return DATA


def _median(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    """Generate the province if needed, then time and print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--regenerate", action="store_true")
    args = ap.parse_args()
    ensure_province(regenerate=args.regenerate)

    cfg = load_config()
    t = time.perf_counter()
    result = pipeline.run(DATA / "villages.parquet", DATA / "tps.csv", DATA / "incidents.csv", config=cfg)
    t_score = time.perf_counter() - t
    n_v, n_t = len(result.villages), len(result.tps)
    n_i = result.report["incidents"].used

    def render(stage: str, geoms: np.ndarray | None) -> str:
        view = make_view(result, stage)
        g = display_geometry(view.villages) if geoms is None else geoms
        fmap = build_map(view, cfg, geoms=g, incident_weights=result.model.incident_weights_)
        return fmap.get_root().render()

    cold, html = _median(lambda: render("voting", None), args.runs)
    t_geom, geoms = _median(lambda: display_geometry(result.villages), args.runs)
    warm, _ = _median(lambda: render("voting", geoms), args.runs)
    stages = cfg.stages
    payload = stage_payload(
        make_view(result, "voting"), cfg, geoms=geoms, incident_weights=result.model.incident_weights_
    )
    switch_times = []
    for i in range(args.runs):  # what the app does per stage switch: the map with its cached payload, the setter
        stage = stages[(i + 1) % len(stages)]
        t = time.perf_counter()
        view = make_view(result, stage)
        fmap = build_map(view, cfg, live_stage=True, payload=payload)
        fmap.get_root().render()
        stage_setter(fmap, view, cfg).add_to(fmap).render()
        switch_times.append(time.perf_counter() - t)
    switch = statistics.median(switch_times)
    payload_mb = len(html.encode("utf-8")) / 1e6

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"data: {n_v} villages, {n_t} TPS, {n_i} incidents (synthetic province); load+score {t_score:.2f} s")
    print(f"medians of {args.runs} runs")
    print(f"  map build, cold (display geometry included) : {cold:6.3f} s")
    print(f"  display geometry (cached by the app)        : {t_geom:6.3f} s")
    print(
        f"  map build, warm (as the app runs it)        : {warm:6.3f} s   target <= 1.5 s  "
        f"{'PASS' if warm <= 1.5 else 'FAIL'}"
    )
    print(
        f"  payload sent to the browser                 : {payload_mb:6.2f} MB  target <= 5 MB   "
        f"{'PASS' if payload_mb <= 5 else 'FAIL'}"
    )
    print(
        f"  stage switch (scores and payload cached)    : {switch:6.3f} s   target <= 0.5 s  "
        f"{'PASS' if switch <= 0.5 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
