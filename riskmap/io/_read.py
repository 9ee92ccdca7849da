"""Read any supported file into a raw frame, keeping the user's row numbers.

Tabular files (CSV, TXT, TSV, XLSX, XLS, ODS; a workbook's sheets with the same
columns are stacked, e.g. one sheet per kecamatan) keep a column numeric when every cell in
it is a number, and as text, exactly as typed, as soon as one cell is not, so
that a bad value can be quoted back to the user. Vector files (Shapefile, zipped
Shapefile, GeoJSON, GeoPackage, File Geodatabase, FlatGeobuf, GeoParquet) are read with pyogrio
and reprojected to EPSG:4326; a file without a CRS is taken as EPSG:4326 only
when its coordinates are plausible for Indonesia.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from riskmap._errors import RiskmapInputError
from riskmap.io._columns import norm
from riskmap.io.report import LayerReport, RowLabels

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
TABULAR_SUFFIXES = {".csv", ".txt", ".tsv", *SPREADSHEET_SUFFIXES}
VECTOR_SUFFIXES = {".shp", ".zip", ".geojson", ".json", ".gpkg", ".gdb", ".fgb", ".parquet", ".geoparquet"}

INDONESIA_BOUNDS = (94.0, -11.5, 141.5, 6.5)
"""(min lon, min lat, max lon, max lat) of Indonesia with a margin, EPSG:4326."""

ROW_COLUMN = "_row"
"""Column holding the row number as the user sees it in the file."""


@dataclass
class RawLayer:
    """A file as read, before any schema is applied.

    Attributes
    ----------
    frame
        The rows; a GeoDataFrame in EPSG:4326 for vector files. Column
        ``_row`` holds the user's row numbers.
    path
        The file read.
    is_vector
        True for vector files (geometry present).
    notes
        Layer-wide warnings as (code, params), e.g. an assumed CRS.
    row_labels
        For a workbook whose sheets were stacked: ``_row`` id -> (sheet name,
        row in that sheet). None otherwise (``_row`` is then the user's row).
    coordinate_crs
        For a table: the CRS its coordinate columns are in, when the column
        mapping names one (e.g. ``EPSG:32751`` for UTM metres).
    """

    frame: pd.DataFrame
    path: Path
    is_vector: bool
    notes: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    row_labels: RowLabels | None = None
    coordinate_crs: str | None = None

    @property
    def name(self) -> str:
        """File name shown to users."""
        return self.path.name


def read_layer(path: str | Path, *, layer: str | None = None, crs: str | None = None) -> RawLayer:
    """Read a tabular or vector file.

    Parameters
    ----------
    path
        File to read.
    layer
        Layer name inside a GeoPackage or a zip with several shapefiles.
    crs
        CRS to assume when the file declares none (e.g. ``"EPSG:32751"``);
        for a table, the CRS of its coordinate columns.

    Raises
    ------
    RiskmapInputError
        Missing file, unknown format, unreadable content, missing CRS.
    """
    path = Path(path)
    if not path.exists():
        raise RiskmapInputError("file_not_found", file=path)
    suffix = path.suffix.lower()
    if suffix in TABULAR_SUFFIXES:
        notes: list[tuple[str, dict[str, object]]] = []
        labels = None
        if suffix in SPREADSHEET_SUFFIXES:
            frame, labels = _read_excel(path, notes)
        else:
            frame = _read_csv(path)
        blank = frame.drop(columns=ROW_COLUMN).isna().all(axis=1)
        frame = frame.loc[~blank].reset_index(drop=True)
        if crs:
            _check_crs(crs, path)
        return RawLayer(frame=frame, path=path, is_vector=False, notes=notes, row_labels=labels, coordinate_crs=crs)
    if suffix in VECTOR_SUFFIXES:
        return _read_vector(path, layer=layer, crs=crs)
    raise RiskmapInputError("unknown_format", file=path, suffix=suffix or "(none)")


_DELIMITERS = ["\t", ";", "|", ","]  # ties go to the rarer-in-data delimiter


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _header_index(rows: list[list[str]]) -> int:
    """Index of the header row among the first rows of a sheet.

    Government spreadsheets often carry a title and blank rows above the
    header. The header is the first row whose filled cells span most of the
    table's width and are all text.
    """
    filled = [[c for c in (str(v).strip() for v in r) if c and c.lower() not in ("nan", "none")] for r in rows]
    width = max((len(f) for f in filled), default=0)
    for i, cells in enumerate(filled):
        if len(cells) >= max(2, 0.6 * width) and not any(_is_number(c) for c in cells):
            return i
    return 0


def _sniff_delimiter(lines: list[str]) -> str:
    best, best_score = ",", -1.0
    for delim in _DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        counts = [c for c in counts if c > 1]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = counts.count(mode) / len(lines) + (0.001 * mode)
        if score > best_score + 0.05:
            best, best_score = delim, score
    return best


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    text = None
    used = "latin-1"
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # Excel's "Unicode Text" export
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
            used = encoding
            break
        except UnicodeDecodeError:
            continue
    assert text is not None  # latin-1 decodes anything
    if not text or text.isspace():
        raise RiskmapInputError("empty_file", file=path)
    head = text[:65536].splitlines()[:50]
    sep = _sniff_delimiter([line for line in head if line.strip()])
    header = _header_index(list(csv.reader(head[:20], delimiter=sep)))
    try:
        # Types are inferred (fast, and a clean numeric column stays numeric);
        # a column with any text in it stays text, exactly as typed.
        frame = pd.read_csv(
            io.BytesIO(raw),
            encoding=used,
            sep=sep,
            skipinitialspace=True,
            skip_blank_lines=False,
            skiprows=header,
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise RiskmapInputError("csv_unreadable", file=path, detail=str(exc).strip()) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    # row numbers as a spreadsheet shows them (blank rows keep their place)
    frame.insert(0, ROW_COLUMN, frame.index.to_numpy() + header + 2)
    return frame


def _read_excel(path: Path, notes: list[tuple[str, dict[str, object]]]) -> tuple[pd.DataFrame, RowLabels | None]:
    """Read a workbook: every sheet with the columns that hold the most rows, stacked.

    Offices often keep one sheet per kecamatan, beside a cover, a recap or
    notes. Sheets with other columns are left out with a layer note naming
    them; sheets with no rows are passed over. Returns the
    rows and, when several sheets were stacked, the row labels
    (``_row`` id -> (sheet, Excel row)).
    """
    try:
        # calamine reads .xlsx, Excel 97-2003 .xls and LibreOffice .ods alike
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, header=None, engine="calamine")
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise RiskmapInputError("excel_unreadable", file=path, detail=str(exc).strip()) from None
    found = [(str(name), _sheet_table(sheet)) for name, sheet in sheets.items()]
    found = [(name, table) for name, table in found if table is not None and len(table)]
    if not found:
        raise RiskmapInputError("empty_file", file=path)
    # the data are the sheets sharing the columns that hold the most rows (not a cover or recap sheet)
    key = {name: tuple(sorted(norm(c) for c in table.columns)) for name, table in found}
    rows_by_key: dict[tuple[str, ...], int] = {}
    for name, table in found:
        rows_by_key[key[name]] = rows_by_key.get(key[name], 0) + len(table)
    best = max(rows_by_key, key=lambda k: rows_by_key[k])  # ties: the first sheet's columns
    first, reference = next((name, table) for name, table in found if key[name] == best)
    by_norm = {norm(c): c for c in reference.columns}
    tables: list[tuple[str, pd.DataFrame]] = []
    for name, table in found:
        if key[name] != best:
            columns = ", ".join(str(c) for c in table.columns if c != ROW_COLUMN)
            notes.append(("sheet_skipped", {"sheet": name, "rows": len(table), "first": first, "columns": columns}))
            continue
        # same columns, perhaps in another order or case: the reference sheet's names
        table = table.rename(columns={c: by_norm[norm(c)] for c in table.columns})
        tables.append((name, table[list(reference.columns)]))
    if len(tables) == 1:
        return tables[0][1], None
    notes.append(("sheets_stacked", {"n": len(tables), "names": ", ".join(name for name, _ in tables)}))
    frame = pd.concat([t for _, t in tables], ignore_index=True)
    sheet_rows = frame[ROW_COLUMN].to_numpy()
    sheet_names = np.repeat([name for name, _ in tables], [len(t) for _, t in tables])
    frame[ROW_COLUMN] = np.arange(1, len(frame) + 1)
    labels = {i + 1: (str(sheet_names[i]), int(sheet_rows[i])) for i in range(len(frame))}
    return frame, labels


def _sheet_table(sheet: pd.DataFrame) -> pd.DataFrame | None:
    """One sheet as a table under its detected header row; None for a sheet with no data."""
    sheet = sheet.dropna(how="all", axis=1)
    if not len(sheet.columns) or not sheet.notna().any(axis=None):
        return None
    top = sheet.head(20).astype(object).where(sheet.head(20).notna(), "").to_numpy().tolist()
    header = _header_index(top)
    names = [
        str(c).strip() if str(c).strip() not in ("", "nan") else f"kolom_{i + 1}"
        for i, c in enumerate(sheet.iloc[header])
    ]
    frame = sheet.iloc[header + 1 :].copy()
    frame.columns = names
    frame = frame.astype(object).where(frame.notna() & (frame.astype(str).apply(lambda c: c.str.strip()) != ""))
    # header=None: index 0 is Excel row 1
    frame.insert(0, ROW_COLUMN, frame.index.to_numpy() + 1)
    return frame.reset_index(drop=True)


def start_report(layer: str, raw: RawLayer, schema: str = "") -> LayerReport:
    """A layer's report for a file as read: its notes, rows read and row labels."""
    report = LayerReport(layer, source=raw.name, schema=schema, row_labels=raw.row_labels)
    for code, params in raw.notes:
        report.warn(None, code, **params)
    report.read = len(raw.frame)
    return report


def _vector_source(path: Path, layer: str | None) -> tuple[str, str | None, list[str]]:
    """Return (pyogrio path, layer, shapefile names) for a file; zips are opened through /vsizip/.

    A zip may hold one map file, a File Geodatabase folder, or several
    shapefiles (GADM's levels 0-4, HDX's adm0-adm4): then the village level
    is picked by name (see :func:`_village_layer`).
    """
    if path.suffix.lower() != ".zip":
        return str(path), layer, []
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.startswith("__MACOSX")]
    except zipfile.BadZipFile:
        raise RiskmapInputError("zip_unreadable", file=path) from None
    gdbs = sorted({n[: n.lower().index(".gdb/") + 4] for n in names if ".gdb/" in n.lower()})
    if len(gdbs) == 1:
        return f"/vsizip/{path}/{gdbs[0]}", layer, []
    inner = [n for n in names if Path(n).suffix.lower() in VECTOR_SUFFIXES - {".zip"}]
    shapefiles = [n for n in inner if n.lower().endswith(".shp")]
    candidates = shapefiles or inner
    if layer:
        candidates = [n for n in candidates if Path(n).stem == layer] or candidates
    if not candidates:
        raise RiskmapInputError("zip_no_layer", file=path, names=", ".join(names[:10]))
    stems = [Path(n).stem for n in candidates]
    if len(candidates) > 1:
        chosen = _village_layer(stems)
        if chosen is None:
            raise RiskmapInputError("zip_many_layers", file=path, names=", ".join(stems))
        return f"/vsizip/{path}/{candidates[stems.index(chosen)]}", None, stems
    return f"/vsizip/{path}/{candidates[0]}", None, []


