"""Hostile payloads, hypothesis strategies and hostile file builders for the fuzz suite.

Imported by the tests as ``import hostile`` (pytest puts ``tests/`` on the path).
The invariants themselves live in :mod:`riskmap.testing` (shared with
``scripts/hostile_corpus.py``).
"""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from hypothesis import settings
from hypothesis import strategies as st

from riskmap.testing import grid_villages, incident_rows, tps_rows, village_center

# --------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------

TEMPLATE_PAYLOADS = ["Tpl{{ 6*7 }}x", "{{ 6*7 }}", "{%raw%}", "{% for x in y %}", "{# x", "{{", "}}", "${{7*7}}"]
JS_PAYLOADS = ["`", "${alert(1)}", "\\u0041", "');alert(1);//", "\\", '"', "</script><script>alert(1)</script>"]
HTML_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    '"><iframe src=javascript:alert(4)>',
    "&lt;b&gt;",
    "<!--",
]
FORMULA_PAYLOADS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", '=HYPERLINK("http://127.0.0.1/","x")', "\t=1", "\r=1"]
NA_WORDS = ["NA", "N/A", "None", "null", "NULL", "nan", "NaN", "#N/A", "-", "", " ", "n/a", "?"]
NUMBERS = [
    "1e400",
    "-1e400",
    "inf",
    "-inf",
    "Infinity",
    "nan",
    "1e308",
    "-0",
    "0x1F",
    "99999999999999999999999",
    "1,5",
    "1.234.567",
    "1 000",
    "٣",
    "１２",
    "1e-400",
    "3.4028235e+38",
]
DATES = [
    "0001-01-01",
    "9999-12-31",
    "31/02/2024",
    "2024-13-45",
    "45000",
    "-1",
    "1e10",
    "00/00/0000",
    "2024-11-27T25:61:00",
    "Rabu, 27 Nopember 2024",
    "1900-02-29",
]
CONTROL = ["\x00", "a\x00b", "\x1b[31m", "\u202e", "\ufeff", "\u200b", "\r", "\n", "\x7f", "\uffff"]
UNICODE = ["Ḑésa Ünïcødé", "村", "🗳️", "ﷺ", "e\u0301", "Ⅻ", "İ", "ß", "\u0000\u0001"]

ALL_PAYLOADS = (
    TEMPLATE_PAYLOADS + JS_PAYLOADS + HTML_PAYLOADS + FORMULA_PAYLOADS + NA_WORDS + NUMBERS + DATES + CONTROL + UNICODE
)

# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
cells = st.one_of(st.sampled_from(ALL_PAYLOADS), _text, st.floats().map(repr), st.integers().map(str))
"""One hostile cell as text."""


def scaled(fraction: float, minimum: int = 3) -> settings:
    """Settings with a fraction of the active profile's examples (slow tests run fewer)."""
    return settings(max_examples=max(minimum, int(settings().max_examples * fraction)))


# --------------------------------------------------------------------------
# Clean files to start from
# --------------------------------------------------------------------------


def villages_file(folder: Path, villages: gpd.GeoDataFrame | None = None, name: str = "desa.geojson") -> Path:
    """The 3 x 3 grid of villages (or ``villages``) written as ``name``."""
    path = folder / name
    (villages if villages is not None else grid_villages()).to_file(path)
    return path


