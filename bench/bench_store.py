"""Incident store benchmark: incidents logged through the command line by concurrent writers.

Usage::

    python bench/bench_store.py                       # 10,000 incidents, 20 writers, SQLite (+ PostgreSQL if
                                                      # RISKMAP_TEST_PG is set: scripts/test_postgres.sh)
    python bench/bench_store.py --total 2000          # quicker
    python bench/bench_store.py --db sqlite --cold 20

Each writer is one process that starts, waits for the others, then runs ``riskmap incidents add``
through :func:`riskmap.cli.main` (argument parsing, opening the store, validation, one write
transaction with its audit entry) once per incident, timing each call: throughput is incidents
committed per second of wall-clock time from the start signal to the last commit, latency is per
call. A command started from the shell also pays the interpreter start and imports; ``--cold N``
times N such separate ``python -m riskmap incidents add`` runs, one after the other.
The last figure is the time for a scoring run to include a new incident: log and verify one,
then ``merge_into_layers`` + ``pipeline.score`` on the embedded Kota Kupang demo.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

_WRITER = r"""
import io, contextlib, json, sys, time
from pathlib import Path
from riskmap.cli import main
import riskmap.store.store  # imported before the start: the race is between writers, not imports
url, me, n, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
(folder / f"ready-{me}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
lat, bad = [], 0
sink = io.StringIO()
for k in range(n):
    argv = ["incidents", "add", "--db", url, "--lat", f"{-10.25 + me / 500:.4f}", "--lon", f"{123.55 + k / 5000:.5f}",
            "--date", "2024-11-20", "--type", "protest", "--description", f"w{me}-{k}", "--author", f"w{me}"]
    t = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        bad += main(argv) != 0
    lat.append(time.perf_counter() - t)
    sink.seek(0); sink.truncate()
(folder / f"lat-{me}.json").write_text(json.dumps({"lat": lat, "bad": bad, "end": time.time()}))
"""


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def concurrent(url: str, writers: int, total: int) -> dict[str, float]:
    """``total`` incidents by ``writers`` processes at once; throughput and latency percentiles."""
    from riskmap.store import Store

    Store.open(url).close()
    each = total // writers
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        folder = Path(tmp)
        procs = [
            subprocess.Popen([sys.executable, "-c", _WRITER, url, str(i), str(each), tmp], env=env)
            for i in range(writers)
        ]
        while len(list(folder.glob("ready-*"))) < writers:
            time.sleep(0.02)
        start = time.time()
        (folder / "go").touch()
        for p in procs:
            p.wait()
        results = [json.loads((folder / f"lat-{i}.json").read_text()) for i in range(writers)]
    end = max(r["end"] for r in results)
    lat = [x for r in results for x in r["lat"]]
    with Store.open(url) as store:
        logged = store.incidents(status=None)
    seen = logged["description"].value_counts()
    return {
        "incidents": len(lat),
        "failed": sum(r["bad"] for r in results),
        "present_once": int((seen == 1).sum()),
        "seconds": end - start,
        "per_second": len(lat) / (end - start),
        "p50_ms": 1000 * _pct(lat, 0.5),
        "p95_ms": 1000 * _pct(lat, 0.95),
        "p99_ms": 1000 * _pct(lat, 0.99),
        "max_ms": 1000 * max(lat),
    }


def cold(url: str, runs: int) -> dict[str, float]:
    """``python -m riskmap incidents add`` run ``runs`` times in a row, each a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times = []
    for k in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "riskmap", "incidents", "add", "--db", url, "--lat", "-10.17", "--lon", "123.6",
             "--date", "2024-11-21", "--type", "hoax", "--description", f"cold-{k}"],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        times.append(time.perf_counter() - t)
    return {"runs": runs, "median_s": statistics.median(times), "p95_s": _pct(times, 0.95)}


def scoring(url: str) -> dict[str, float]:
    """Seconds from logging a verified incident to scores that include it (demo data)."""
    from riskmap import pipeline
    from riskmap.config import load_config
    from riskmap.store import Store, merge_into_layers

    config = load_config()
    t0 = time.perf_counter()
    with Store.open(url, config=config) as store:
        new = store.add_incident(date="2024-11-30", lat=-10.1600, lon=123.6050, type="riot", author="bench")
        store.set_status([new], "verified", author="bench")
        t1 = time.perf_counter()
        layers = pipeline.load(demo_data=True, config=config)
        t2 = time.perf_counter()
        layers = merge_into_layers(layers, store, config=config)
        t3 = time.perf_counter()
    result = pipeline.score(layers, config)
    t4 = time.perf_counter()
    assert new in set(layers.incidents["incident_id"])
    return {
        "log_and_verify_s": t1 - t0,
        "load_demo_s": t2 - t1,
        "merge_s": t3 - t2,
        "score_s": t4 - t3,
        "merge_and_score_s": t4 - t2,
        "logged_in_scores": int(layers.report["logged_incidents"].used),
        "villages": len(result.villages),
    }


def main() -> None:
    """Run the benchmark and print one JSON object per database."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--total", type=int, default=10_000)
    ap.add_argument("--writers", type=int, default=20)
    ap.add_argument("--cold", type=int, default=10, help="separate cold command runs to time (default 10)")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    urls = {}
    drops = []
    tmp = tempfile.mkdtemp(prefix="bench-store-db-")
    if args.db in ("sqlite", "both"):
        urls["sqlite"] = f"sqlite:///{tmp}/bench.sqlite"
    if args.db in ("postgresql", "both") and os.environ.get("RISKMAP_TEST_PG"):
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import _pg_database

        urls["postgresql"], drop = _pg_database(os.environ["RISKMAP_TEST_PG"])
        drops.append(drop)
    try:
        for name, url in urls.items():
            out = {"db": name, "writers": args.writers, "load_average": os.getloadavg()[0]}
            out["concurrent"] = concurrent(url, args.writers, args.total)
            out["cold_command"] = cold(url, args.cold)
            out["scoring"] = scoring(url)
            out["load_average_after"] = os.getloadavg()[0]
            print(json.dumps(out, indent=1), flush=True)
    finally:
        from riskmap.store.store import dispose_all

        dispose_all()
        for drop in drops:
            drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
