"""National-scale benchmark of ``riskmap backtest``: 20 cutoffs on 83,000 villages.

Usage::

    python bench/bench_backtest.py                 # full scale (data of bench_pipeline.py, made on first use)
    python bench/bench_backtest.py --scale 0.1     # smoke run
    python bench/bench_backtest.py --no-tps        # villages and incidents only

Loads and joins once (``pipeline.load``), then times ``Backtest.fit`` (riskmap
scored at every cutoff and calibration date, the four baselines, all metrics)
and ``Backtest.write``; prints the phases, the peak RSS and the medians over
cutoffs of the verdict metrics per method. Target: fit <= 120 s at full scale.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_pipeline as bp  # noqa: E402

TARGET_FIT_S = 120.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="scale of the synthetic data (0.1 = smoke run)")
    ap.add_argument("--cutoffs", type=int, default=20, help="number of cutoffs (default 20)")
    ap.add_argument("--start", default="2018-07-01", help="first cutoff (default 2018-07-01)")
    ap.add_argument("--every", default="3M", help="cutoff spacing (default 3M)")
    ap.add_argument("--window", default="12M", help="test window (default 12M)")
    ap.add_argument("--no-tps", action="store_true", help="score without the TPS layer")
    ap.add_argument(
        "--history",
        nargs="?",
        const="hawkes",
        choices=["hawkes", "episodes", "sparse"],
        help="incidents from riskmap.testing.incident_history instead of bench_pipeline's: 'hawkes' (400 "
        "persistent hot spots, sd 2 km, 2017-2024; incidents_hawkes.csv) or 'episodes' (400 hot spots of sd "
        "1-25 km, each active in one conflict episode of about 4 years, 2010-2024; incidents_episodes.csv) or "
        "'sparse' (few events, as in public conflict-event data: about 400 a year nationally, 80 %% of them in 30 "
        "conflict regions of sd 5-50 km active for about 5 years each, 2000-2024; incidents_sparse.csv)",
    )
    ap.add_argument("--method", choices=["index", "fitted"], help="scoring.method (default: the configuration's)")
    ap.add_argument("--out", type=Path, default=HERE / "_data" / "out" / "backtest", help="output folder")
    args = ap.parse_args()

    from riskmap import pipeline
    from riskmap.backtest import METHODS, VERDICT_METRICS, Backtest, parse_window
    from riskmap.config import load_config

    data = bp.DATA_ROOT if args.scale == 1 else bp.DATA_ROOT / f"scale-{args.scale:g}"
    if not (data / "meta.json").exists():
        print(f"generating synthetic data in {data} ...", flush=True)
        bp.generate(data, args.scale)
    meta = json.loads((data / "meta.json").read_text())
    print(bp.machine())
    print(f"riskmap at {bp.git_rev()}, load average {os.getloadavg()[0]:.1f}")
    print(
        f"data: {meta['villages']:,} villages, {meta['tps']:,} TPS, "
        + (f"incident_history ({args.history})" if args.history else f"{meta['incidents']:,} incidents")
    )
    config = load_config()
    if args.method:
        config.data["scoring"]["method"] = args.method
    incidents = data / bp.INC
    if args.history:
        incidents = data / f"incidents_{args.history}.csv"
        if not incidents.exists():
            import geopandas as gpd

            from riskmap.testing import incident_history

            t0 = time.perf_counter()
            villages = gpd.read_parquet(data / bp.VIL)
            per_year = 5_000 * meta["villages"] / 83_000  # about 100,000 events in 2017-2024 at full scale
            if args.history == "sparse":
                hist = incident_history(
                    villages,
                    start="2000-01-01",
                    background_per_year=400 * meta["villages"] / 83_000,
                    hot_spots=30,
                    hot_share=0.8,
                    hot_spot_km=(5.0, 50.0),
                    episode_years=5.0,
                    seed=42,
                )
            elif args.history == "hawkes":
                hist = incident_history(villages, background_per_year=per_year, hot_spots=400, hot_spot_km=2.0, seed=42)
            else:
                hist = incident_history(
                    villages,
                    start="2010-01-01",
                    background_per_year=per_year,
                    hot_spots=400,
                    hot_spot_km=(1.0, 25.0),
                    episode_years=4.0,
                    seed=42,
                )
            hist.to_csv(incidents)
            print(f"incident history: {len(hist.incidents):,} events in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    layers = pipeline.load(data / bp.VIL, None if args.no_tps else data / bp.TPS, incidents, config=config)
    t_load = time.perf_counter() - t0
    step = parse_window(args.every)
    import pandas as pd

    cutoffs = [(pd.Timestamp(args.start) + step * k).date() for k in range(args.cutoffs)]
    t0, c0 = time.perf_counter(), time.process_time()
    bt = Backtest.from_layers(layers, config, cutoffs=cutoffs, window=args.window).fit()
    t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    bt.write(args.out)
    t_write = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"cutoffs: {cutoffs[0]} .. {cutoffs[-1]} every {args.every}, window {args.window}, "
        f"riskmap fits {bt.riskmap_fits_}, KDE bandwidths chosen {dict(bt.windows_['kde_bandwidth_km'].value_counts())}"
    )
    print(f"  load (read+validate+join, once) {t_load:7.2f} s")
    print(f"  Backtest.fit                    {t_fit:7.2f} s   (CPU {c_fit:.1f} s) {bt.timings_}")
    print(f"  Backtest.write (json/csv/png/pdf) {t_write:5.2f} s")
    print(f"  peak RSS                        {peak:7.0f} MB")
    print("\nmedians over cutoffs, stage 'all':")
    print(f"  {'metric':<28}" + "".join(f"{m:>10}" for m in METHODS))
    for metric, k in (*VERDICT_METRICS, ("brier", None)):
        t = bt.table(metric, k)
        label = metric + (f" @{k:g}%" if k else "")
        print(f"  {label:<28}" + "".join(f"{t[m].median():>10.3f}" for m in METHODS))
    print("\n" + bt.verdict("en").split("\n", 1)[0])
    print(bt.wins().query("stage == 'all'").to_string(index=False))
    print(f"load average at the end {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    status = "OK" if t_fit <= TARGET_FIT_S else "FAIL"
    print(
        f"\ntarget: Backtest.fit {t_fit:.1f} s <= {TARGET_FIT_S:.0f} s: {status}"
        + (f" (scale {args.scale:g}: the target is for full scale)" if args.scale != 1 else "")
    )


if __name__ == "__main__":
    main()