def _read_vector(path: Path, *, layer: str | None, crs: str | None) -> RawLayer:
    notes: list[tuple[str, dict[str, object]]] = []
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            frame = gpd.read_parquet(path)
        else:
            source, layer, siblings = _vector_source(path, layer)
            if siblings:
                notes.append(("layer_chosen", {"layer": Path(source).stem, "names": ", ".join(siblings)}))
            # only GeoPackages and geodatabases hold several layers: other files are not opened twice
            if layer is None and source.lower().rstrip("/").endswith((".gpkg", ".gdb")):
                layer = _pick_layer(path, source, notes)
            frame = gpd.read_file(source, layer=layer, engine="pyogrio")
    except RiskmapInputError:
        raise
    except Exception as exc:  # pyogrio/GDAL errors carry their own text
        raise RiskmapInputError("vector_unreadable", file=path, detail=str(exc).strip()) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise RiskmapInputError("vector_no_geometry", file=path)
    frame = frame.reset_index(drop=True)
    if frame.geometry.has_z.any():  # BIG layers often carry a Z coordinate: plans are 2D
        flat = gpd.GeoSeries(shapely.force_2d(frame.geometry.to_numpy()), index=frame.index, crs=frame.crs)
        frame = frame.set_geometry(flat)
    frame.insert(0, ROW_COLUMN, np.arange(1, len(frame) + 1))
    if frame.crs is None:
        if crs:
            frame = frame.set_crs(crs)
        else:
            bounds = frame.geometry.dropna().total_bounds if frame.geometry.notna().any() else None
            if bounds is None or not _plausible_lonlat(bounds):
                example = "" if bounds is None else f"{bounds[0]:.6g}, {bounds[1]:.6g}"
                raise RiskmapInputError("no_crs", file=path, example=example)
            frame = frame.set_crs(4326)
            notes.append(("crs_assumed", {}))
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        notes.append(("crs_reprojected", {"crs": frame.crs.to_string()}))
        frame = frame.to_crs(4326)
    return RawLayer(frame=frame, path=path, is_vector=True, notes=notes)


