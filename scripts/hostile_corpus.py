"""Run every file of a hostile-input corpus through riskmap and check the issue-9 invariants.

    python3 scripts/hostile_corpus.py DIR [--secret TOKEN ...] [--timeout S]

Each file in DIR (any extension; a ``.gdb`` folder counts as a file) is read
as every layer it could be (villages, TPS, incidents, police posts): by the
layer's reader, by ``riskmap validate`` and ``riskmap score`` (the other
layers from a clean 3 x 3 grid of villages), and, when scoring succeeds, into
the stage map (``build_map(...).get_root().render()``). Each file runs in its
own process (a hang or a crash of GDAL is a violation too), with every HTTP(S)
request of that process sent to a local recording proxy.

Prints a table: file, layer, exit status of validate and score,
read/used/rejected, violations. Violations: crash (exit status other than 0,
1, 2, a traceback, an exception from a reader or the map, a killed or hung
process), silent row loss (``read != used + rejected``, or ``read`` differing
from the data rows of a CSV or GeoJSON), template evaluated, script or markup
injected into the map, file read outside the input (/etc/passwd text or a
``--secret`` token in any output), network request. Exits 1 when any
invariant is violated, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LAYERS = {"villages": "--villages", "tps": "--tps", "incidents": "--incidents", "posts": "--police-posts"}


def _layers_for(path: Path) -> list[str]:
    from riskmap.io._read import TABULAR_SUFFIXES

    if path.suffix.lower() in TABULAR_SUFFIXES:
        return ["tps", "incidents", "posts"]
    return list(LAYERS)


def _reader(layer: str, path: Path, area: object) -> tuple[object, object]:
    from riskmap.io import read_incidents, read_points, read_tps, read_villages

    if layer == "villages":
        return read_villages(path)
    if layer == "tps":
        return read_tps(path, area=area)
    if layer == "incidents":
        return read_incidents(path, area=area)
    return read_points(path, layer, area=area)


def check_one(path: Path, secrets: list[str]) -> list[dict[str, object]]:
    """All layers of one file, in this process: one row per layer."""
    from riskmap import pipeline
    from riskmap._errors import RiskmapInputError
    from riskmap.io import StudyArea
    from riskmap.mapping import build_map
    from riskmap.testing import (
        cli_violations,
        count_data_rows,
        grid_villages,
        leak_violations,
        markup_violations,
        read_outputs,
        report_violations,
        run_cli,
        template_violations,
    )
    from riskmap.view import make_view

    try:
        inputs = path.read_bytes().decode("utf-8", "replace") if path.is_file() else ""
    except OSError:
        inputs = ""
    expected = count_data_rows(path) if path.is_file() else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="hostile_") as tmp_name:
        tmp = Path(tmp_name)
        villages = tmp / "desa_bersih.geojson"
        grid = grid_villages()
        grid.to_file(villages)
        area = StudyArea.around(grid.total_bounds, 5.0)
        for layer in _layers_for(path):
            found: list[str] = []
            counts = ""
            texts: list[str] = []
            try:
                frame, report = _reader(layer, path, area)
                texts.append(frame.drop(columns="geometry", errors="ignore").to_json(default_handler=str))
                counts = f"{report.read}/{report.used}/{len(report.rejected)}"
                found += report_violations({layer: report.to_dict("en")})
                if expected is not None and report.read != expected:
                    found.append(f"silent row loss: {expected} data rows in the file, {report.read} read")
                texts.append(json.dumps(report.to_dict("en"), default=str))
            except RiskmapInputError as exc:
                counts = f"refused ({exc.code})"
                texts.append(exc.message("id") + exc.message("en"))
            except Exception as exc:
                found.append(f"crash: reader raised {type(exc).__name__}: {exc}"[:300])
            inputs_args = (
                [LAYERS[layer], str(path)]
                if layer == "villages"
                else ["--villages", str(villages), LAYERS[layer], str(path)]
            )
            out = tmp / f"out_{layer}"
            validate = run_cli(["validate", *inputs_args, "--report", str(tmp / f"report_{layer}.json")])
            score = run_cli(["score", *inputs_args, "--out", str(out)])
            for run in (validate, score):
                found += cli_violations(run)
                texts.append(run.output)
            for report_path in (tmp / f"report_{layer}.json", out / "report.json"):
                if report_path.exists():
                    with contextlib.suppress(ValueError):
                        found += report_violations(json.loads(report_path.read_text()))
            if out.exists():
                texts.append(read_outputs(out))
            if score.status == 0:
                try:
                    kwargs = {"villages": path} if layer == "villages" else {"villages": villages, layer: path}
                    if layer == "posts":
                        kwargs = {"villages": villages, "posts": path}
                    result = pipeline.run(**kwargs)
                    html = build_map(make_view(result, "voting"), result.config).get_root().render()
                    texts.append(html)
                    found += markup_violations(inputs, html)
                except RiskmapInputError:
                    pass
                except Exception as exc:
                    found.append(f"crash: map raised {type(exc).__name__}: {exc}"[:300])
            outputs = "\n".join(texts)
            found += template_violations(inputs, outputs)
            found += leak_violations(outputs, secrets)
            rows.append(
                {
                    "file": path.name,
                    "layer": layer,
                    "validate": validate.status,
                    "score": score.status,
                    "counts": counts,
                    "violations": sorted(set(found)),
                }
            )
    return rows


def _run_child(path: Path, secrets: list[str], timeout: float, env: dict[str, str]) -> list[dict[str, object]]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--one", str(path)]
    for s in secrets:
        argv += ["--secret", s]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return [_row(path, f"crash: no answer within {timeout:g} s (hang)")]
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith('{"rows"'):
            return json.loads(line)["rows"]
    return [_row(path, f"crash: process ended with status {proc.returncode}: {proc.stderr.strip()[-300:]}")]


def _row(path: Path, violation: str) -> dict[str, object]:
    return {"file": path.name, "layer": "*", "validate": "", "score": "", "counts": "", "violations": [violation]}


def format_table(rows: list[dict[str, object]]) -> str:
    """The result table, one line per file and layer."""
    head = ["file", "layer", "validate", "score", "read/used/rejected", "violations"]
    body = [
        [
            str(r["file"]),
            str(r["layer"]),
            str(r["validate"]),
            str(r["score"]),
            str(r["counts"]),
            "; ".join(r["violations"]) or "ok",
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(5)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(row[:5], widths, strict=True)) + "  " + row[5] for row in [head, *body]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", help="the corpus: every file in it is checked")
    parser.add_argument("--secret", action="append", default=[], help="text that must never appear in any output")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per file (default 300)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # child: one file, rows as JSON on the last line
        try:
            rows = check_one(Path(args.one), args.secret)
        except Exception:
            rows = [_row(Path(args.one), "crash: " + traceback.format_exc(limit=3)[-300:])]
        print(json.dumps({"rows": rows}, default=str))
        return 0
    if not args.folder:
        parser.error("the corpus folder is required")
    from riskmap.testing import RequestRecorder

    folder = Path(args.folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() or p.suffix.lower() == ".gdb")
    rows: list[dict[str, object]] = []
    for path in files:
        with RequestRecorder() as server:
            file_rows = _run_child(path, args.secret, args.timeout, server.env())
            requests = server.violations()
        if requests:
            file_rows[0]["violations"] = [*file_rows[0]["violations"], *requests]
        rows += file_rows
    print(format_table(rows))
    bad = [r for r in rows if r["violations"]]
    print(f"\n{len(files)} files, {len(rows)} file/layer runs, {len(bad)} with a violated invariant")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
