"""scripts/hostile_corpus.py on a small generated corpus, and the invariant checks it shares with the fuzz suite."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import hostile
import pytest

from riskmap.testing import (
    RequestRecorder,
    cli_violations,
    count_data_rows,
    leak_violations,
    markup_violations,
    run_cli,
    template_violations,
)

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[1]


def test_template_check_sees_evaluation_only():
    assert template_violations("nama,Desa {{ 6*7 }}\n", "Desa 42 rawan") != []
    assert template_violations("Tpl{{ 6*7 }}x", '"Tpl42x"') != []
    assert template_violations("Tpl{{ 6*7 }}x", "Tpl{{ 6*7 }}x and 42 villages") == []
    assert template_violations("Desa {{ 6*7 }}", "Desa &#123;&#123; 6*7 }} 42") == []


def test_markup_and_leak_checks():
    inputs = "a,<script>alert(1)</script>,<img src=x onerror=alert(2)>"
    assert markup_violations(inputs, "<td><script>alert(1)</script></td>") != []
    assert markup_violations(inputs, "<script>var x = 1;</script> &lt;script&gt;alert(1)") == []
    assert leak_violations("x root:x:0:0:root:/root", []) != []
    assert leak_violations("Desa daemon:x:1:1", [], inputs="nama\ndaemon:x:1:1\n") == []  # an echo of the input
    assert leak_violations("RAHASIA_1", ["RAHASIA_1"]) != [] and leak_violations("ok", ["RAHASIA_1"]) == []


def test_row_count_of_a_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,2\n\n,,\n"x\ny",3\n" ",\n')
    assert count_data_rows(path) == 3
    path.write_text("a,b\n1,\x85\n2,\u2028x\n", encoding="utf-8")  # NEL and LINE SEPARATOR are no line breaks in CSV
    assert count_data_rows(path) == 2


def test_cli_checks_flag_status_3_and_traceback():
    run = run_cli(["validate", "--villages", "/nonexistent/desa.geojson"])
    assert run.status == 2 and cli_violations(run) == []
    bad = type(run)(["x"], 3, "", "Traceback (most recent call last):")
    assert len(cli_violations(bad)) == 2


def test_request_recorder_catches_a_proxied_request():
    with RequestRecorder() as server:
        with pytest.raises(OSError):
            # a new opener reads the proxy settings now (urlopen's global one keeps those of its first use)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler())
            opener.open("http://example.invalid/x", timeout=5)  # goes to the recorder (the proxy)
        assert server.violations() != []


def test_runner_on_a_small_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    token = "RAHASIA_CORPUS_TOKEN"
    secret = hostile.secret_csv(tmp_path, token)
    hostile.villages_file(corpus, name="desa_bersih.geojson")
    hostile.write_csv(hostile.tps_frame(), corpus / "tps_bersih.csv")
    (corpus / "tps_vrt.geojson").write_text(hostile.ogr_vrt(str(secret)))
    (corpus / "acak.gpkg").write_bytes(os.urandom(300))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hostile_corpus.py"), str(corpus), "--secret", token],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:5] == ["file", "layer", "validate", "score", "read/used/rejected"]
    rows = [line for line in lines[1:] if line and not line.startswith(("\n", " ")) and "file/layer runs" not in line]
    by_file = {}
    for line in rows:
        by_file.setdefault(line.split()[0], []).append(line)
    assert len(by_file["desa_bersih.geojson"]) == 4 and len(by_file["tps_bersih.csv"]) == 3
    assert len(by_file["tps_vrt.geojson"]) == 4 and len(by_file["acak.gpkg"]) == 4
    assert all(line.endswith("ok") for line in by_file["desa_bersih.geojson"] + by_file["tps_bersih.csv"]), rows
    assert any("9/9/0" in line for line in by_file["desa_bersih.geojson"])
    violated = [line for line in rows if not line.endswith("ok")]
    assert proc.returncode == (1 if violated else 0), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout


def test_checks_are_linear_and_count_as_the_reader_does(tmp_path):
    """The red team's runner artefacts: a 20 KB word took 16 s (the check now starts at each "{{"),
    a UTF-16 file of odd length crashed the counter, and a title row above the header was counted as data."""
    assert template_violations("x" * 20_000 + "{{ 6*7 }}", "y" * 20_000 + "42") == []
    assert template_violations("x" * 20_000 + "{{ 6*7 }}", "x" * 20_000 + "42") != []
    assert template_violations("{{ 6*7 }}Kel", "42Kel") != []
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"\xff\xfek\x00o\x00d")
    assert count_data_rows(odd) is not None
    titled = tmp_path / "judul.csv"
    titled.write_text("DAFTAR TPS KOTA KUPANG\n\nkode,nama,lat\n1,a,2\n3,b,4\n")
    assert count_data_rows(titled) == 2
    long_line = tmp_path / "panjang.csv"
    long_line.write_text("kode,nama\n1," + "x" * 200_000 + "\n")  # beyond the csv module's field limit
    assert count_data_rows(long_line) == 1
