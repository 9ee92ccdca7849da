"""The command line end to end, as an analyst scripts it."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest

from riskmap.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskmap", *args], capture_output=True, text=True, timeout=300)


def test_score_writes_rfc7946_layers_and_report(tmp_path, villages_path, tps_path, incidents_path):
    out = tmp_path / "out"
    proc = _run(
        "score", "--villages", villages_path, "--tps", tps_path, "--incidents", incidents_path, "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("villages.geojson", "tps.geojson", "report.json"):
        assert (out / name).exists()
    raw = json.loads((out / "villages.geojson").read_text())
    assert raw["type"] == "FeatureCollection" and "crs" not in raw
    props = raw["features"][0]["properties"]
    for stage in ("campaign", "voting", "counting", "recap"):
        assert 0 <= props[f"risk_{stage}"] <= 100
        assert props[f"level_{stage}"] in {"kurang_rawan", "rawan", "sangat_rawan"}
    assert {"village_code", "village_name", "district"} <= set(props)
    coords = raw["features"][0]["geometry"]["coordinates"][0]
    assert all(len(str(c).split(".")[-1]) <= 7 for xy in coords for c in xy)
    assert all(95 < xy[0] < 141 and -11 < xy[1] < 6 for xy in coords)  # lon, lat order
    tps = gpd.read_file(out / "tps.geojson")
    assert {"tps_id", "village_code", "risk_voting", "level_voting", "risk_counting", "level_counting"} <= set(tps)
    assert len(tps) == 9
    report = json.loads((out / "report.json").read_text())
    for layer in ("villages", "tps", "incidents"):
        assert report[layer]["read"] == report[layer]["used"] + len(report[layer]["rejected"])


def test_validate_report_and_strict(tmp_path, villages_path, tps_frame):
    frame = tps_frame.copy()
    frame.loc[2, "lat"] = "abc"
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    rep = tmp_path / "rep.json"
    proc = _run("validate", "--villages", villages_path, "--tps", str(path), "--report", str(rep), "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert "9 rows read, 8 used, 1 rejected" in proc.stdout
    data = json.loads(rep.read_text())
    assert data["tps"]["rejected"] == [
        {
            "row": 4,
            "reason": "unparseable_coordinates",
            "message": data["tps"]["rejected"][0]["message"],
            "lat": "abc",
            "lon": data["tps"]["rejected"][0]["lon"],
            "area": data["tps"]["rejected"][0]["area"],
        }
    ]
    assert "abc" in data["tps"]["rejected"][0]["message"]
    assert float(data["tps"]["rejected"][0]["lon"]) == float(frame.loc[2, "lon"])
    assert main(["validate", "--villages", villages_path, "--tps", str(path), "--strict"]) == 1
    table = tmp_path / "ditolak.csv"  # the same rejected rows as a table for Excel
    assert main(["validate", "--villages", villages_path, "--tps", str(path), "--report", str(table)]) == 0
    raw = table.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark, so Excel reads UTF-8
    rows = pd.read_csv(table, encoding="utf-8-sig")
    assert list(rows[["layer", "row", "reason"]].itertuples(index=False, name=None)) == [
        ("tps", 4, "unparseable_coordinates")
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--villages", "tidak_ada.geojson"], ["tidak_ada.geojson", "tidak ditemukan"]),
        (["--tps", "x.docx"], ["x.docx", "format"]),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path, villages_path, args, words):
    if args[0] == "--tps":
        (tmp_path / "x.docx").write_text("x")
        args = ["--villages", villages_path, "--tps", str(tmp_path / "x.docx")]
    proc = _run("score", *args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr


def test_bad_as_of_and_config(tmp_path, villages_path):
    proc = _run("score", "--villages", villages_path, "--as-of", "kemarin", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "kemarin" in proc.stderr
    cfg = tmp_path / "c.toml"
    cfg.write_text("[scoring.thresholds]\nrawan = 80\nsangat_rawan = 20\n")
    proc = _run("score", "--villages", villages_path, "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "c.toml" in proc.stderr
    cfg.write_text("[scoring\n")
    proc = _run("score", "--villages", villages_path, "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "c.toml" in proc.stderr and "TOML" in proc.stderr


def test_names_cannot_drive_the_terminal(tmp_path, villages, capsys):
    """A name holding terminal escapes (retitle, clear screen) is printed with the escapes visible, not run."""
    villages.loc[0, "nama"] = "Desa\x1b]0;owned\x07\x1b[2J\rX"
    villages.loc[1, "geometry"] = None  # a rejected row: its message quotes the file
    path = tmp_path / "desa\x1b[31m.geojson"
    villages.to_file(path)
    status = main(["validate", "--villages", str(path), "--lang", "en"])
    out = capsys.readouterr()
    assert status == 0
    text = out.out + out.err
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "\\x1b[31m" in text


@pytest.mark.parametrize("command", ["validate", "score"])
@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1 Januari 1600"])
def test_as_of_out_of_range_exits_2(tmp_path, villages_path, incidents_path, command, as_of):
    # issue 9: --as-of 9999-12-31 stopped with OutOfBoundsDatetime (exit 3) once incidents were given
    extra = ["--out", str(tmp_path / "o")] if command == "score" else []
    proc = _run(command, "--villages", villages_path, "--incidents", incidents_path, "--as-of", as_of, *extra)
    assert proc.returncode == 2, proc.stderr
    assert as_of in proc.stderr and "1900-01-01" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [["deploy", "--stage", "voting"], ["print", "--stage", "voting", "--posts", "2"]])
def test_every_tps_rejected_is_a_clear_error(tmp_path, villages_path, tps_frame, command):
    # issue 9: print --posts stopped with AttributeError (exit 3); deploy asked for a --tps file that was given
    frame = tps_frame.copy()
    frame["lat"] = "abc"
    tps = tmp_path / "tps.csv"
    frame.to_csv(tps, index=False)
    out = tmp_path / ("plan" if command[0] == "deploy" else "maps.pdf")
    proc = _run(*command, "--villages", villages_path, "--tps", str(tps), "--out", str(out), "--lang", "en")
    assert proc.returncode == 2, proc.stderr
    assert "tps.csv" in proc.stderr and "Unreadable coordinates (9)" in proc.stderr and "validate" in proc.stderr


@pytest.mark.parametrize(
    "option",
    [["--radius-km", "nan"], ["--radius-km", "-1"], ["--posts", "0"], ["--police", "inf"], ["--dpi", "100000"]],
)
def test_impossible_numeric_options_exit_2(tmp_path, option):
    command = (
        ["deploy", "--stage", "voting"] if option[0] in ("--police", "--posts") else ["print", "--stage", "voting"]
    )
    if option[0] == "--radius-km":
        command += ["--posts", "2"]
    out = tmp_path / ("plan" if command[0] == "deploy" else "maps.pdf")
    assert main([*command, *option, "--out", str(out)]) == 2
    assert not out.exists()


def test_newline_in_a_file_name_prints_no_line_break(tmp_path, villages_path, tps_frame, capsys):
    """A file named ``new\\nline.csv`` is quoted as one line (``new\\nline.csv``) in the summary and in errors."""
    path = tmp_path / "new\nline.csv"
    tps_frame.to_csv(path, index=False)
    assert main(["validate", "--villages", villages_path, "--tps", str(path), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "new\\nline.csv" in out
    assert not any(line.startswith("line.csv") for line in out.splitlines())
    bad = tmp_path / "bad\ttab\nname.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["validate", "--villages", villages_path, "--tps", str(bad), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "bad\\ttab\\nname.csv" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json", None])
def test_validate_says_where_the_warnings_are_and_the_table_has_them(tmp_path, villages_path, tps_frame, suffix):
    # red-team 15: "see the warnings list" pointed nowhere; the CSV/XLSX report held only the rejected rows
    frame = tps_frame.copy()
    frame.loc[2, "lat"] = "abc"  # rejected
    frame.loc[4, "dpt"] = "banyak"  # used, with a warning
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    rep = tmp_path / f"laporan{suffix}"
    args = ["validate", "--villages", villages_path, "--tps", str(path), "--lang", "en"]
    proc = _run(*args, *(["--report", str(rep)] if suffix else []))
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "used with a warning" in x)
    assert "1 rows used with a warning" in line
    assert (str(rep) in line) if suffix else ("--report report.json" in line)
    if suffix in (".csv", ".xlsx"):
        rows = pd.read_csv(rep, encoding="utf-8-sig") if suffix == ".csv" else pd.read_excel(rep, sheet_name=0)
        kinds = set(zip(rows["kind"], rows["row"], rows["reason"], strict=True))
        assert {("rejected", 4, "unparseable_coordinates"), ("warning", 6, "unparseable_voters")} <= kinds


def test_print_refuses_an_output_that_is_no_pdf_or_png_before_loading(tmp_path):
    # red-team 15: "print --out DIR" was refused only after loading and scoring (10 s); now before reading
    missing = str(tmp_path / "tidak_ada.geojson")  # would be "not found" if the inputs were read first
    proc = _run("print", "--villages", missing, "--out", str(tmp_path / "peta"), "--lang", "en")
    assert proc.returncode == 2
    assert "peta" in proc.stderr and "tidak_ada" not in proc.stderr


def _pdf_text(path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def test_print_measures_accuracy_or_takes_a_saved_run_of_the_same_data(tmp_path, capsys):
    from riskmap.cli import main

    assert main(["print", "--stage", "voting", "--no-tables", "--out", str(tmp_path / "a.pdf")]) == 0
    measured = _pdf_text(tmp_path / "a.pdf")
    assert "Teruji pada data ini: 45 % insiden 12 bulan berikutnya" in measured
    assert main(["backtest", "--stage", "all,voting", "--out", str(tmp_path / "bt")]) == 0
    saved = tmp_path / "bt" / "backtest.json"
    assert "data_sha256_16" in saved.read_text(encoding="utf-8")
    args = ["print", "--stage", "voting", "--no-tables", "--backtest", str(saved)]
    assert main([*args, "--out", str(tmp_path / "b.pdf")]) == 0
    line = measured[measured.index("Teruji") : measured.index(")", measured.index("Teruji")) + 1]
    assert line in _pdf_text(tmp_path / "b.pdf")  # the same figures, from the saved run
    assert main(["print", "--stage", "voting", "--no-tables", "--no-accuracy", "--out", str(tmp_path / "c.pdf")]) == 0
    assert "Akurasi tidak diukur untuk cetakan ini" in _pdf_text(tmp_path / "c.pdf")
    capsys.readouterr()
    # the saved run was measured on all incidents: with --as-of fewer are printed, so it is refused
    assert main([*args, "--as-of", "2024-06-01", "--out", str(tmp_path / "d.pdf")]) == 2
    err = capsys.readouterr().err
    assert "backtest.json" in err and "insidennya berbeda" in err and "Traceback" not in err
    assert not (tmp_path / "d.pdf").exists()
    # a stage the saved run did not measure
    assert main(["print", "--stage", "recap", "--backtest", str(saved), "--out", str(tmp_path / "e.pdf")]) == 2
    assert "tidak mengukur tahap recap" in capsys.readouterr().err


def test_score_summary_says_the_as_of_date_in_the_language(tmp_path, capsys, villages_path, incidents_path):
    """Issue 12, defect 5: the Indonesian summary read "as-of"."""
    args = ["score", "--villages", villages_path, "--incidents", incidents_path, "--as-of", "2024-11-27"]
    assert main([*args, "--out", str(tmp_path / "id")]) == 0
    said = capsys.readouterr().out
    assert "Batas kelurahan/desa: data per 2024-11-27" in said and "as-of" not in said and "as of" not in said
    assert main([*args, "--lang", "en", "--out", str(tmp_path / "en")]) == 0
    assert "Village boundaries: data as of 2024-11-27" in capsys.readouterr().out