def tps_frame(villages: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """One clean TPS per village, as text (the conftest's ``tps_frame``)."""
    return tps_rows(villages if villages is not None else grid_villages())


def incidents_frame(villages: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Five clean incidents."""
    villages = villages if villages is not None else grid_villages()
    specs = [
        (0, "supporter_clash", "2024-11-20"),
        (4, "protest", "2024-11-28"),
        (8, "money_politics", "2024-11-26"),
        (8, "apk_vandalism", "2024-10-15"),
        (2, "intimidation", "2024-11-01"),
    ]
    return incident_rows(villages, specs)


def posts_frame(villages: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Three police posts."""
    villages = villages if villages is not None else grid_villages()
    rows = []
    for n, k in enumerate((0, 4, 8)):
        lat, lon = village_center(villages, k)
        rows.append({"id": f"POS-{n}", "nama": f"Pos {n}", "jenis": "polsek", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}"})
    return pd.DataFrame(rows)


CLEAN_TABLES = {"tps": tps_frame, "incidents": incidents_frame, "posts": posts_frame}


def write_csv(frame: pd.DataFrame, path: Path, sep: str = ",") -> Path:
    """A CSV as Python's csv module writes it (strings kept as typed, UTF-8)."""
    path.write_text(frame.to_csv(index=False, sep=sep), encoding="utf-8", newline="")
    return path


def write_xlsx(frame: pd.DataFrame, path: Path) -> Path:
    """An XLSX written by openpyxl; control characters openpyxl refuses are dropped from the cell."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", str(v)) for v in row])
    wb.save(path)
    return path


def clean_samples(folder: Path) -> dict[str, Path]:
    """One clean file per format a reader takes (for truncation and garbage tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    v = grid_villages()
    out = {
        "desa.geojson": villages_file(folder, v, "desa.geojson"),
        "desa.gpkg": villages_file(folder, v, "desa.gpkg"),
        "desa.fgb": villages_file(folder, v, "desa.fgb"),
        "tps.csv": write_csv(tps_frame(v), folder / "tps.csv"),
        "insiden.csv": write_csv(incidents_frame(v), folder / "insiden.csv"),
        "tps.xlsx": write_xlsx(tps_frame(v), folder / "tps.xlsx"),
    }
    shp_dir = folder / "shp"
    shp_dir.mkdir(exist_ok=True)
    v.to_file(shp_dir / "desa.shp")
    zpath = folder / "desa.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp_dir.iterdir()):
            zf.write(part, part.name)
    out["desa.zip"] = zpath
    out["desa.parquet"] = folder / "desa.parquet"
    v.to_parquet(out["desa.parquet"])
    return out


# --------------------------------------------------------------------------
# Hostile documents and archives
# --------------------------------------------------------------------------

VECTOR_EXTENSIONS = [".geojson", ".json", ".gpkg", ".fgb", ".shp"]
EVERY_EXTENSION = [
    ".csv",
    ".txt",
    ".tsv",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".ods",
    ".shp",
    ".zip",
    ".geojson",
    ".json",
    ".gpkg",
    ".fgb",
    ".parquet",
    ".geoparquet",
    ".gdb",
    ".vrt",
    ".gdalg.json",
    "",
]


def secret_csv(folder: Path, token: str) -> Path:
    """A file outside the input holding ``token`` in every cell, shaped like a TPS table with coordinates."""
    path = folder / "secret" / "rahasia.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lat, lon = village_center(grid_villages(), 4)
    path.write_text(
        "kode_tps,kelurahan,kecamatan,no_tps,nama,lat,lon,dpt\n"
        f"{token},{token},{token},1,{token},{lat:.6f},{lon:.6f},100\n",
        encoding="utf-8",
    )
    return path


def ogr_vrt(source: str, layer: str = "rahasia") -> str:
    """An OGR VRT document that reads ``source`` (a local file or /vsicurl/ URL) as points."""
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="{layer}"><SrcDataSource>{source}</SrcDataSource>'
        "<GeometryType>wkbPoint</GeometryType><LayerSRS>EPSG:4326</LayerSRS>"
        '<GeometryField encoding="PointFromColumns" x="lon" y="lat"/></OGRVRTLayer></OGRVRTDataSource>\n'
    )


def gdalg(source: str) -> str:
    """A GDALG (streamed GDAL algorithm) document that reads ``source``."""
    return json.dumps(
        {
            "type": "gdal_streamed_alg",
            "command_line": f"gdal vector pipeline ! read {source} --oo X_POSSIBLE_NAMES=lon "
            "--oo Y_POSSIBLE_NAMES=lat ! write --of stream streamed_dataset",
        }
    )


def zip_bomb(path: Path, member: str = "desa.geojson", megabytes: int = 50) -> Path:
    """A small zip (~50 KB) whose one member inflates to ``megabytes`` MB: whitespace then a valid GeoJSON."""
    tail = json.loads(grid_villages().to_json())
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf, zf.open(member, "w") as f:
        for _ in range(megabytes):
            f.write(chunk)
        f.write(json.dumps(tail).encode())
    return path


def zip_members(path: Path, members: dict[str, bytes]) -> Path:
    """A zip with exactly these member names (``../x``, ``/etc/x``, ...) and contents."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def zip_symlink(path: Path, name: str, target: str) -> Path:
    """A zip holding a symbolic link ``name`` -> ``target`` (as Info-ZIP stores it)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, target)
    return path


def shapefile_parts(folder: Path) -> dict[str, bytes]:
    """The parts of the clean village shapefile, {name: bytes}."""
    shp_dir = folder / "_shp_parts"
    shp_dir.mkdir(parents=True, exist_ok=True)
    grid_villages().to_file(shp_dir / "desa.shp")
    return {p.name: p.read_bytes() for p in sorted(shp_dir.iterdir())}


def gpkg_with_view(path: Path, token: str) -> Path:
    """A GeoPackage whose only feature layer is an SQL view (over a table not registered as a layer)."""
    villages_file(path.parent, name=path.name)
    con = sqlite3.connect(path)
    try:
        table = con.execute("SELECT table_name FROM gpkg_contents").fetchone()[0]
        con.execute("CREATE TABLE hidden(secret TEXT)")
        con.execute("INSERT INTO hidden VALUES (?)", (token,))
        con.execute(
            f"CREATE VIEW desa_view AS SELECT t.fid AS fid, t.geom AS geom, t.kode AS kode, "
            f'(SELECT secret FROM hidden) AS nama, t.kecamatan, t.kab_kota, t.provinsi FROM "{table}" t'
        )
        srs = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
        con.execute(
            "INSERT INTO gpkg_contents(table_name, data_type, identifier, srs_id) VALUES ('desa_view','features',"
            "'desa_view',?)",
            (srs,),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES ('desa_view','geom','POLYGON',?,0,0)",
            (srs,),
        )
        con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (table,))
        con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = ?", (table,))
        con.commit()
    finally:
        con.close()
    return path


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as CSV bytes (no index)."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")
