"""Benchmark printing: the four-stage A4 PDF of the demo city and a province atlas.

Targets (issue 4): city <= 3 s, province atlas <= 60 s (this machine).
Uses the synthetic province of ``bench_app.py`` (3,400 villages; generated on
first use). Usage: ``python bench/bench_print.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_app import DATA as PROVINCE
from bench_app import ensure_province

from riskmap import pipeline
from riskmap.printing import PrintOptions, print_maps


def _pages(path: Path) -> str:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    return next((line.split(":")[1].strip() for line in out.splitlines() if line.startswith("Pages")), "?")


def main() -> None:
    """Time and print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    ensure_province()
    city = pipeline.run()
    province = pipeline.run(PROVINCE / "villages.parquet", PROVINCE / "tps.csv", PROVINCE / "incidents.csv")
    with tempfile.TemporaryDirectory() as tmp:
        city_pdf = Path(tmp) / "city.pdf"
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            print_maps(city, city_pdf, PrintOptions(stages=city.config.stages, tables=False))
            times.append(time.perf_counter() - t)
        city_t = statistics.median(times)
        atlas_pdf = Path(tmp) / "atlas.pdf"
        t = time.perf_counter()
        print_maps(province, atlas_pdf, PrintOptions(stages=["voting"], atlas=True))
        atlas_t = time.perf_counter() - t
        print(f"machine: {os.cpu_count()} cores")
        print(
            f"city (demo Kota Kupang, 51 villages, 552 TPS): 4-stage A4 PDF, {_pages(city_pdf)} pages, "
            f"median of {args.runs}: {city_t:.2f} s  target <= 3 s  {'PASS' if city_t <= 3 else 'FAIL'}"
        )
        print(
            f"province ({len(province.villages)} villages, {len(province.tps)} TPS): voting-stage atlas, "
            f"{_pages(atlas_pdf)} pages, one run: {atlas_t:.1f} s  target <= 60 s  "
            f"{'PASS' if atlas_t <= 60 else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
