"""Benchmark printing: the demo city's four-stage PDF, a province's A3 stage maps and its atlas.

Targets (issue 12): city 4-stage PDF <= 2 s; province atlas (grouped by kab/kota, one page per kecamatan)
<= 60 s and <= 40 MB. Uses the synthetic province of ``bench_app.py`` (3,400 villages, 10,000 TPS, 5,000
incidents; generated on first use in ``bench/_data/province``). Prints medians of wall time and of the
process's own CPU time (on a shared machine wall time includes waiting for the CPU).

Usage: ``python bench/bench_print.py [--runs 3] [--skip-atlas]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_app import DATA as PROVINCE
from bench_app import ensure_province

from riskmap import pipeline
from riskmap.printing import PrintOptions, print_maps


def _pages(path: Path) -> str:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    return next((line.split(":")[1].strip() for line in out.splitlines() if line.startswith("Pages")), "?")


def _timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Medians of wall and CPU seconds of ``runs`` calls."""
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def _line(what: str, path: Path, runs: int, wall: float, cpu: float, target_s: float, target_mb: float | None) -> str:
    mb = path.stat().st_size / 1e6
    ok = wall <= target_s and (target_mb is None or mb <= target_mb)
    size_target = f", <= {target_mb:g} MB" if target_mb else ""
    return (
        f"{what}: {_pages(path)} pages, {mb:.1f} MB; median of {runs}: {wall:.2f} s wall, {cpu:.2f} s CPU  "
        f"target <= {target_s:g} s{size_target}  {'PASS' if ok else 'FAIL'}"
    )


def main() -> None:
    """Time and print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-atlas", action="store_true", help="only the city and the province stage maps")
    args = ap.parse_args()
    ensure_province()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    city = pipeline.run()
    province = pipeline.run(PROVINCE / "villages.parquet", PROVINCE / "tps.csv", PROVINCE / "incidents.csv")
    n_kec = len(province.villages[["regency", "district"]].drop_duplicates())
    n_kab = province.villages["regency"].nunique()
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "city.pdf"
        opts = PrintOptions(stages=city.config.stages, tables=False)
        _timed(lambda: print_maps(city, pdf, opts), 1)  # warm: imports, fonts
        wall, cpu = _timed(lambda: print_maps(city, pdf, opts), args.runs)
        city_data = f"city (demo Kota Kupang, {len(city.villages)} villages, {len(city.tps)} TPS)"
        print(_line(f"{city_data}: 4-stage A4 PDF", pdf, args.runs, wall, cpu, 2, None))
        data = (
            f"province ({len(province.villages)} villages, {len(province.tps)} TPS, "
            f"{province.report['incidents'].used} incidents; {n_kab} kab/kota, {n_kec} kecamatan)"
        )
        pdf = Path(tmp) / "stages.pdf"
        opts = PrintOptions(stages=province.config.stages, tables=False, paper="A3")
        wall, cpu = _timed(lambda: print_maps(province, pdf, opts), args.runs)
        print(_line(f"{data}: 4-stage A3 PDF", pdf, args.runs, wall, cpu, 60, 40))
        if not args.skip_atlas:
            pdf = Path(tmp) / "atlas.pdf"
            opts = PrintOptions(stages=["voting"], atlas=True)
            wall, cpu = _timed(lambda: print_maps(province, pdf, opts), args.runs)
            print(_line(f"{data}: voting-stage A4 atlas", pdf, args.runs, wall, cpu, 60, 40))
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
