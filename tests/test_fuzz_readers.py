"""Fuzz: every reader takes generated hostile cells, truncated and garbage files without crashing or losing rows.

Invariants (issue 9): a reader either refuses the file with a
:class:`RiskmapInputError` (message without traceback or leaked content) or
returns a layer whose report keeps ``read == used + len(rejected)``, and
``read`` equals the data rows in the file (non-blank records after the header
for CSV, features for GeoJSON).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import geopandas as gpd
import hostile
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box

from riskmap import pipeline
from riskmap._errors import RiskmapInputError
from riskmap.io import StudyArea, read_incidents, read_points, read_tps, read_villages
from riskmap.io._read import read_layer
from riskmap.testing import LEAK_MARKERS, count_data_rows, grid_villages, report_violations

pytestmark = pytest.mark.fuzz

VILLAGES = grid_villages()
AREA = StudyArea.around(VILLAGES.total_bounds, 5.0)


def _read(kind: str, path: Path):
    if kind == "villages":
        return read_villages(path)
    if kind == "tps":
        return read_tps(path, area=AREA)
    if kind == "incidents":
        return read_incidents(path, area=AREA)
    return read_points(path, kind, area=AREA)


def check_reader(kind: str, path: Path) -> None:
    """Run one reader on one file and assert the invariants."""
    try:
        frame, report = _read(kind, path)
    except RiskmapInputError as exc:
        for lang in ("id", "en"):
            text = exc.message(lang)
            assert "Traceback" not in text
            assert not any(m in text for m in LEAK_MARKERS)
        return
    assert report_violations({kind: report.to_dict("en")}) == []
    merged = sum(w.reason == "merged_parts" for w in report.warnings)  # rows of one village code become one village
    assert report.used == len(frame) + merged, f"{kind}: report.used {report.used} but {len(frame)} rows returned"
    expected = count_data_rows(path)
    if expected is not None:
        assert report.read == expected, f"{kind}: {expected} data rows in {path.name} but read {report.read}"


@pytest.mark.parametrize("kind", ["tps", "incidents", "posts"])
@given(
    edits=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), hostile.cells), min_size=1, max_size=8),
    extra=st.lists(st.lists(hostile.cells, min_size=1, max_size=10), max_size=3),
    sep=st.sampled_from([",", ";", "\t"]),
)
def test_table_cells(kind, edits, extra, sep):
    frame = hostile.CLEAN_TABLES[kind](VILLAGES).astype(object)
    for r, c, cell in edits:
        frame.iat[r % len(frame), c % frame.shape[1]] = cell
    for row in extra:
        frame.loc[len(frame)] = (row * frame.shape[1])[: frame.shape[1]]
    with tempfile.TemporaryDirectory() as tmp:
        path = hostile.write_csv(frame, Path(tmp) / f"{kind}.csv", sep=sep)
        check_reader(kind, path)


@pytest.mark.parametrize("kind", ["tps", "incidents"])
@hostile.scaled(0.15)
@given(edits=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), hostile.cells), min_size=1, max_size=6))
def test_xlsx_cells(kind, edits):
    frame = hostile.CLEAN_TABLES[kind](VILLAGES).astype(object)
    for r, c, cell in edits:
        frame.iat[r % len(frame), c % frame.shape[1]] = cell
    with tempfile.TemporaryDirectory() as tmp:
        path = hostile.write_xlsx(frame, Path(tmp) / f"{kind}.xlsx")
        check_reader(kind, path)


@given(
    names=st.lists(hostile.cells, min_size=1, max_size=9),
    codes=st.lists(hostile.cells, max_size=9),
    n=st.integers(1, 9),
)
def test_village_attributes(names, codes, n):
    villages = VILLAGES.iloc[:n].copy()
    for k in range(n):
        villages.iloc[k, villages.columns.get_loc("nama")] = names[k % len(names)]
        if codes:
            villages.iloc[k, villages.columns.get_loc("kode")] = codes[k % len(codes)]
    with tempfile.TemporaryDirectory() as tmp:
        path = hostile.villages_file(Path(tmp), villages)
        check_reader("villages", path)


_HUGE = ["1e400", "-1e400", "1e308", "-1e308", "NaN", "Infinity", "1e-400", "180.0000001", "-90.5", "0", "1e20"]


@given(
    coords=st.lists(
        st.sampled_from(_HUGE) | st.floats(allow_nan=False, allow_infinity=False).map(repr), min_size=2, max_size=8
    ),
    where=st.integers(0, 8),
)
def test_village_coordinates(coords, where):
    """Polygons with huge, non-finite or out-of-range coordinates typed into the GeoJSON text."""
    features = []
    for k in range(9):
        x0, y0, x1, y1 = VILLAGES.geometry.iloc[k].bounds
        ring = [[str(x0), str(y0)], [str(x1), str(y0)], [str(x1), str(y1)], [str(x0), str(y1)], [str(x0), str(y0)]]
        if k == where:
            for i, c in enumerate(coords):
                ring[i % 4][i % 2] = c
            ring[4] = ring[0]
        text = ",".join(f"[{x},{y}]" for x, y in ring)
        props = VILLAGES.drop(columns="geometry").iloc[k].to_dict()
        features.append(
            '{"type":"Feature","properties":'
            + json.dumps(props)
            + ',"geometry":{"type":"Polygon","coordinates":[['
            + text
            + "]]}}"
        )
    doc = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "desa.geojson"
        path.write_text(doc)
        check_reader("villages", path)


def test_single_village_through_pipeline(tmp_path):
    """One village only (a single polygon: degenerate bounds for scaling and the map)."""
    path = hostile.villages_file(tmp_path, VILLAGES.iloc[:1])
    tps = hostile.write_csv(hostile.tps_frame(VILLAGES).iloc[:1], tmp_path / "tps.csv")
    result = pipeline.run(path, tps)
    assert report_violations(result.report) == []


def test_huge_single_box_village(tmp_path):
    """A village as big as the world (coordinates at the limits of EPSG:4326)."""
    v = gpd.GeoDataFrame(VILLAGES.drop(columns="geometry").iloc[:1], geometry=[box(-180, -90, 180, 90)], crs=4326)
    check_reader("villages", hostile.villages_file(tmp_path, v))


_SAMPLES: dict[str, Path] = {}


def _samples() -> dict[str, Path]:
    if not _SAMPLES:
        _SAMPLES.update(hostile.clean_samples(Path(tempfile.mkdtemp(prefix="fuzz_samples_"))))
    return _SAMPLES


_KIND = {"desa": "villages", "tps": "tps", "insiden": "incidents"}


@given(
    name=st.sampled_from(
        ["desa.geojson", "desa.gpkg", "desa.fgb", "tps.csv", "insiden.csv", "tps.xlsx", "desa.zip", "desa.parquet"]
    ),
    cut=st.floats(0, 1, exclude_max=True),
)
def test_truncated_files(name, cut):
    """A valid file cut at a random byte."""
    data = _samples()[name].read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data[: int(len(data) * cut)])
        check_reader(_KIND[name.split(".")[0]], path)


@given(
    name=st.sampled_from(["desa.geojson", "tps.csv", "insiden.csv", "desa.gpkg", "desa.fgb", "desa.zip"]),
    keep=st.integers(0, 400),
    garbage=st.binary(min_size=1, max_size=300),
)
def test_header_then_garbage(name, keep, garbage):
    """The start of a valid file (for a CSV its header line) followed by random bytes."""
    data = _samples()[name].read_bytes()
    head = data.split(b"\n", 1)[0] + b"\n" if name.endswith(".csv") else data[:keep]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(head + garbage)
        check_reader(_KIND[name.split(".")[0]], path)


@given(
    ext=st.sampled_from(hostile.EVERY_EXTENSION),
    data=st.binary(max_size=400),
    kind=st.sampled_from(["villages", "tps", "incidents", "posts"]),
)
def test_random_bytes_every_extension(ext, data, kind):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"acak{ext}"
        path.write_bytes(data)
        check_reader(kind, path)


@given(ext=st.sampled_from(hostile.EVERY_EXTENSION), data=st.binary(max_size=200))
def test_read_layer_random_bytes(ext, data):
    """The raw reader: refused with a RiskmapInputError or read, never another exception."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"acak{ext}"
        path.write_bytes(data)
        with contextlib.suppress(RiskmapInputError):
            read_layer(path)
