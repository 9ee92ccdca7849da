"""National-scale benchmark of the hot spots (riskmap/hotspots.py): weights once, Gi* + FDR for the 4 stages.

Usage::

    python bench/bench_hotspots.py                 # 83,000 villages (bench_pipeline's data, made on first use)
    python bench/bench_hotspots.py --scale 0.1     # 8,300 villages
    python bench/bench_hotspots.py --permutations  # also esda's 999 conditional permutations (one stage, slow)
    python bench/bench_hotspots.py --history       # incidents of riskmap.testing.incident_history with planted
                                                   # hot spots (400 per 83,000 villages) and the same number of
                                                   # incidents dealt at random (noise): recall, false share, marks

Loads, joins and scores once (``pipeline.load`` + ``RiskModel.fit``, not timed), then times, ``--runs``
times each: the kNN weights built from a cold cache (centroids, k-d tree, ``libpysal.graph.Graph``);
``add_hotspots`` with the weights cached (Gi* with esda, skewness-corrected p-values, BH FDR, 4 stages);
the cache look-up alone; and the two inferences the default was chosen against (esda's normal
``p_norm``; conditional permutations). Prints medians and the classes per inference. Target: weights +
4 stages <= 10 s at full scale. With ``--history``, per transform (``log``, the default, and ``none``)
and inference (pearson3, normal): recall = share of the planted hot-spot villages that are, or have one
of their 8 nearest villages, hot at 95 % (FDR 5 %); false share = share of the villages hot at 95 % that
lie more than 5 km from every planted one; noise = villages marked (any class, 90 %) when the incidents
are dealt out uniformly at random (exact positions, no hot spot). See bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_pipeline as bp  # noqa: E402

TARGET_S = 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="scale of the synthetic data (0.1 = 8,300 villages)")
    ap.add_argument("--runs", type=int, default=5, help="measured runs of each step (default 5)")
    ap.add_argument("--permutations", action="store_true", help="also time 999 permutations (one stage)")
    ap.add_argument("--history", action="store_true", help="Hawkes-like incidents with 400 planted hot spots")
    args = ap.parse_args()

    import numpy as np
    import pandas as pd

    from riskmap import hotspots, pipeline
    from riskmap.config import load_config
    from riskmap.scoring import RiskModel

    data = bp.DATA_ROOT if args.scale == 1 else bp.DATA_ROOT / f"scale-{args.scale:g}"
    if not (data / "meta.json").exists():
        print(f"generating synthetic data in {data} ...", flush=True)
        bp.generate(data, args.scale)
    cfg = load_config()
    incidents, planted = data / bp.INC, None
    if args.history:
        incidents, planted = _history(data)
    t0 = time.perf_counter()
    layers = pipeline.load(villages=data / bp.VIL, tps=data / bp.TPS, incidents=incidents, config=cfg)
    model = RiskModel.from_geodataframes(layers.villages, layers.tps, layers.incidents, config=cfg).fit()
    villages = model.villages_
    took = time.perf_counter() - t0
    print(f"{len(villages):,} villages, {len(layers.incidents):,} incidents; load + score {took:.1f} s")
    t0 = time.perf_counter()
    import esda  # noqa: F401
    import libpysal.graph  # noqa: F401

    print(f"import esda + libpysal.graph (once per process, not in the figures): {time.perf_counter() - t0:.2f} s")
    k = int(cfg.data["hotspots"]["k"])

    def timed(fn) -> list[float]:
        out = []
        for _ in range(args.runs):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return out

    def cold_weights() -> None:
        hotspots._WEIGHTS.clear()
        hotspots.knn_weights(villages, k)

    rows: dict[str, list[float]] = {}
    rows["weights, cold cache (centroids + kNN + Graph)"] = timed(cold_weights)
    rows["weights, cached (centroid digest only)"] = timed(lambda: hotspots.knn_weights(villages, k))
    rows["add_hotspots, 4 stages, weights cached"] = timed(lambda: hotspots.add_hotspots(villages, cfg))

    def cold_all() -> None:
        hotspots._WEIGHTS.clear()
        hotspots.add_hotspots(villages, cfg)

    rows["**weights + 4 stages, cold cache**"] = timed(cold_all)
    normal = load_config(overrides={"hotspots": {"inference": "normal"}})
    rows["add_hotspots, 4 stages, normal p (esda p_norm)"] = timed(lambda: hotspots.add_hotspots(villages, normal))
    graph = hotspots.knn_weights(villages, k)
    nb = np.asarray(graph.sparse.sum(axis=1)).ravel() - 1
    print(
        f"neighbours per village (k = {k}, symmetrised): mean {nb.mean():.2f}, min {nb.min():.0f}, max {nb.max():.0f}"
    )

    print(f"\nmedians of {args.runs} runs:")
    for name, values in rows.items():
        print(f"  {name:55s} {statistics.median(values):7.3f} s   (min {min(values):.3f}, max {max(values):.3f})")
    total = statistics.median(rows["**weights + 4 stages, cold cache**"])
    verdict = "met" if total <= TARGET_S else "NOT met"
    print(f"target: weights + 4 stages <= {TARGET_S:g} s: {total:.2f} s, {verdict}")

    counts = {}
    for name, conf in (("pearson3 (default)", cfg), ("normal", normal)):
        out, _ = hotspots.add_hotspots(villages, conf)
        counts[name] = {s: out[f"hotspot_{s}"].value_counts().reindex(hotspots.CLASSES) for s in cfg.stages}
    if args.permutations:
        perm = load_config(overrides={"hotspots": {"inference": "permutation"}})
        stage = cfg.stages[1]
        values, _ = hotspots.stage_values(villages, [stage], "auto")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            fitted = hotspots.HotSpots.from_geodataframe(villages, values, config=perm).fit()
        print(f"\npermutation inference, 999 draws, one stage ({stage}): {time.perf_counter() - t:.1f} s (one run)")
        counts["permutation (999)"] = {stage: fitted.classes_[stage].value_counts().reindex(hotspots.CLASSES)}
    print("\nvillages per class (stage: " + ", ".join(hotspots.CLASSES) + ")")
    for name, per_stage in counts.items():
        for s, c in per_stage.items():
            print(f"  {name:20s} {s:9s} " + " ".join(f"{int(v):6d}" for v in pd.Series(c).fillna(0)))
    if planted is not None:
        noise = _history(data, noise=True)[0]
        nlayers = pipeline.load(villages=data / bp.VIL, tps=data / bp.TPS, incidents=noise, config=cfg)
        noisy = RiskModel.from_geodataframes(nlayers.villages, nlayers.tps, nlayers.incidents, config=cfg).fit()
        _recall_false_share(villages, noisy.villages_, planted, cfg, args.runs)


def _history(data: Path, noise: bool = False) -> tuple[Path, Path | None]:
    """Incidents with planted hot spots (400 per 83,000 villages, sd 2 km, seed 42) and their village indices, or
    (``noise``) as many incidents dealt uniformly at random over the villages (exact positions, no hot spot,
    seed 43). Made and cached in ``data`` on first use."""
    import geopandas as gpd
    import numpy as np

    from riskmap.testing import incident_history

    name = "incidents_hotspots_noise" if noise else "incidents_hotspots_planted"
    path, planted = data / f"{name}.csv", data / f"{name}.npy"
    if not (path.exists() and (noise or planted.exists())):
        meta = __import__("json").loads((data / "meta.json").read_text())
        villages = gpd.read_parquet(data / bp.VIL)
        per_year = 5_000 * meta["villages"] / 83_000  # as bench_backtest.py --history
        if noise:  # no branching: 1 / (1 - 0.4) times the background gives the same number of incidents
            hist = incident_history(
                villages,
                background_per_year=per_year / 0.6,
                hot_share=0.0,
                branching=0.0,
                precision_mix=(1.0, 0.0, 0.0),
                seed=43,
            )
        else:
            n_hot = max(1, round(400 * meta["villages"] / 83_000))
            hist = incident_history(villages, background_per_year=per_year, hot_spots=n_hot, hot_spot_km=2.0, seed=42)
            np.save(planted, np.asarray(hist.hot_spots))
        hist.to_csv(path)
    return path, (None if noise else planted)


def _recall_false_share(villages, noisy, planted: Path, cfg, runs: int) -> None:
    """Recall, false share and time on the planted history; villages marked on the noise; per transform and p."""
    import numpy as np
    from scipy.spatial import cKDTree

    from riskmap import hotspots
    from riskmap.config import load_config
    from riskmap.joins import EARTH_RADIUS_M, _unit_vectors

    hot_idx = np.load(planted)
    lon, lat = hotspots._centroids(villages)
    unit = _unit_vectors(lon, lat)
    chord, _ = cKDTree(unit[hot_idx]).query(unit)
    near = 2 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2, 0, 1)) / 1000 <= 5.0
    around = cKDTree(unit).query(unit[hot_idx], k=9)[1]  # each planted village and its 8 nearest
    print(
        f"\nplanted hot spots: {len(hot_idx)} villages; villages within 5 km of one: {near.sum():,}; "
        f"{len(noisy):,} villages in the noise run"
    )
    print("  transform  inference  stage      hot 95 %  recall  false share  noise marked (90 %)  time 4 stages")
    for transform in ("log", "none"):
        for inference in ("pearson3", "normal"):
            conf = load_config(overrides={"hotspots": {"transform": transform, "inference": inference}})
            took = []
            for _ in range(max(1, runs)):
                t = time.perf_counter()
                out, _ = hotspots.add_hotspots(villages, conf)
                took.append(time.perf_counter() - t)
            noise_out, _ = hotspots.add_hotspots(noisy, conf)
            for s in cfg.stages:
                cls = out[f"hotspot_{s}"].astype(str).to_numpy()
                hot = np.isin(cls, ["hot_95", "hot_99"])
                recall = hot[around].any(axis=1).mean()
                false = (~near[hot]).mean() if hot.any() else float("nan")
                marked = int((noise_out[f"hotspot_{s}"].astype(str) != "ns").sum())
                print(
                    f"  {transform:9s}  {inference:9s}  {s:9s}  {hot.sum():8d}  {recall:6.1%}  {false:11.1%}  "
                    f"{marked:19d}  {statistics.median(took):6.2f} s"
                )


if __name__ == "__main__":
    main()
