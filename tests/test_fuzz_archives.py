"""Fuzz: hostile archives and GDAL virtual documents never read outside the input nor reach the network.

A VRT or GDALG document saved under any map extension (or inside a zip) that
points at a secret file in ``tmp_path`` must never bring the secret's token
into a layer, a report, a message or an output; one pointing at a local HTTP
server must send it no request. Zip bombs, ``../`` and absolute member names,
symlinks and many members are refused or read without crash or row loss.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path

import hostile
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_readers import _read, check_reader

from riskmap._errors import RiskmapInputError
from riskmap.testing import RequestRecorder, leak_violations, read_outputs, report_violations, run_cli

pytestmark = pytest.mark.fuzz

LAYER_FLAGS = {"villages": "--villages", "tps": "--tps", "incidents": "--incidents", "posts": "--police-posts"}


def _no_leak_read(kind: str, path: Path, token: str) -> None:
    """The reader refuses the file, or returns rows and a report without the token."""
    try:
        frame, report = _read(kind, path)
    except RiskmapInputError as exc:
        assert token not in exc.message("id") + exc.message("en")
        return
    text = frame.to_json() if len(frame) else ""
    assert leak_violations(text + str(report.to_dict("en")), [token]) == []


def _no_leak_cli(kind: str, path: Path, token: str, tmp: Path, villages: Path) -> None:
    out = tmp / f"out_{uuid.uuid4().hex[:6]}"
    args = ["--villages", str(path)]
    if kind != "villages":
        args = ["--villages", str(villages), LAYER_FLAGS[kind], str(path)]
    run = run_cli(["score", *args, "--out", str(out)])
    assert run.status in (0, 1, 2), run.output
    assert "Traceback" not in run.output
    assert leak_violations(run.output + read_outputs(out) if out.exists() else run.output, [token]) == []


@pytest.mark.parametrize("ext", hostile.VECTOR_EXTENSIONS)
@pytest.mark.parametrize("doc", ["vrt", "gdalg"])
@pytest.mark.parametrize("kind", ["villages", "tps", "incidents", "posts"])
def test_virtual_document_reads_no_local_file(tmp_path, ext, doc, kind):
    token = "RAHASIA_" + uuid.uuid4().hex
    secret = hostile.secret_csv(tmp_path, token)
    path = tmp_path / f"input{ext}"
    path.write_text(hostile.ogr_vrt(str(secret)) if doc == "vrt" else hostile.gdalg(str(secret)))
    _no_leak_read(kind, path, token)
    _no_leak_cli(kind, path, token, tmp_path, hostile.villages_file(tmp_path))


@pytest.mark.parametrize("doc", ["vrt", "gdalg"])
def test_virtual_document_reading_etc_passwd(tmp_path, doc):
    path = tmp_path / "tps.geojson"
    path.write_text(hostile.ogr_vrt("/etc/passwd") if doc == "vrt" else hostile.gdalg("/etc/passwd"))
    _no_leak_cli("tps", path, "root:x:0:0", tmp_path, hostile.villages_file(tmp_path))


@pytest.mark.parametrize("member", ["desa.geojson", "desa.json", "desa.vrt", "desa.gdalg.json", "sub/desa.fgb"])
@pytest.mark.parametrize("doc", ["vrt", "gdalg"])
def test_virtual_document_inside_zip(tmp_path, member, doc):
    token = "RAHASIA_" + uuid.uuid4().hex
    secret = hostile.secret_csv(tmp_path, token)
    text = hostile.ogr_vrt(str(secret)) if doc == "vrt" else hostile.gdalg(str(secret))
    path = hostile.zip_members(tmp_path / "desa.zip", {member: text.encode()})
    for kind in ("villages", "tps"):
        _no_leak_read(kind, path, token)
        _no_leak_cli(kind, path, token, tmp_path, hostile.villages_file(tmp_path))


@pytest.mark.parametrize("ext", [*hostile.VECTOR_EXTENSIONS, ".zip"])
@pytest.mark.parametrize("doc", ["vrt", "gdalg", "vsicurl_name"])
def test_no_network_request(tmp_path, ext, doc):
    villages = hostile.villages_file(tmp_path)
    with RequestRecorder() as server:
        url = f"/vsicurl/{server.url}tps.csv"
        text = {"vrt": hostile.ogr_vrt(url), "gdalg": hostile.gdalg(url), "vsicurl_name": url}[doc]
        path = tmp_path / f"tps{ext}"
        if ext == ".zip":
            hostile.zip_members(path, {"tps.geojson": text.encode()})
        else:
            path.write_text(text)
        for kind in ("villages", "tps"):
            with contextlib.suppress(RiskmapInputError):
                _read(kind, path)
        run = run_cli(["validate", "--villages", str(villages), "--tps", str(path)])
        run2 = run_cli(["validate", "--villages", str(villages), "--tps", url])
        assert server.violations() == []
    for r in (run, run2):
        assert r.status in (0, 1, 2) and "Traceback" not in r.output, r.output


def test_zip_bomb_refused(tmp_path):
    """50 MB of whitespace before a valid GeoJSON, compressed to ~50 KB (ratio ~1000): refused, quickly."""
    path = hostile.zip_bomb(tmp_path / "desa.zip")
    assert path.stat().st_size < 200_000
    start = time.monotonic()
    with pytest.raises(RiskmapInputError):
        _read("villages", path)
    assert time.monotonic() - start < 20
    run = run_cli(["validate", "--villages", str(path)])
    assert run.status == 2 and "Traceback" not in run.output


@pytest.mark.parametrize(
    "prefix", ["../", "../../", "/", "/tmp/", "..\\", "C:/", "sub/../../", "./", "\\\\server\\share\\"]
)
def test_zip_member_names(tmp_path, prefix):
    """Shapefile parts under hostile member names: refused or read; nothing written next to the zip."""
    parts = hostile.shapefile_parts(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    path = hostile.zip_members(work / "desa.zip", {prefix + name: data for name, data in parts.items()})
    check_reader("villages", path)
    assert sorted(p.name for p in work.iterdir()) == ["desa.zip"]
    run = run_cli(["validate", "--villages", str(path)])
    assert run.status in (0, 1, 2) and "Traceback" not in run.output


@pytest.mark.parametrize("target", ["/etc/passwd", "../secret/rahasia.csv", "/"])
def test_zip_symlink_member(tmp_path, target):
    token = "RAHASIA_" + uuid.uuid4().hex
    hostile.secret_csv(tmp_path, token)
    path = hostile.zip_symlink(tmp_path / "desa.zip", "desa.geojson", target)
    _no_leak_read("villages", path, token)
    _no_leak_cli("tps", path, token, tmp_path, hostile.villages_file(tmp_path))


@hostile.scaled(0.1)
@given(n=st.integers(2, 3000), shp=st.booleans())
def test_many_members(tmp_path_factory, n, shp):
    tmp = tmp_path_factory.mktemp("many")
    members = {f"m{i}.txt": b"x" for i in range(n)}
    if shp:
        members.update({f"d{i}/" + k: v for i in range(2) for k, v in hostile.shapefile_parts(tmp).items()})
    path = hostile.zip_members(tmp / "desa.zip", members)
    check_reader("villages", path)


def test_gpkg_sql_view(tmp_path):
    """A GeoPackage whose layer is an SQL view: refused, or read with every row accounted."""
    path = hostile.gpkg_with_view(tmp_path / "desa.gpkg", "VIEW_TOKEN")
    check_reader("villages", path)
    run = run_cli(["score", "--villages", str(path), "--out", str(tmp_path / "o")])
    assert run.status in (0, 1, 2) and "Traceback" not in run.output
    if (tmp_path / "o" / "report.json").exists():
        assert report_violations(json.loads((tmp_path / "o" / "report.json").read_text())) == []
