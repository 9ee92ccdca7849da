"""Fuzz: ``riskmap validate|score|export|deploy|print`` on hostile files.

Invariants (issue 9): exit status 0, 1 or 2 (never 3); no "Traceback" in what
is printed; in report.json every layer keeps ``read == used + len(rejected)``
and ``read`` equals the data rows of its CSV; a template such as
``Tpl{{ 6*7 }}x`` never comes out as ``Tpl42x`` in any output; nothing of
/etc/passwd appears. Most examples call ``riskmap.cli.main`` in this process;
a handful run ``python3 -m riskmap`` as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import hostile
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskmap.testing import (
    cli_violations,
    count_data_rows,
    grid_villages,
    leak_violations,
    read_outputs,
    report_violations,
    run_cli,
    template_violations,
)

pytestmark = pytest.mark.fuzz

VILLAGES = grid_villages()
_edits = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), hostile.cells), max_size=5)


def _hostile_inputs(folder: Path, names: list[str], tps_edits, inc_edits) -> dict[str, Path]:
    villages = VILLAGES.copy()
    for k, name in enumerate(names[: len(villages)]):
        villages.iloc[k, villages.columns.get_loc("nama" if k % 2 else "kecamatan")] = name
    paths = {"villages": hostile.villages_file(folder, villages)}
    for kind, edits in (("tps", tps_edits), ("incidents", inc_edits)):
        frame = hostile.CLEAN_TABLES[kind](VILLAGES).astype(object)
        for r, c, cell in edits:
            frame.iat[r % len(frame), c % frame.shape[1]] = cell
        paths[kind] = hostile.write_csv(frame, folder / f"{kind}.csv")
    return paths


def check_run(run, paths: dict[str, Path], out: Path, report: Path | None = None) -> None:
    """All CLI invariants for one run whose inputs are ``paths`` and outputs are under ``out``."""
    assert cli_violations(run) == [], run.output
    inputs = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in paths.values())
    outputs = run.output + (read_outputs(out) if out.exists() else "")
    assert template_violations(inputs, outputs) == []
    assert leak_violations(outputs, inputs=inputs) == []
    report = report or out / "report.json"
    if run.status in (0, 1) and report.exists():
        data = json.loads(report.read_text())
        assert report_violations(data) == []
        for layer, path in paths.items():
            expected = count_data_rows(path)
            if layer in data and expected is not None:
                assert data[layer]["read"] == expected, f"{layer}: {expected} data rows but read {data[layer]['read']}"


COMMANDS = [
    ["validate", "--report", "{out}/report.json"],
    ["validate", "--strict", "--report", "{out}/rejected.csv"],
    ["score", "--out", "{out}"],
    ["export", "--format", "csv", "--out", "{out}"],
    ["export", "--format", "geojson", "--out", "{out}"],
    ["deploy", "--stage", "voting", "--out", "{out}"],
    ["deploy", "--stage", "campaign", "--out", "{out}"],
]


@given(
    command=st.sampled_from(COMMANDS),
    names=st.lists(hostile.cells, max_size=9),
    tps_edits=_edits,
    inc_edits=_edits,
    lang=st.sampled_from(["id", "en"]),
)
def test_cli_in_process(command, names, tps_edits, inc_edits, lang):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = _hostile_inputs(folder, names, tps_edits, inc_edits)
        out = folder / "out"
        out.mkdir()
        argv = [a.format(out=out) for a in command]
        for layer in ("villages", "tps", "incidents"):
            argv += [f"--{layer}", str(paths[layer])]
        run = run_cli([*argv, "--lang", lang])
        check_run(run, paths, out)


@hostile.scaled(0.05, minimum=2)
@given(names=st.lists(st.sampled_from(hostile.TEMPLATE_PAYLOADS + hostile.HTML_PAYLOADS), min_size=1, max_size=9))
def test_cli_print(names):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = _hostile_inputs(folder, names, [], [])
        run = run_cli(
            [
                "print",
                "--stage",
                "voting",
                "--villages",
                str(paths["villages"]),
                "--tps",
                str(paths["tps"]),
                "--out",
                str(folder / "out" / "peta.pdf"),
            ]
        )
        assert cli_violations(run) == [], run.output


def _subprocess(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    argv = [sys.executable, "-m", "riskmap", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


def test_cli_subprocess_handful(tmp_path):
    """A few hostile files through ``python3 -m riskmap`` as a user runs it."""
    villages = hostile.villages_file(tmp_path)
    token = "RAHASIA_SUBPROCESS_TOKEN"
    secret = hostile.secret_csv(tmp_path, token)
    vrt = tmp_path / "tps.geojson"
    vrt.write_text(hostile.ogr_vrt(str(secret)))
    garbage = tmp_path / "insiden.csv"
    garbage.write_bytes(b"incident_id,date,type,lat,lon\n\x00\xff\xfe=1+1,{{ 6*7 }},1e400,inf,nan\n\x80\x81")
    bomb = hostile.zip_bomb(tmp_path / "desa.zip", megabytes=20)
    cases = [
        ("score", "--villages", str(villages), "--tps", str(vrt), "--out", str(tmp_path / "o1")),
        ("validate", "--villages", str(villages), "--incidents", str(garbage)),
        ("validate", "--villages", str(bomb)),
        (
            "export",
            "--villages",
            str(villages),
            "--incidents",
            str(garbage),
            "--format",
            "csv",
            "--out",
            str(tmp_path / "o2"),
        ),
    ]
    for args in cases:
        proc = _subprocess(*args)
        text = proc.stdout + proc.stderr
        assert proc.returncode in (0, 1, 2), (args, text)
        assert "Traceback" not in text, (args, text)
        outputs = text + read_outputs(tmp_path / "o1") if (tmp_path / "o1").exists() else text
        assert leak_violations(outputs, [token]) == [], args