def _pick_layer(path: Path, source: str, notes: list[tuple[str, dict[str, object]]]) -> str | None:
    """The layer to read from a multi-layer source (GeoPackage, File Geodatabase); None when there is one."""
    listed = pyogrio.list_layers(source)
    if len(listed) <= 1:
        return None
    names = [str(n) for n in listed[:, 0]]
    layer = _village_layer(names)
    if layer is None:  # one polygon layer among lines and points (BIG's *_AR beside *_LN, *_PT)
        polygons = [str(n) for n, kind in listed if kind and "polygon" in str(kind).lower()]
        layer = polygons[0] if len(polygons) == 1 else None
    if layer is None:
        raise RiskmapInputError("gpkg_many_layers", file=path, names=", ".join(names))
    notes.append(("layer_chosen", {"layer": layer, "names": ", ".join(names)}))
    return layer


_VILLAGE_LAYER = re.compile(r"(adm_?4(?!\d)|_4$|desa|kelurahan|village)", re.IGNORECASE)  # not "gadm41"


def _village_layer(names: list[str]) -> str | None:
    """The one layer among several that holds villages.

    GADM's ``ADM_ADM_4`` or ``gadm41_IDN_4``, HDX's ``..._adm4_...``, "batas_desa"...
    """
    hits = [n for n in names if _VILLAGE_LAYER.search(n)]
    return hits[0] if len(hits) == 1 else None


def _check_crs(crs: str, path: Path) -> None:
    """Refuse a CRS that PROJ does not know, with the value quoted."""
    try:
        pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise RiskmapInputError("unknown_crs", file=path, crs=crs) from None


def _plausible_lonlat(bounds: np.ndarray) -> bool:
    """True when bounds (minx, miny, maxx, maxy) lie within Indonesia's box."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    lo_x, lo_y, hi_x, hi_y = INDONESIA_BOUNDS
    return lo_x <= minx and maxx <= hi_x and lo_y <= miny and maxy <= hi_y
